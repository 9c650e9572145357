"""Agencies and their keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contract.types import Identifier, RequestBody


class KeyOut(BaseModel):
    key_id: str
    kind: Literal["ed25519", "x25519"]
    public_key: str
    valid_from: datetime
    revoked_at: datetime | None


class AgencyOut(BaseModel):
    agency_id: str
    programs: list[str]
    keys: list[KeyOut]


class RevokeKeyIn(RequestBody):
    """`compromised_since`: the earliest instant the key may have leaked, if it did.
    Every key it approved after that instant is revoked with it."""

    compromised_since: datetime | None = None


class KeyRequestIn(RequestBody):
    """An agency's request for new keys, approved with a key it still holds: the file
    `pprl keys request-key` writes. The operator's call is the second approval."""

    request: dict[str, Any] = Field(description="The signed request (type KEY, add_key).")


class RecoverAgencyIn(RequestBody):
    """New keys for an agency that lost every signing key, from an incident."""

    public: dict[str, Any] = Field(description="The agency's new agency.json.")
    incident: Identifier
