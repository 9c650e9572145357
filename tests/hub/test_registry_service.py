from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from hub.models import AgencyKey
from hub.services.registry import DatabaseKeyLookup, agency_record, register_agency
from keys import AgencyIdentity, RegistryError, Role, TokenRejected, TokenVerifier, issue_token
from tests.factories import T0


def _identity(agency: str = "DCFS", program: str = "child_welfare") -> AgencyIdentity:
    return AgencyIdentity.create(agency, (program,), now=T0)


def test_registered_agency_reads_back_with_timezone_aware_validity(session: Session) -> None:
    identity = _identity()
    stored = register_agency(session, identity.public_keys(), T0)
    session.commit()  # releases a savepoint only: the fixture rolls everything back
    loaded = agency_record(session, "DCFS")
    assert loaded == stored
    assert loaded is not None
    assert all(k.valid_from.utcoffset() == timedelta(0) for k in loaded.keys)


def test_unknown_agency_reads_as_none(session: Session) -> None:
    assert agency_record(session, "NOBODY") is None


def test_second_registration_of_an_agency_or_program_is_refused(session: Session) -> None:
    register_agency(session, _identity().public_keys(), T0)
    with pytest.raises(RegistryError, match="already registered"):
        register_agency(session, _identity().public_keys(), T0)
    with pytest.raises(RegistryError, match="program child_welfare"):
        register_agency(session, _identity("OTHER", "child_welfare").public_keys(), T0)


def test_tokens_verify_against_the_database_registry_until_revoked(session: Session) -> None:
    identity = _identity()
    register_agency(session, identity.public_keys(), T0 - timedelta(days=1))
    token = issue_token(
        identity, subject="cm-1", audience="pprl-hub", roles=[Role.CASE_MANAGER], now=T0
    )
    verifier = TokenVerifier(DatabaseKeyLookup(session), audience="pprl-hub", clock=lambda: T0)
    assert verifier.verify(token).issuer == "DCFS"
    # A revocation projected from the ledger onto the key row.
    row = session.get_one(AgencyKey, identity.signing_key_id)
    row.revoked_at = T0
    session.add(row)
    session.flush()
    with pytest.raises(TokenRejected, match="revoked"):
        verifier.verify(token)
