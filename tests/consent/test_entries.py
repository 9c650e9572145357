"""Entries: strict parsing, canonical leaves, named validation errors, and no PII."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from consent import (
    Access,
    AccessStatement,
    EntryInvalid,
    EntryRef,
    EntryRejected,
    parse_leaf,
    validate_entry,
)
from keys import canonical
from tests.factories import LedgerBuilder, grant_terms, record_ref

PLANTED = [
    "Jane Doe",
    "JANE",
    "Doe, Jane",
    "jane.doe",
    "1984-02-29",
    "02/29/1984",
    "123-45-6789",
    "1 Main St",
]
GRANT_FIELDS = sorted(grant_terms())
# Every field a value could be typed into, the optional form edition included.
PLANTABLE_FIELDS = sorted([*GRANT_FIELDS, "form_version"])


def _grant(builder: LedgerBuilder, **terms: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "GRANT",
        "signer": "DCFS",
        "key_id": builder.ids["DCFS"].signing_key_id,
        "made_at": "2026-11-23T12:00:00Z",
        "grant": grant_terms(**terms),
    }


def test_leaf_is_the_signed_canonical_bytes_plus_the_signature() -> None:
    b = LedgerBuilder()
    signed = b.agency_entry("DCFS", type="GRANT", grant=grant_terms())
    entry_bytes, signature = signed.leaf.split(b"\n")
    assert entry_bytes == canonical.canonical_json(json.loads(entry_bytes))
    b.ids["DCFS"].signing_key.public_key().verify(
        canonical.b64decode(signature.decode()), entry_bytes
    )
    assert parse_leaf(signed.leaf) == signed


@pytest.mark.parametrize(
    "mangle",
    [
        lambda e: e.replace(b'{"grant"', b'{ "grant"'),  # whitespace
        lambda e: json.dumps(json.loads(e), sort_keys=False, indent=1).encode().replace(b"\n", b""),
        lambda e: e.replace(b'"v":1', b'"v":1.0'),
        lambda e: e.replace(b'"v":1', b'"v":1,"v":1'),  # duplicate key
    ],
)
def test_leaf_that_is_not_exactly_canonical_is_refused(mangle: Any) -> None:
    signed = LedgerBuilder().agency_entry("DCFS", type="GRANT", grant=grant_terms())
    entry_bytes, signature = signed.leaf.split(b"\n")
    with pytest.raises(EntryInvalid):
        parse_leaf(mangle(entry_bytes) + b"\n" + signature)


@pytest.mark.parametrize("field", GRANT_FIELDS)
def test_missing_grant_field_is_an_error_naming_the_field(field: str) -> None:
    data = _grant(LedgerBuilder())
    del data["grant"][field]
    with pytest.raises(EntryInvalid, match=f"grant.{field}: is required"):
        validate_entry(data)


def test_a_form_edition_is_kept_and_older_grants_without_one_still_read() -> None:
    b = LedgerBuilder()
    index = b.add(
        b.agency_entry("DCFS", type="GRANT", grant=grant_terms(form_version="universal-2026.1"))
    )
    assert b.state.grants[index].terms.form_version == "universal-2026.1"
    older = b.grant()
    assert b.state.grants[older].terms.form_version is None
    assert b"form_version" not in b.leaves[older]


def test_expiry_is_required_and_must_follow_the_start() -> None:
    b = LedgerBuilder()
    with pytest.raises(EntryInvalid, match="expires_at must be after effective_from"):
        validate_entry(_grant(b, expires_at="2026-11-22T00:00:00Z"))


@pytest.mark.parametrize("field", PLANTABLE_FIELDS)
@pytest.mark.parametrize("value", PLANTED)
def test_pii_planted_in_any_grant_field_is_never_stored(field: str, value: str) -> None:
    b = LedgerBuilder()
    original = grant_terms().get(field)
    planted = [value] if isinstance(original, list) else value
    size = b.state.size
    with pytest.raises((EntryInvalid, EntryRejected)) as info:
        b.add(b.agency_entry("DCFS", type="GRANT", grant=grant_terms(**{field: planted})))
    assert value not in str(info.value)
    assert value not in info.value.advice()
    assert b.state.size == size
    assert all(value.encode() not in leaf for leaf in b.leaves)


@pytest.mark.parametrize("value", PLANTED)
@pytest.mark.parametrize(
    "entry",
    [
        {"type": "REVOKE", "reason": "client_request"},
        {"type": "ACCESS", "basis": "consent"},
        {"type": "KEY", "action": "revoke_key"},
    ],
)
def test_pii_planted_in_other_entry_types_is_refused(entry: dict[str, Any], value: str) -> None:
    b = LedgerBuilder()
    index = b.grant()
    bases: dict[str, dict[str, Any]] = {
        "REVOKE": {"revokes": b.ref(index), "consent_id": b.state.grants[index].terms.consent_id},
        "ACCESS": {
            "grant": b.ref(index),
            "disclosing_program": "child_welfare",
            "subject": record_ref("client-1"),
            "requester_program": "corrections",
            "requester_staff": "cm-77",
            "requester_record": record_ref("doc-client"),
            "data_classes": ["contact"],
            "checkpoint_size": index + 1,
        },
        "KEY": {"agency_id": "DCFS", "revoked_key_id": b.ids["DCFS"].signing_key_id},
    }
    fields = {**entry, **bases[entry["type"]]}
    for name, original in fields.items():
        if name == "type" or not isinstance(original, str | list):
            continue
        planted = {**fields, name: [value] if isinstance(original, list) else value}
        size = b.state.size
        make = b.hub_entry if entry["type"] in ("ACCESS", "KEY") else _dcfs_entry(b)
        with pytest.raises((EntryInvalid, EntryRejected)) as info:
            b.add(make(**planted))
        assert value not in str(info.value)
        assert b.state.size == size


def _dcfs_entry(b: LedgerBuilder) -> Any:
    return lambda **fields: b.agency_entry("DCFS", **fields)


def test_timestamps_before_the_ledger_began_read_as_misplaced_birth_dates() -> None:
    with pytest.raises(EntryInvalid, match="is it a birth date"):
        validate_entry(_grant(LedgerBuilder(), signed_at="1984-02-29T00:00:00Z"))


def test_access_by_agreement_covers_existence_only() -> None:
    b = LedgerBuilder()
    with pytest.raises(EntryInvalid, match="existence only"):
        b.hub_entry(
            type="ACCESS",
            basis="agreement",
            disclosing_program="child_welfare",
            subject=record_ref("client-1"),
            requester_program="corrections",
            requester_staff="cm-77",
            requester_record=record_ref("doc-client"),
            data_classes=["contact"],
            checkpoint_size=1,
        )


def test_an_access_statement_is_checked_before_the_hub_signs_it() -> None:
    fields: dict[str, Any] = {
        "basis": "consent",
        "disclosing_program": "child_welfare",
        "subject": record_ref("client-1"),
        "requester_program": "corrections",
        "requester_staff": "cm-77",
        "requester_record": record_ref("doc-client"),
        "data_classes": ["contact"],
        "checkpoint_size": 1,
    }
    with pytest.raises(ValidationError, match="names its grant"):
        AccessStatement.model_validate(fields)
    statement = AccessStatement.model_validate(
        {**fields, "grant": EntryRef(index=0, leaf_hash="ab" * 32)}
    )
    signed = LedgerBuilder().hub_entry(**statement.fields())
    assert isinstance(signed.entry, Access)
    assert signed.entry.grant == statement.grant
