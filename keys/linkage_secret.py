"""Linkage secrets: creation, epochs, and sealing one copy to each agency.

The hub relays sealed copies but must never be able to open one (design invariant 2).
Each copy is HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
AES-256-GCM) to the recipient's registered X25519 key, with an `info` string that binds
the copy to the epoch, the creator and the recipient key, so a copy cannot be replayed
under another epoch or handed to another agency.

HPKE base mode does not say who sealed; the hub knows every public key and could seal a
secret of its own choosing. So the whole bundle is signed with the creating agency's
Ed25519 key, and a recipient accepts it only if that signature verifies against the
registry. The bundle also carries a commitment to the secret, so every recipient can
check it received the same secret as the others.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke

from keys import canonical
from keys._internal.names import is_identifier
from keys.errors import (
    KeyFileError,
    KeysError,
    MalformedDocument,
    SignatureInvalid,
    UnsealFailed,
    WeakSecret,
)
from keys.files import too_open, write_private
from keys.identity import AgencyIdentity
from keys.registry import KeyRegistry

MIN_SECRET_BITS = 128
DEFAULT_SECRET_BITS = 256
MAX_SECRET_BITS = 4096

SEALED_TYPE = "pprl.sealed-linkage-secret.v1"
SECRET_FILE_TYPE = "pprl.linkage-secret.v1"  # noqa: S105  (a document type name)

_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_COMMITMENT_PREFIX = b"pprl-hub linkage secret commitment v1\x00"


def check_secret_strength(secret: bytes) -> None:
    """Refuse secrets under 128 bits, wherever a secret enters the system."""
    if len(secret) * 8 < MIN_SECRET_BITS:
        raise WeakSecret(len(secret) * 8, MIN_SECRET_BITS)


@dataclass(frozen=True)
class LinkageSecret:
    """The secret every agency encodes with for one epoch. Its bytes never print."""

    epoch: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not is_identifier(self.epoch):
            raise MalformedDocument(
                "epoch id must be 1-64 letters, digits, '_', '.', '-'", "linkage secret"
            )
        check_secret_strength(self.secret)
        if len(self.secret) * 8 > MAX_SECRET_BITS:
            raise MalformedDocument(f"secret longer than {MAX_SECRET_BITS} bits", "linkage secret")

    def commitment(self) -> str:
        """A hash that names this secret without revealing it (safe to publish)."""
        return hashlib.sha256(
            _COMMITMENT_PREFIX + self.epoch.encode() + b"\x00" + self.secret
        ).hexdigest()

    def save(self, path: Path) -> None:
        """Write to a 0600 file; refuses to overwrite an existing secret."""
        doc = {
            "type": SECRET_FILE_TYPE,
            "epoch": self.epoch,
            "secret": canonical.b64encode(self.secret),
        }
        try:
            write_private(path, canonical.canonical_json(doc) + b"\n")
        except FileExistsError:
            raise KeyFileError(
                str(path),
                "already exists",
                "Choose another --output; secrets are never overwritten.",
            ) from None

    @classmethod
    def load(cls, path: Path) -> LinkageSecret:
        """Read a secret file written by `save` (or by `pprl keys unseal`)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(
                str(path),
                exc.strerror or "unreadable",
                "Check the --secret-file path.",
                exit_code=2,
            ) from None
        where = str(path)
        if too_open(path):
            # The linkage secret is what makes the encodings unreadable to the hub: a
            # copy readable by anyone on the machine is as good as published.
            raise KeyFileError(where, "is readable by other users", f"Run `chmod 600 {path}`.")
        try:
            doc = canonical.strict_json_loads(data)
        except canonical.EncodingError as exc:
            raise MalformedDocument(str(exc), where) from None
        if (
            not isinstance(doc, dict)
            or doc.get("type") != SECRET_FILE_TYPE
            or set(doc) != {"type", "epoch", "secret"}
            or not isinstance(doc["secret"], str)
            or not isinstance(doc["epoch"], str)
        ):
            raise MalformedDocument("not a pprl linkage secret file", where)
        try:
            secret = canonical.b64decode(doc["secret"])
        except canonical.EncodingError as exc:
            raise MalformedDocument(f"secret: {exc}", where) from None
        return cls(epoch=doc["epoch"], secret=secret)


