"""The key registry: which public keys speak for which agency, and when.

A key is valid for statements made at instant `t` when `valid_from <= t` and, if the key
was revoked, `t < revoked_at`. A statement is always checked against the key that was
valid when it was made; a caller that also wants "still valid now" (bearer tokens) asks
for both instants.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from keys import canonical
from keys._internal.fingerprint import key_id
from keys._internal.names import is_identifier
from keys.errors import MalformedDocument, RegistryError
from keys.files import write_public
from keys.identity import SEALING_KIND, SIGNING_KIND, AgencyPublicKeys

KeyKind = Literal["ed25519", "x25519"]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a timezone (use UTC, 'Z')")
    return value


class RegisteredKey(BaseModel):
    """One public key of an agency with its validity interval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str
    kind: KeyKind
    public_key: str
    valid_from: datetime
    revoked_at: datetime | None = None

    _check_from = field_validator("valid_from")(_utc)

    @field_validator("revoked_at")
    @classmethod
    def _check_revoked(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @model_validator(mode="after")
    def _fingerprint_matches(self) -> RegisteredKey:
        try:
            raw = canonical.b64decode(self.public_key)
        except canonical.EncodingError as exc:
            raise ValueError(f"public key: {exc}") from None
        if len(raw) != 32:
            raise ValueError("public key must be 32 bytes")
        if key_id(self.kind, raw) != self.key_id:
            raise ValueError("key id does not match the public key")
        if self.revoked_at is not None and self.revoked_at < self.valid_from:
            raise ValueError("revoked_at is before valid_from")
        return self

    @classmethod
    def from_raw(
        cls,
        *,
        key_id: str,
        kind: KeyKind,
        raw: bytes,
        valid_from: datetime,
        revoked_at: datetime | None = None,
    ) -> RegisteredKey:
        """Build from raw key bytes (as a database stores them); the id is re-checked."""
        return cls(
            key_id=key_id,
            kind=kind,
            public_key=canonical.b64encode(raw),
            valid_from=valid_from,
            revoked_at=revoked_at,
        )

    def raw(self) -> bytes:
        """The 32 raw public-key bytes."""
        return canonical.b64decode(self.public_key)

    def valid_at(self, at: datetime) -> bool:
        """True if a statement made at `at` may be checked with this key."""
        return self.valid_from <= at and (self.revoked_at is None or at < self.revoked_at)


class AgencyRecord(BaseModel):
    """An agency as the registry knows it: programs and keys, past and present."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency_id: str
    programs: tuple[str, ...]
    keys: tuple[RegisteredKey, ...]

    @field_validator("agency_id")
    @classmethod
    def _agency(cls, value: str) -> str:
        if not is_identifier(value):
            raise ValueError("agency id must be 1-64 letters, digits, '_', '.', '-'")
        return value

    @field_validator("programs")
    @classmethod
    def _programs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or not all(is_identifier(p) for p in value) or len(set(value)) != len(value):
            raise ValueError("programs must be 1 or more distinct identifiers")
        return tuple(sorted(value))

    @field_validator("keys")
    @classmethod
    def _distinct(cls, value: tuple[RegisteredKey, ...]) -> tuple[RegisteredKey, ...]:
        if len({k.key_id for k in value}) != len(value):
            raise ValueError("a key id appears twice")
        return value

    def key(self, kid: str) -> RegisteredKey | None:
        """The key with this id, if the agency ever had it."""
        return next((k for k in self.keys if k.key_id == kid), None)

    def current_key(self, kind: KeyKind, at: datetime) -> RegisteredKey:
        """The newest key of `kind` valid at `at`."""
        valid = [k for k in self.keys if k.kind == kind and k.valid_at(at)]
        if not valid:
            raise RegistryError(
                f"agency {self.agency_id} has no {kind} key valid at {at.isoformat()}",
                "Register a new key for the agency with `pprl keys registry add-key`.",
            )
        return max(valid, key=lambda k: k.valid_from)


class SigningKeyLookup(Protocol):
    """What a verifier needs from a registry; the hub implements it over its database."""

    def signing_key_at(self, agency_id: str, kid: str, at: datetime) -> Ed25519PublicKey:
        """The agency's Ed25519 key `kid`, if it was valid at `at`; else RegistryError."""
        ...


class KeyRegistry:
    """An in-memory registry, persisted as one JSON document (`pprl keys registry ...`)."""

    def __init__(self, records: Iterable[AgencyRecord] = ()) -> None:
        self._records: dict[str, AgencyRecord] = {}
        for record in records:
            if record.agency_id in self._records:
                raise RegistryError(f"agency {record.agency_id} appears twice in the registry")
            self._records[record.agency_id] = record

    def __iter__(self) -> Iterator[AgencyRecord]:
        return iter(sorted(self._records.values(), key=lambda r: r.agency_id))

    def __contains__(self, agency_id: object) -> bool:
        return agency_id in self._records

    def agency(self, agency_id: str) -> AgencyRecord:
        """The record of a registered agency."""
        try:
            return self._records[agency_id]
        except KeyError:
            raise RegistryError(
                f"agency {agency_id!r} is not registered",
                "Ask the hub operator to register it (`pprl keys registry add`).",
            ) from None

    def register(self, public: AgencyPublicKeys, at: datetime) -> AgencyRecord:
        """Add a new agency with the keys of its public document, valid from `at`."""
        if public.agency_id in self._records:
            raise RegistryError(
                f"agency {public.agency_id} is already registered",
                "To rotate its keys use `pprl keys registry add-key`; ids are never reused.",
            )
        record = AgencyRecord(
            agency_id=public.agency_id,
            programs=public.programs,
            keys=(
                RegisteredKey(
                    key_id=public.signing_key_id,
                    kind=SIGNING_KIND,
                    public_key=public.signing_public_key,
                    valid_from=_utc(at),
                ),
                RegisteredKey(
                    key_id=public.sealing_key_id,
                    kind=SEALING_KIND,
                    public_key=public.sealing_public_key,
                    valid_from=_utc(at),
                ),
            ),
        )
        self._records[record.agency_id] = record
        return record

    def add_key(self, agency_id: str, key: RegisteredKey) -> AgencyRecord:
        """Add a rotated-in key to an agency (the old one stays until revoked)."""
        record = self.agency(agency_id)
        if record.key(key.key_id) is not None:
            raise RegistryError(f"key {key.key_id} is already registered to {agency_id}")
        if any(key.key_id == k.key_id for r in self._records.values() for k in r.keys):
            raise RegistryError(f"key {key.key_id} is registered to another agency")
        updated = record.model_copy(update={"keys": (*record.keys, key)})
        self._records[agency_id] = updated
        return updated

    def revoke(self, agency_id: str, kid: str, at: datetime) -> AgencyRecord:
        """Mark a key revoked from `at` on; statements made at or after `at` fail.

        For a compromised key, pass the earliest instant it may have been exposed.
        """
        record = self.agency(agency_id)
        key = record.key(kid)
        if key is None:
            raise RegistryError(f"agency {agency_id} has no key {kid}")
        if key.revoked_at is not None and key.revoked_at <= _utc(at):
            raise RegistryError(f"key {kid} is already revoked since {key.revoked_at}")
        try:
            revoked = RegisteredKey.model_validate({**key.model_dump(), "revoked_at": at})
        except ValidationError as exc:
            raise RegistryError(f"cannot revoke {kid}: {exc.errors()[0]['msg']}") from None
        keys = tuple(revoked if k.key_id == kid else k for k in record.keys)
        updated = record.model_copy(update={"keys": keys})
        self._records[agency_id] = updated
        return updated

    def signing_key_at(self, agency_id: str, kid: str, at: datetime) -> Ed25519PublicKey:
        """The Ed25519 key `kid` of `agency_id` if valid at `at`, else RegistryError."""
        return Ed25519PublicKey.from_public_bytes(self._key_at(agency_id, kid, at, "ed25519"))

    def sealing_key(self, agency_id: str, at: datetime) -> tuple[str, X25519PublicKey]:
        """The agency's newest X25519 key valid at `at`, with its id."""
        key = self.agency(agency_id).current_key("x25519", at)
        return key.key_id, X25519PublicKey.from_public_bytes(key.raw())

    def _key_at(self, agency_id: str, kid: str, at: datetime, kind: KeyKind) -> bytes:
        record = self.agency(agency_id)
        key = record.key(kid)
        if key is None:
            raise RegistryError(f"key {kid} is not registered to agency {agency_id}")
        if key.kind != kind:
            raise RegistryError(f"key {kid} is an {key.kind} key, not an {kind} key")
        if key.revoked_at is not None and at >= key.revoked_at:
            raise RegistryError(f"key {kid} of agency {agency_id} was revoked at {key.revoked_at}")
        if at < key.valid_from:
            raise RegistryError(
                f"key {kid} of agency {agency_id} was not yet valid at {at.isoformat()}"
            )
        return key.raw()

    # Persistence --------------------------------------------------------------------

    def to_json(self) -> bytes:
        """Canonical JSON of the whole registry."""
        doc = {
            "type": "pprl.key-registry.v1",
            "agencies": [r.model_dump(mode="json") for r in self],
        }
        return canonical.canonical_json(doc)

    @classmethod
    def from_json(cls, data: bytes, where: str = "key registry") -> KeyRegistry:
        """Parse a registry document strictly."""
        try:
            doc = canonical.strict_json_loads(data)
        except canonical.EncodingError as exc:
            raise MalformedDocument(str(exc), where) from None
        if not isinstance(doc, dict) or doc.get("type") != "pprl.key-registry.v1":
            raise MalformedDocument("not a pprl key registry document", where)
        if set(doc) != {"type", "agencies"} or not isinstance(doc["agencies"], list):
            raise MalformedDocument("expected exactly the fields type and agencies", where)
        records = []
        for i, item in enumerate(doc["agencies"]):
            try:
                records.append(AgencyRecord.model_validate(item))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise MalformedDocument(f"agencies[{i}].{loc}: {err['msg']}", where) from None
        try:
            return cls(records)
        except RegistryError as exc:
            raise MalformedDocument(str(exc), where) from None

    @classmethod
    def load(cls, path: Path) -> KeyRegistry:
        """Read a registry file written by `save`."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise RegistryError(
                f"registry file {path} not found",
                "Create it by registering a first agency: `pprl keys registry add`.",
            ) from None
        return cls.from_json(data, str(path))

    def save(self, path: Path) -> None:
        """Write the registry atomically."""
        write_public(path, self.to_json() + b"\n", overwrite=True)
