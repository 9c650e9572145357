from __future__ import annotations

from datetime import timedelta

import pytest

from keys import KeyRegistry, MalformedDocument, RegistryError
from tests.factories import T0, agencies


def test_statement_is_checked_against_the_key_valid_when_it_was_made() -> None:
    ids, registry = agencies("DCFS")
    kid = ids["DCFS"].signing_key_id
    registry.revoke("DCFS", kid, T0)
    # Made before the revocation: still verifiable.
    registry.signing_key_at("DCFS", kid, T0 - timedelta(seconds=1))
    # Made at or after it: refused.
    with pytest.raises(RegistryError, match="revoked"):
        registry.signing_key_at("DCFS", kid, T0)


def test_key_is_not_valid_before_it_was_registered() -> None:
    ids, registry = agencies("DCFS", registered_at=T0)
    with pytest.raises(RegistryError, match="not yet valid"):
        registry.signing_key_at("DCFS", ids["DCFS"].signing_key_id, T0 - timedelta(seconds=1))


def test_key_of_another_agency_is_refused() -> None:
    ids, registry = agencies("DCFS", "DOC")
    with pytest.raises(RegistryError, match="not registered to agency DCFS"):
        registry.signing_key_at("DCFS", ids["DOC"].signing_key_id, T0)


def test_sealing_key_cannot_stand_in_for_a_signing_key() -> None:
    ids, registry = agencies("DCFS")
    with pytest.raises(RegistryError, match="x25519 key, not an ed25519"):
        registry.signing_key_at("DCFS", ids["DCFS"].sealing_key_id, T0)


def test_agency_ids_and_keys_are_never_registered_twice() -> None:
    ids, registry = agencies("DCFS")
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(ids["DCFS"].public_keys(), T0)


def test_registry_round_trips_through_json_with_revocations() -> None:
    ids, registry = agencies("DCFS", "DOC")
    registry.revoke("DOC", ids["DOC"].signing_key_id, T0)
    again = KeyRegistry.from_json(registry.to_json())
    assert list(again) == list(registry)


@pytest.mark.parametrize(
    "document",
    [
        b"[]",
        b'{"type":"pprl.key-registry.v1"}',
        b'{"type":"something-else","agencies":[]}',
        b'{"type":"pprl.key-registry.v1","agencies":[{"agency_id":"A"}]}',
        b'{"type":"pprl.key-registry.v1","agencies":[],"agencies":[]}',
        b"not json",
    ],
)
def test_malformed_registry_documents_are_refused(document: bytes) -> None:
    with pytest.raises(MalformedDocument):
        KeyRegistry.from_json(document)


def test_revocation_instant_before_registration_is_refused() -> None:
    ids, registry = agencies("DCFS", registered_at=T0)
    with pytest.raises(RegistryError, match="before valid_from"):
        registry.revoke("DCFS", ids["DCFS"].signing_key_id, T0 - timedelta(days=1))