def new_linkage_secret(epoch: str, bits: int = DEFAULT_SECRET_BITS) -> LinkageSecret:
    """A fresh random secret from the operating system's CSPRNG."""
    if bits < MIN_SECRET_BITS:
        raise WeakSecret(bits, MIN_SECRET_BITS)
    if bits % 8 or bits > MAX_SECRET_BITS:
        raise MalformedDocument(
            f"bits must be a multiple of 8 between {MIN_SECRET_BITS} and {MAX_SECRET_BITS}",
            "new linkage secret",
        )
    return LinkageSecret(epoch=epoch, secret=os.urandom(bits // 8))


def _info(epoch: str, created_by: str, recipient: str, recipient_key_id: str) -> bytes:
    return canonical.canonical_json(
        {
            "purpose": SEALED_TYPE,
            "epoch": epoch,
            "created_by": created_by,
            "recipient": recipient,
            "recipient_key_id": recipient_key_id,
        }
    )


def seal_linkage_secret(
    secret: LinkageSecret,
    creator: AgencyIdentity,
    registry: KeyRegistry,
    recipients: list[str],
    *,
    now: datetime | None = None,
) -> bytes:
    """Seal one copy of `secret` to each recipient's current X25519 key; sign the bundle.

    Returns the bundle as canonical JSON bytes, safe to hand to the hub for relaying.
    """
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    if not recipients or len(set(recipients)) != len(recipients):
        raise MalformedDocument("recipients must be 1 or more distinct agencies", "seal")
    copies = []
    for agency_id in sorted(recipients):
        kid, public = registry.sealing_key(agency_id, at)
        enc = _SUITE.encrypt(
            secret.secret, public, info=_info(secret.epoch, creator.agency_id, agency_id, kid)
        )
        copies.append({"agency_id": agency_id, "key_id": kid, "sealed": canonical.b64encode(enc)})
    body: dict[str, Any] = {
        "type": SEALED_TYPE,
        "epoch": secret.epoch,
        "created_by": creator.agency_id,
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "signing_key_id": creator.signing_key_id,
        "commitment": secret.commitment(),
        "copies": copies,
    }
    signature = creator.sign(canonical.canonical_json(body))
    return canonical.canonical_json({**body, "signature": canonical.b64encode(signature)})


_BODY_FIELDS = {
    "type",
    "epoch",
    "created_by",
    "created_at",
    "signing_key_id",
    "commitment",
    "copies",
}


def _parse_bundle(data: bytes) -> dict[str, Any]:
    where = "sealed linkage secret"
    try:
        doc = canonical.strict_json_loads(data)
    except canonical.EncodingError as exc:
        raise MalformedDocument(str(exc), where) from None
    if not isinstance(doc, dict) or set(doc) != _BODY_FIELDS | {"signature"}:
        raise MalformedDocument("not a sealed linkage secret bundle", where)
    if doc["type"] != SEALED_TYPE:
        raise MalformedDocument(f"type must be {SEALED_TYPE}", where)
    for name in _BODY_FIELDS - {"copies"}:
        if not isinstance(doc[name], str):
            raise MalformedDocument(f"field {name} must be a string", where)
    if not isinstance(doc["copies"], list) or not all(
        isinstance(c, dict)
        and set(c) == {"agency_id", "key_id", "sealed"}
        and all(isinstance(v, str) for v in c.values())
        for c in doc["copies"]
    ):
        raise MalformedDocument("copies must be a list of {agency_id, key_id, sealed}", where)
    # The stored bytes must be exactly the canonical form (plus an optional newline), so
    # no byte of the file can change without changing what was signed.
    if data.rstrip(b"\n") != canonical.canonical_json(doc):
        raise MalformedDocument("not in canonical form (the file was edited)", where)
    return doc


def unseal_linkage_secret(
    bundle: bytes, identity: AgencyIdentity, registry: KeyRegistry
) -> LinkageSecret:
    """Verify the creator's signature, open this agency's copy and check the commitment."""
    doc = _parse_bundle(bundle)
    try:
        created_at = datetime.fromisoformat(doc["created_at"])
    except ValueError:
        raise MalformedDocument("created_at is not a timestamp", "sealed linkage secret") from None
    if created_at.tzinfo is None:
        raise MalformedDocument("created_at has no timezone", "sealed linkage secret")
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        signature = canonical.b64decode(doc["signature"])
        creator_key = registry.signing_key_at(doc["created_by"], doc["signing_key_id"], created_at)
        creator_key.verify(signature, canonical.canonical_json(body))
    except canonical.EncodingError as exc:
        raise SignatureInvalid(f"sealed linkage secret signature: {exc}") from None
    except InvalidSignature:
        raise SignatureInvalid(
            f"sealed linkage secret is not signed by agency {doc['created_by']}"
        ) from None
    except KeysError as exc:
        raise SignatureInvalid(f"sealed linkage secret: {exc}") from None

    mine = [c for c in doc["copies"] if c["agency_id"] == identity.agency_id]
    if not mine:
        raise UnsealFailed(f"the bundle holds no copy for agency {identity.agency_id}")
    if len(mine) > 1:
        raise MalformedDocument("two copies for one agency", "sealed linkage secret")
    copy = mine[0]
    if copy["key_id"] != identity.sealing_key_id:
        raise UnsealFailed(
            f"the copy for {identity.agency_id} is sealed to key {copy['key_id']}, "
            f"not to this identity's key {identity.sealing_key_id}"
        )
    try:
        sealed = canonical.b64decode(copy["sealed"])
        plain = _SUITE.decrypt(
            sealed,
            identity.sealing_key,
            info=_info(doc["epoch"], doc["created_by"], identity.agency_id, copy["key_id"]),
        )
    except (canonical.EncodingError, InvalidTag, ValueError):
        raise UnsealFailed(
            f"the copy for {identity.agency_id} does not open with this key"
        ) from None
    secret = LinkageSecret(epoch=doc["epoch"], secret=plain)
    if not hmac.compare_digest(secret.commitment(), doc["commitment"]):
        raise UnsealFailed("the opened secret does not match the bundle's commitment")
    return secret
