from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from linkage_node import SchemaError, load_schema, validate_schema
from linkage_node import schema as schema_module


def _default() -> dict[str, Any]:
    return copy.deepcopy(load_schema().document)


def _feature(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in doc["features"] if f["identifier"] == name)


def test_default_schema_is_valid_and_fingerprinted() -> None:
    schema = load_schema()
    assert schema.bits == 1024
    assert len(schema.fingerprint) == 64
    assert load_schema().fingerprint == schema.fingerprint


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda d: _feature(d, "ssn")["hashing"]["hash"].update(type="doubleHash"),
            "doubleHash is refused",
        ),
        (lambda d: d["clkConfig"].update(xorFolds=1), "xorFolds"),
        (lambda d: d["clkConfig"].update(xor_folds=1), "xorFolds"),
        (lambda d: _feature(d, "dob_year_month")["format"].update(type="date"), "string formats"),
        (lambda d: d["clkConfig"]["kdf"].pop("salt"), "salt"),
        (lambda d: d["clkConfig"].update(l=1000), "power of two"),
        (
            lambda d: d["features"].append({"identifier": "mothers_maiden_name", "ignored": True}),
            "not a roster column",
        ),
        (
            lambda d: _feature(d, "ssn_tail")["hashing"].update(missingValue={"sentinel": "U"}),
            "missingValue",
        ),
        (
            lambda d: _feature(d, "ssn_tail")["hashing"]["comparison"].update(type="numeric"),
            "ngram or exact",
        ),
        (lambda d: d.update(version=2), "v3"),
    ],
)
def test_unsafe_or_unsupported_schemas_are_refused(change: Any, match: str) -> None:
    doc = _default()
    change(doc)
    with pytest.raises(SchemaError, match=match):
        validate_schema(doc)


def test_fingerprint_covers_the_schema_and_the_normalisation_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = load_schema().fingerprint
    doc = _default()
    _feature(doc, "ssn_tail")["hashing"]["strategy"]["bitsPerFeature"] = 41
    assert validate_schema(doc).fingerprint != base
    monkeypatch.setattr(schema_module, "NORMALISATION_VERSION", "pprl-normalisation-99")
    assert load_schema().fingerprint != base


def test_schema_with_duplicate_keys_is_refused(tmp_path: Any) -> None:
    text = json.dumps(_default())
    path = tmp_path / "s.json"
    path.write_text(text.replace('"version": 3', '"version": 3, "version": 3'))
    with pytest.raises(SchemaError, match="duplicate key"):
        load_schema(path)
