"""The node's pages against a real hub app (in-process) holding the three-program
scenario of the hub's client tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi.testclient import TestClient

from keys import new_linkage_secret
from linkage_node.job import REF_KEY_FILE, STATE_FILE
from linkage_node.refs import RefKey
from linkage_node.state import NodeState
from linkage_node.web import NodeWebSettings, create_node_app, hash_password
from tests.hub.api.conftest import api, scenario  # noqa: F401  (fixtures used here)
from tests.hub.api.factories import KID, MUM, SIS, A, Api, D

PASSWORD = "correct horse battery staple"
# DCFS's directory for the family of `tests/hub/api/test_family.py`: the client, their
# sister (another case manager's) and their mother, listed as family only.
FAMILY = [
    (KID, "DCFS-K", "Teo Baptiste", "2012-07-21", "cm-0001", "H-1", "child", 0),
    (SIS, "DCFS-S", "Marisol Baptiste", "2015-11-02", "cm-0002", "H-1", "child", 0),
    (MUM, "DCFS-M", "Rosalind Baptiste", "1984-03-09", "", "H-1", "parent_guardian", 1),
]


class Node:
    def __init__(self, client: TestClient, hub_requests: list[str]) -> None:
        self.client = client
        self.hub_requests = hub_requests

    def sign_in(self, username: str = "mlopez", password: str = PASSWORD) -> TestClient:
        form = self.client.get("/sign-in")
        token = form.text.split('name="csrf" value="')[1].split('"')[0]
        self.client.post(
            "/sign-in",
            data={"username": username, "password": password, "csrf": token},
            follow_redirects=False,
        )
        return self.client


def make_node(
    hub: Api,
    tmp_path: Path,
    hub_client: httpx.Client | None = None,
    linkage_secret_file: Path | None = None,
    directory: Sequence[tuple[object, ...]] | None = None,
    **settings_extra: object,
) -> Node:
    """The DCFS node's pages, asking the hub through `hub_client` (default: the hub app);
    intake lookups work when `linkage_secret_file` is given."""
    state_dir = tmp_path / "node"
    state = NodeState(state_dir / STATE_FILE, "DCFS")
    state.save_directory(
        directory
        or [
            (A, "DCFS-0001", "Maria Lopez", "1990-04-02", "cm-0001"),
            (D, "DCFS-0002", "Dana Whitfield", "1985-11-30", "cm-0001"),
            ("f" * 64, "DCFS-0003", "Sam Other", "2001-01-01", "cm-0002"),
        ]
    )
    state.accounts.save("mlopez", "cm-0001", "case_manager", hash_password(PASSWORD))
    state.accounts.save("jkim", "sup-0001", "supervisor", hash_password(PASSWORD))
    state.accounts.save("ilee", "in-0003", "intake", hash_password(PASSWORD))
    state.close()
    RefKey.generate().save(state_dir / REF_KEY_FILE)  # what consent ids are derived under
    vkey = tmp_path / "hub-log.vkey"
    vkey.write_text(hub.log.verifier.vkey())
    requests: list[str] = []
    hub.client.event_hooks["request"] = [
        lambda request: requests.append(f"{request.url} {request.content!r}")
    ]
    settings = NodeWebSettings(
        agency="DCFS",
        hub_url="http://testserver",
        state_dir=state_dir,
        log_public_key_file=vkey,
        linkage_secret_file=linkage_secret_file,
        **settings_extra,  # type: ignore[arg-type]
    )
    # TestClient is an httpx.Client talking to the hub app in-process.
    hub_client = hub_client or cast(httpx.Client, hub.client)
    app = create_node_app(settings, identity=hub.identities["DCFS"], hub_client=hub_client)
    return Node(TestClient(app, base_url="https://node.test"), requests)


SSO_SECRET = "dcfs-node-client-secret-0123456789"
SSO_ROLES = '{"supervisor": ["dcfs-supervisors"], "case_manager": ["dcfs-case-managers"]}'


def make_sso_node(hub: Api, tmp_path: Path, issuer: str, public_url: str) -> Node:
    """The DCFS node's pages signing staff in at the provider `issuer` as client
    `node-dcfs` (secret SSO_SECRET): staff id in `employee_id`, roles from `groups`."""
    secret = tmp_path / "oidc-client-secret"
    secret.write_text(SSO_SECRET)
    secret.chmod(0o600)
    return make_node(
        hub,
        tmp_path,
        oidc_issuer=issuer,
        oidc_client_id="node-dcfs",
        oidc_client_secret_file=secret,
        oidc_scope="openid profile staff",
        oidc_staff_id_claim="employee_id",
        oidc_roles=SSO_ROLES,
        public_url=public_url,
    )


@pytest.fixture
def node(api: Api, scenario: dict[str, int], tmp_path: Path) -> Node:  # noqa: F811
    return make_node(api, tmp_path)


class FakeHub:
    """The hub's lookup route, answering corrections for every question."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.tokens: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        self.tokens.append(request.headers["authorization"].removeprefix("Bearer "))
        assert request.url.path == "/v1/lookups"
        return httpx.Response(
            200,
            json={
                "decided_at": datetime.now(UTC).isoformat(),
                "programs": [{"program": "corrections", "confidence": "moderate"}],
                "past_programs": [
                    {"program": "vocational_rehab", "confidence": "high", "exited_on": "2025-02-28"}
                ],
            },
        )


@pytest.fixture
def intake(
    api: Api,  # noqa: F811  (the fixture imported above)
    scenario: dict[str, int],  # noqa: F811
    tmp_path: Path,
) -> tuple[Node, FakeHub]:
    secret = new_linkage_secret("2026-11")
    secret.save(tmp_path / "secret.json")
    fake = FakeHub()
    client = httpx.Client(base_url="http://hub.test", transport=httpx.MockTransport(fake.handle))
    return make_node(api, tmp_path, client, linkage_secret_file=tmp_path / "secret.json"), fake
