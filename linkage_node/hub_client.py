"""The node's door to the hub: one `contract.client.HubClient`, with tokens the agency
mints itself (signed with its own key, cached until near expiry, for the audience the
hub expects: `PPRL_HUB_AUDIENCE`, default `pprl-hub`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

from contract.client import HubClient
from contract.tokens import CachedToken
from keys import AgencyIdentity, Role, issue_token
from linkage_node.transport import checked_hub_url

DEFAULT_AUDIENCE = "pprl-hub"
NODE_SUBJECT = "node-0001"  # the node itself, as the hub's logs name it


def hub_audience() -> str:
    """The audience the hub checks in every token (`PPRL_HUB_AUDIENCE`)."""
    return os.environ.get("PPRL_HUB_AUDIENCE") or DEFAULT_AUDIENCE


def agency_token(
    identity: AgencyIdentity,
    *,
    subject: str = NODE_SUBJECT,
    roles: tuple[Role, ...] = (Role.AGENCY_NODE,),
    audience: str | None = None,
    lifetime: timedelta = timedelta(minutes=10),
) -> CachedToken:
    """A cached token source for `subject` of the agency, signed with its key."""
    wanted = audience or hub_audience()
    return CachedToken(
        lambda now, valid_for: issue_token(
            identity, subject=subject, audience=wanted, roles=roles, lifetime=valid_for, now=now
        ),
        lifetime,
    )


def node_client(
    hub_url: str,
    identity: AgencyIdentity,
    *,
    subject: str = NODE_SUBJECT,
    audience: str | None = None,
    retry_for: float = 0.0,
    notice: Callable[[str], None] | None = None,
) -> HubClient:
    """A client to the hub at `hub_url` (refused unless HTTPS or this machine), asking as
    the agency's node (or as `subject`, a steward recorded with each answer)."""
    return HubClient(
        checked_hub_url(hub_url),
        agency_token(identity, subject=subject, audience=audience),
        retry_for=retry_for,
        notice=notice,
    )
