"""Builders for the statements agencies and the hub put on the ledger about keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consent.entries import key_request_message
from consent.fields import format_timestamp
from consent.leaves import EntrySigner
from keys import AgencyPublicKeys, canonical


def public_key_fields(public: AgencyPublicKeys) -> list[dict[str, Any]]:
    """The signing and sealing keys of an agency's public document, as KEY entries list them."""
    return [
        {
            "key_id": public.signing_key_id,
            "kind": "ed25519",
            "public_key": public.signing_public_key,
        },
        {
            "key_id": public.sealing_key_id,
            "kind": "x25519",
            "public_key": public.sealing_public_key,
        },
    ]


def registration_statement(public: AgencyPublicKeys) -> dict[str, Any]:
    """The fields of the KEY statement that registers an agency from its public keys."""
    return {
        "type": "KEY",
        "action": "register_agency",
        "agency_id": public.agency_id,
        "programs": list(public.programs),
        "keys": public_key_fields(public),
    }


def key_request(
    signer: EntrySigner, agency_id: str, keys: list[dict[str, Any]], at: datetime
) -> dict[str, Any]:
    """An agency's request to add `keys`, approved with its current key (`signer`): what
    the operator hands the hub, which records it as an `add_key` statement."""
    requested_at = format_timestamp(at)
    signature = signer.sign(key_request_message(agency_id, keys, requested_at))
    return {
        "type": "KEY",
        "action": "add_key",
        "agency_id": agency_id,
        "keys": keys,
        "approval": {
            "key_id": signer.signing_key_id,
            "requested_at": requested_at,
            "signature": canonical.b64encode(signature),
        },
    }


def basis_points(value: float) -> int:
    """A score or share in [0, 1] as whole basis points (ledger entries carry no floats)."""
    return round(value * 10_000)


def policy_statement(disclosure_floor: float, min_precision: float) -> dict[str, Any]:
    """The POLICY entry's fields for a disclosure floor and a minimum estimated precision."""
    return {
        "type": "POLICY",
        "disclosure_floor_bp": basis_points(disclosure_floor),
        "min_precision_bp": basis_points(min_precision),
    }
