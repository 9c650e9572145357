"""Linkage schemas: the bundled default, validation before use, and the fingerprint.

A schema is a clkhash v3 linkage schema, accepted only within the subset this project
encodes exactly: BLAKE2 hashing (`doubleHash` is refused: its structure is attackable,
Kroll & Steinmetzer 2015), no XOR folding (`xorFolds`, which clkhash 0.18 silently
ignores), string features only (normalisation here, not in the schema), n-gram or exact
comparisons, HKDF-SHA256 key derivation, and feature names from the roster columns
(plus the parts of the date of birth and the SSN listed in `DERIVED_FEATURES`).

The fingerprint is SHA-256 over the schema's canonical JSON and the normalisation
version: two nodes with the same fingerprint turn the same person into the same CLK.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from clkhash.schema import Schema, from_json_dict
from clkhash.schema import SchemaError as ClkSchemaError

from keys import canonical
from linkage_node.errors import SchemaError
from linkage_node.normalise import NORMALISATION_VERSION
from linkage_node.roster import ROSTER_COLUMNS

# Features computed from the roster's columns (`linkage_node.features.feature_values`).
# Schema v3 hashes a date of birth as the whole date and three partial ones (year and
# month, year and day, year and the month/day pair in either order), and an SSN as the
# whole number, its first five and its last four digits: a slipped digit or a day/month
# swap then costs part of the field, not all of it, while every value hashed is rare
# (a year and a month among 1,200) so that no bit pattern marks, say, everyone born in
# April. Schema v2's exact year, month and day tokens and positional SSN digits did
# (README: "What the encodings give away"); it stays readable for old encodings.
# Schema v4 (the default) adds, by the same rule, the address whole with its ZIP code and
# the phone number, each with the year of birth (a person's value, not a household's).
# Schema v5 (bundled, not yet the default: README) hashes the two names as one value in
# alphabetical order, so that a client entered family name first by one agency still
# looks like themself, and the date of birth with a quarter fewer bits.
DERIVED_FEATURES = (
    "names_any_order",
    "dob_year",
    "dob_month",
    "dob_day",
    "dob_year_month",
    "dob_year_day",
    "dob_year_monthday",
    "ssn_head",
    "ssn_tail",
    "address_zip_year",
    "phone_year",
)
FEATURE_NAMES = (*ROSTER_COLUMNS, *DERIVED_FEATURES)

DEFAULT_SCHEMA = "default-v4.json"
_ALLOWED_COMPARISONS = {"ngram", "exact"}


@dataclass(frozen=True)
class LinkageSchema:
    """A validated schema and the roster column behind each of its features."""

    document: dict[str, Any]
    schema: Schema
    features: tuple[str, ...]
    fingerprint: str
    name: str

    @property
    def bits(self) -> int:
        """Length of the CLKs it makes."""
        return int(self.schema.l)


def load_schema(path: Path | None = None) -> LinkageSchema:
    """The schema at `path`, or the bundled default; validated."""
    if path is None:
        text = resources.files("linkage_node.schemas").joinpath(DEFAULT_SCHEMA).read_text()
        name = f"bundled {DEFAULT_SCHEMA}"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SchemaError(str(path), exc.strerror or "cannot be read") from None
        name = str(path)
    try:
        document = canonical.strict_json_loads(text)
    except canonical.EncodingError as exc:
        raise SchemaError(name, str(exc)) from None
    return validate_schema(document, name)


def validate_schema(document: Any, name: str = "schema") -> LinkageSchema:
    """Refuse anything outside the subset described in the module notes."""
    if not isinstance(document, dict) or document.get("version") != 3:
        raise SchemaError(name, "must be a clkhash v3 linkage schema")
    config = document.get("clkConfig", {})
    if any(k in config for k in ("xorFolds", "xor_folds")):
        raise SchemaError(name, "xorFolds is not supported (clkhash 0.18 ignores it silently)")
    kdf = config.get("kdf", {})
    if kdf.get("type") != "HKDF" or kdf.get("hash", "SHA256") != "SHA256":
        raise SchemaError(name, "key derivation must be HKDF with SHA256")
    if not kdf.get("salt") or not kdf.get("info"):
        raise SchemaError(name, "the HKDF salt and info must be set (they separate schemas)")
    bits = config.get("l")
    if not isinstance(bits, int) or bits < 256 or bits & (bits - 1):
        raise SchemaError(name, "clkConfig.l must be a power of two of at least 256")
    features = document.get("features", [])
    names = [f.get("identifier") for f in features if isinstance(f, dict)]
    if len(names) != len(features) or len(set(names)) != len(names):
        raise SchemaError(name, "features must have distinct identifiers")
    hashed = []
    for feature in features:
        identifier = feature["identifier"]
        if identifier not in FEATURE_NAMES:
            raise SchemaError(
                name, f"feature {identifier!r} is not a roster column or a derived feature"
            )
        if feature.get("ignored"):
            continue
        _check_feature(name, feature)
        hashed.append(identifier)
    if not hashed:
        raise SchemaError(name, "no feature is hashed")
    try:
        schema = from_json_dict(document)
    except (ClkSchemaError, ValueError, KeyError, TypeError) as exc:
        raise SchemaError(name, f"clkhash refuses it: {exc}") from None
    digest = hashlib.sha256(
        canonical.canonical_json(document) + b"\x00" + NORMALISATION_VERSION.encode()
    ).hexdigest()
    return LinkageSchema(document, schema, tuple(f["identifier"] for f in features), digest, name)


def _check_feature(name: str, feature: dict[str, Any]) -> None:
    identifier = feature["identifier"]
    where = f"feature {identifier}"
    fmt = feature.get("format", {})
    if fmt.get("type") != "string" or fmt.get("encoding", "utf-8") != "utf-8":
        raise SchemaError(name, f"{where}: only utf-8 string formats (pprl normalises values)")
    hashing = feature.get("hashing", {})
    hash_type = hashing.get("hash", {}).get("type")
    if hash_type == "doubleHash":
        raise SchemaError(name, f"{where}: doubleHash is refused; use blakeHash")
    if hash_type != "blakeHash":
        raise SchemaError(name, f"{where}: hash type must be given as blakeHash")
    comparison = hashing.get("comparison", {}).get("type")
    if comparison not in _ALLOWED_COMPARISONS:
        raise SchemaError(name, f"{where}: comparison must be ngram or exact")
    if "missingValue" in hashing:
        raise SchemaError(name, f"{where}: missingValue is not supported (missing means empty)")
    strategy = hashing.get("strategy", {})
    if set(strategy) not in ({"bitsPerToken"}, {"bitsPerFeature"}):
        raise SchemaError(name, f"{where}: strategy must be bitsPerToken or bitsPerFeature")


def schema_summary(schema: LinkageSchema) -> str:
    """One line for humans."""
    return f"{schema.name} ({schema.bits} bits, fingerprint {schema.fingerprint[:16]}...)"
