"""The planted-PII check: a canary person, every form their details could take if they
leaked, and an assertion that none of them (nor the linkage secret) is anywhere."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import Connection, Engine, MetaData, select

# One person served by both agencies, with details nobody else has.
CANARY = {
    "given_name": "Quillonette",
    "family_name": "Zarbowicz",
    "date_of_birth": "1983-07-19",
    "ssn": "517-38-2964",
    "address": "7431 Canarywood Terrace",
    "phone": "(312) 555-0199",
}
CANARY_FORMS = [
    "Quillonette",
    "QUILLONETTE",
    "quillonette",
    "Zarbowicz",
    "ZARBOWICZ",
    "zarbowicz",
    "1983-07-19",
    "19830719",
    "517-38-2964",
    "517382964",
    "Canarywood",
    "canarywood",
    "CANARYWOOD",
    "555-0199",
    "5550199",
]


def encoded_forms(value: bytes) -> list[bytes]:
    """How `value` would look if it leaked: raw, hex, base64 (standard or URL-safe, at any
    alignment inside a longer encoded value), UTF-16, or under an unkeyed hash."""
    forms = [
        value,
        value.hex().encode(),
        value.hex().upper().encode(),
        value.decode("latin-1").encode("utf-16-le"),
    ]
    for pad in range(3):
        whole = base64.b64encode(bytes(pad) + value)
        # Only the characters that depend on `value` alone, whatever comes before or after.
        inner = whole[4 if pad else 0 : 4 * ((pad + len(value)) // 3)]
        forms += [inner, inner.replace(b"+", b"-").replace(b"/", b"_")]
    for algorithm in ("md5", "sha1", "sha256", "sha512"):
        digest = hashlib.new(algorithm, value)
        forms += [digest.digest(), digest.hexdigest().encode()]
    return [form for form in forms if len(form) >= 6]


def dump_database(engine: Engine | Connection) -> bytes:
    """Every value in every table of the hub's database (or as one connection sees it,
    inside its transaction), as bytes."""
    if isinstance(engine, Engine):
        with engine.connect() as db:
            return dump_database(db)
    meta = MetaData()
    meta.reflect(engine)
    out = []
    for table in meta.sorted_tables:
        for row in engine.execute(select(table)):
            out += [_as_bytes(value) for value in row]
    return b"\n".join(out)


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    return str(value).encode()


def assert_absent(haystacks: dict[str, bytes], canaries: list[str], secret: bytes) -> None:
    """No canary and not the secret, in any of their encoded forms, in any haystack."""
    secret_forms = encoded_forms(secret)
    for name, haystack in haystacks.items():
        for canary in canaries:
            for form in encoded_forms(canary.encode()):
                assert form not in haystack, (canary, name)
        for form in secret_forms:
            assert form not in haystack, ("linkage secret", name)
