"""Agencies and their keys. Every change is a KEY entry in the consent ledger, signed by
the hub (registration, operator revocation) or by the agency itself (rotation, its own
revocation); the registry tables are a projection of those entries, written in the same
transaction, and are what token verification reads."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from consent import KeyStatement, format_timestamp, registration_statement
from hub.errors import Conflict, NotFound
from hub.models import Agency, AgencyKey
from hub.schemas import AgencyOut, KeyOut
from hub.services import registry
from hub.services.ledger import HubLedger
from keys import AgencyPublicKeys, AgencyRecord, RegisteredKey


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


def revoke_key(
    session: Session,
    ledger: HubLedger,
    agency_id: str,
    key_id: str,
    compromised_since: datetime | None,
) -> AgencyRecord:
    """An operator revokes an agency key (a hub-signed KEY entry)."""
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
    _, signed = ledger.append_hub_entry(session, fields)
    project_key_statement(session, signed.entry)  # type: ignore[arg-type]
    return get_agency(session, agency_id)


def project_key_statement(session: Session, entry: KeyStatement) -> None:
    """Apply an (already appended) add_key or revoke_key statement to the registry rows."""
    if entry.action == "add_key":
        for key in entry.keys or []:
            registered = RegisteredKey.model_validate(
                {**key.model_dump(), "valid_from": entry.made}
            )
            session.add(
                AgencyKey(
                    key_id=registered.key_id,
                    agency_id=entry.agency_id,
                    kind=registered.kind,
                    public_key=registered.raw(),
                    valid_from=registered.valid_from,
                )
            )
        session.flush()
    elif entry.action == "revoke_key" and entry.revoked_key_id:
        # Tokens count the revocation from now on whatever compromise time was given:
        # grants signed after a leak are ended by the ledger replay instead.
        registry.revoke_key(session, entry.agency_id, entry.revoked_key_id, entry.made)
