"""What the node's pages share in one process: settings (`PPRL_NODE_*`), the agency's
identity, the hub client, the witness, and password hashing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contract.client import HubClient
from keys import AgencyIdentity, Role, issue_token
from linkage_node.consent_terms import ConsentTemplate
from linkage_node.hub_client import hub_audience
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.web.session import SessionSigner, StaffSession
from linkage_node.web.sign_in_guard import BoundedHashing, SignInThrottle
from linkage_node.witness import NodeWitness
from sso import RelyingParty, RoleMap

HERE = Path(__file__).parent
HASHER = PasswordHasher()
HTMX = HERE / "static" / "vendor" / "htmx.min.js"


class NodeWebSettings(BaseSettings):
    """Settings of the node's pages (`PPRL_NODE_*`)."""

    model_config = SettingsConfigDict(env_prefix="PPRL_NODE_", frozen=True)

    agency: str
    hub_url: str
    state_dir: Path | None = None
    key_dir: Path | None = None
    log_public_key_file: Path | None = Field(
        default=None,
        description="The hub's published log key (.vkey), pinned the first time it is given: "
        "the node witnesses the ledger and checks every grant an answer relies on.",
    )
    session_key_file: Path | None = None
    metrics_token_file: Path | None = Field(
        default=None, description="A file holding the token Prometheus sends for /metrics."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark cookies Secure (`pprl node serve` does when it listens beyond "
        "this machine, where a TLS proxy must front it).",
    )
    token_minutes: int = Field(default=5, ge=1, le=15)
    linkage_secret_file: Path | None = Field(
        default=None,
        description="The linkage secret (`pprl keys unseal`), for intake lookups: typed "
        "identifiers are encoded here under it. Without it the intake page says so.",
    )
    api_audience: str = Field(
        default="pprl-node",
        description="The audience the agency's tokens for this node's JSON API name "
        "(`pprl keys issue-token --audience pprl-node`); tokens for the hub are refused.",
    )
    schema_file: Path | None = Field(
        default=None, description="The linkage schema, if not the bundled default."
    )
    public_url: str | None = Field(
        default=None,
        description="The pages' address as staff browsers reach it (`https://dcs-node."
        "example.gov`): the state's sign-in returns to `<public_url>/sign-in/callback`.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The state's OpenID provider (its issuer URL). With a client id and "
        "secret, staff sign in there; local accounts remain for everyone else.",
    )
    oidc_client_id: str | None = Field(default=None, description="This node's client id there.")
    oidc_client_secret_file: Path | None = Field(
        default=None, description="A file (owner-only) holding the node's client secret."
    )
    oidc_scope: str = Field(
        default="openid profile", description="The scopes asked for at sign-in."
    )
    oidc_staff_id_claim: str = Field(
        default="sub",
        description="The ID-token claim holding the staff id of the agency's staff file "
        "(a dotted path reaches into an object).",
    )
    oidc_role_claim: str = Field(
        default="groups", description="The ID-token claim listing the person's groups or roles."
    )
    oidc_roles: str = Field(
        default="{}",
        description='Which of those values give each role here, as JSON: `{"supervisor": '
        '["dcs-supervisors"], "case_manager": ["dcs-case-managers"], "intake": [...]}`; '
        "someone with several signs in with the first in that order.",
    )
    oidc_label: str = Field(
        default="State employee sign-in", description="The sign-in button's words."
    )
    consent_form_file: Path | None = Field(
        default=None,
        description="The deployment's universal consent form (JSON): the programs and "
        "kinds of information one signing covers, pre-ticked on the Record consent form.",
    )

    @property
    def state_path(self) -> Path:
        """The node's state database."""
        return (self.state_dir or Path("pprl-node") / self.agency) / STATE_FILE


def hash_password(password: str) -> str:
    """An argon2id hash for the account store."""
    return HASHER.hash(password)


@dataclass
class Node:
    settings: NodeWebSettings
    identity: AgencyIdentity
    signer: SessionSigner
    hub: HubClient  # with the node's own token; pages ask as the signed-in staff member
    witness: NodeWitness | None
    metrics_token: bytes | None = None
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    hashing: BoundedHashing = field(default_factory=BoundedHashing)
    log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    consent_template: ConsentTemplate = field(default_factory=ConsentTemplate)
    sso: RelyingParty | None = None  # the state's provider, when configured
    role_map: RoleMap | None = None

    @property
    def ledger(self) -> HubClient:
        """The hub as the node's witness reads it, with the node's own token."""
        return self.hub

    def state(self) -> NodeState:
        return NodeState(self.settings.state_path, self.settings.agency)

    def token_for(self, session: StaffSession) -> str:
        return issue_token(
            self.identity,
            subject=session.staff_id,
            audience=hub_audience(),
            roles=(Role(session.role),),
            lifetime=timedelta(minutes=self.settings.token_minutes),
        )
