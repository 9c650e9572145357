"""The agency registry in the hub's database, speaking `keys`' registry model."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from hub.models import Agency, AgencyKey, Program
from keys import AgencyPublicKeys, AgencyRecord, KeyRegistry, RegisteredKey, RegistryError


def programs_by_agency(session: Session) -> dict[str, list[str]]:
    """agency id -> the ids of its programs, in order."""
    by_agency: dict[str, list[str]] = defaultdict(list)
    for program_id, owner in session.exec(
        select(Program.program_id, Program.agency_id).order_by(Program.program_id)
    ):
        by_agency[owner].append(program_id)
    return by_agency


def agency_record(session: Session, agency_id: str) -> AgencyRecord | None:
    """The registry record of `agency_id`, or None if it is not registered."""
    agency = session.get(Agency, agency_id)
    if agency is None:
        return None
    programs = session.exec(select(Program.program_id).where(Program.agency_id == agency_id)).all()
    keys = session.exec(select(AgencyKey).where(AgencyKey.agency_id == agency_id)).all()
    return AgencyRecord(
        agency_id=agency_id,
        programs=tuple(programs),
        keys=tuple(
            RegisteredKey.from_raw(
                key_id=k.key_id,
                kind=k.kind,  # type: ignore[arg-type]  # RegisteredKey checks it
                raw=k.public_key,
                valid_from=k.valid_from,
                revoked_at=k.revoked_at,
            )
            for k in sorted(keys, key=lambda k: (k.valid_from, k.key_id))
        ),
    )


def register_agency(session: Session, public: AgencyPublicKeys, at: datetime) -> AgencyRecord:
    """Register an agency and its first keys, valid from `at`."""
    if session.get(Agency, public.agency_id) is not None:
        raise RegistryError(
            f"agency {public.agency_id} is already registered",
            "To rotate its keys, add a key; agency ids are never reused.",
        )
    taken = session.exec(
        select(col(Program.program_id)).where(col(Program.program_id).in_(public.programs))
    ).all()
    if taken:
        raise RegistryError(f"program {taken[0]} is already registered to another agency")
    for kid in (public.signing_key_id, public.sealing_key_id):
        if session.get(AgencyKey, kid) is not None:
            raise RegistryError(f"key {kid} is already registered")
    # The in-memory registry checks the document the same way the CLI's does.
    record = KeyRegistry().register(public, at)
    session.add(Agency(agency_id=record.agency_id, registered_at=at))
    session.flush()
    for program in record.programs:
        session.add(Program(program_id=program, agency_id=record.agency_id))
    for key in record.keys:
        session.add(_row(record.agency_id, key))
    session.flush()
    return record


def project_keys(session: Session, record: AgencyRecord) -> None:
    """Make the agency's key rows (what token verification reads) say what `record` (the
    ledger's replay) says: new keys added, revocations copied, a compromise's cascade
    included."""
    for key in record.keys:
        row = session.get(AgencyKey, key.key_id)
        if row is None:
            session.add(_row(record.agency_id, key))
        elif row.revoked_at != key.revoked_at:
            row.revoked_at = key.revoked_at
            session.add(row)
    session.flush()


def _row(agency_id: str, key: RegisteredKey) -> AgencyKey:
    return AgencyKey(
        key_id=key.key_id,
        agency_id=agency_id,
        kind=key.kind,
        public_key=key.raw(),
        valid_from=key.valid_from,
        revoked_at=key.revoked_at,
    )


class DatabaseKeyLookup:
    """`keys.SigningKeyLookup` over the hub database, for token and entry verification."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def signing_key_at(self, agency_id: str, kid: str, at: datetime) -> Ed25519PublicKey:
        """The agency's Ed25519 key `kid` if it was valid at `at`; else RegistryError."""
        record = agency_record(self._session, agency_id)
        if record is None:
            raise RegistryError(f"agency {agency_id!r} is not registered")
        return KeyRegistry([record]).signing_key_at(agency_id, kid, at)
