"""Agencies and their keys. Every change is a KEY entry in the consent ledger, signed by
the hub (registration, operator revocation) or by the agency itself (rotation, its own
revocation); the registry tables are a projection of those entries, written in the same
transaction, and are what token verification reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from consent import format_timestamp, public_key_fields, registration_statement
from contract import AgencyOut, KeyOut
from hub.errors import Conflict, NotFound, Unprocessable
from hub.models import Agency
from hub.services import registry
from hub.services.ledger import HubLedger
from keys import AgencyPublicKeys, AgencyRecord


def to_out(record: AgencyRecord) -> AgencyOut:
    """The public view of an agency."""
    return AgencyOut(
        agency_id=record.agency_id,
        programs=list(record.programs),
        keys=[
            KeyOut(
                key_id=k.key_id,
                kind=k.kind,
                public_key=k.public_key,
                valid_from=k.valid_from,
                revoked_at=k.revoked_at,
            )
            for k in record.keys
        ],
    )


def register(session: Session, ledger: HubLedger, public: AgencyPublicKeys) -> AgencyRecord:
    """Register an agency: a hub-signed KEY entry, then its registry rows."""
    if session.get(Agency, public.agency_id) is not None:
        raise Conflict(f"agency {public.agency_id} is already registered")
    _, signed = ledger.append_hub_entry(session, registration_statement(public))
    return registry.register_agency(session, public, signed.entry.made)


def list_agencies(session: Session) -> list[AgencyRecord]:
    """Every registered agency."""
    ids = session.exec(select(Agency.agency_id).order_by(Agency.agency_id)).all()
    records = [registry.agency_record(session, agency_id) for agency_id in ids]
    return [r for r in records if r is not None]


def get_agency(session: Session, agency_id: str) -> AgencyRecord:
    """One agency, or NotFound."""
    record = registry.agency_record(session, agency_id)
    if record is None:
        raise NotFound()
    return record


def add_key(
    session: Session, ledger: HubLedger, agency_id: str, request: dict[str, Any]
) -> AgencyRecord:
    """The operator approves an agency's signed request for new keys (a hub-signed
    `add_key` entry carrying the agency's approval). NotFound for an unknown agency."""
    get_agency(session, agency_id)
    if request.get("type") != "KEY" or request.get("action") != "add_key":
        raise Unprocessable("request: not a key request from `pprl keys request-key`")
    if request.get("agency_id") != agency_id:
        raise Unprocessable("request: it asks for keys of another agency")
    fields = {k: request.get(k) for k in ("type", "action", "agency_id", "keys", "approval")}
    ledger.append_hub_entry(session, fields)
    project_keys(session, ledger, agency_id)
    return get_agency(session, agency_id)


def recover(
    session: Session, ledger: HubLedger, agency_id: str, public: AgencyPublicKeys, incident: str
) -> AgencyRecord:
    """The operator re-keys an agency whose every signing key was revoked (a hub-signed
    `recover_agency` entry naming the incident)."""
    record = get_agency(session, agency_id)
    if public.agency_id != agency_id or tuple(sorted(public.programs)) != record.programs:
        raise Unprocessable("public: the new keys are for another agency or other programs")
    fields = {
        "type": "KEY",
        "action": "recover_agency",
        "agency_id": agency_id,
        "keys": public_key_fields(public),
        "incident": incident,
    }
    ledger.append_hub_entry(session, fields)
    project_keys(session, ledger, agency_id)
    return get_agency(session, agency_id)


def revoke_key(
    session: Session,
    ledger: HubLedger,
    agency_id: str,
    key_id: str,
    compromised_since: datetime | None,
) -> AgencyRecord:
    """An operator revokes an agency key (a hub-signed KEY entry); as compromised, with
    every key it approved after the leak."""
    record = get_agency(session, agency_id)
    if record.key(key_id) is None:
        raise NotFound()
    fields = {
        "type": "KEY",
        "action": "revoke_key",
        "agency_id": agency_id,
        "revoked_key_id": key_id,
    }
    if compromised_since is not None:
        fields["compromised_since"] = format_timestamp(compromised_since)
    ledger.append_hub_entry(session, fields)
    project_keys(session, ledger, agency_id)
    return get_agency(session, agency_id)


def project_keys(session: Session, ledger: HubLedger, agency_id: str) -> None:
    """Bring the agency's key rows in line with the ledger's replayed registry, after a
    KEY entry about the agency was appended."""
    registry.project_keys(session, ledger.state.registry.agency(agency_id))
