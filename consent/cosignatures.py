"""Witness cosignatures on checkpoints (C2SP tlog-cosignature, Ed25519 `cosignature/v1`).

An agency node that has checked a checkpoint against everything it saw before (a
consistency proof from its last one) signs it with its agency key and gives the
signature line to the hub, which serves the checkpoint with every agency's line added.
A reader who requires some agencies' cosignatures cannot be shown a history those
agencies never saw: a hub restored from an older backup can sign fresh checkpoints with
its real log key, but not the agencies' cosignatures on them.

A cosignature line is `— <name> base64(key id || timestamp || signature)` where the key
id is SHA-256(name || 0x0A || 0x04 || public key)[:4], the timestamp a big-endian u64
of POSIX seconds, and the Ed25519 signature covers
`cosignature/v1\\ntime <timestamp>\\n` followed by the checkpoint's note body. The
signed message starts with a fixed header line, so it can never be mistaken for a
ledger entry (canonical JSON) or a token (base64url) signed by the same agency key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent.checkpoints import _EM_DASH, Checkpoint, _valid_name
from consent.errors import CheckpointInvalid
from keys import canonical

_COSIGNATURE_V1 = b"\x04"
_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1


def witness_name(agency_id: str) -> str:
    """The key name an agency's node cosigns under."""
    return f"pprl-witness/{agency_id}"


def cosignature_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key id of an Ed25519 cosigner key."""
    raw = public_key.public_bytes_raw()
    return hashlib.sha256(name.encode() + b"\n" + _COSIGNATURE_V1 + raw).digest()[:4]


def _message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    return f"{_HEADER}time {timestamp}\n{checkpoint.body()}".encode()


class MessageSigner(Protocol):
    """Anything that signs bytes with the cosigner's Ed25519 key (an agency identity)."""

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of `message`."""
        ...


@dataclass(frozen=True)
class Cosignature:
    """One witness's statement that `checkpoint` is the largest consistent tree it saw."""

    name: str
    timestamp: int
    line: str

    @property
    def at(self) -> datetime:
        """When the witness signed."""
        return datetime.fromtimestamp(self.timestamp, UTC)


def cosign(
    checkpoint: Checkpoint,
    name: str,
    public_key: Ed25519PublicKey,
    signer: MessageSigner,
    *,
    now: datetime | None = None,
) -> Cosignature:
    """A cosignature line on `checkpoint` by `signer`, whose public key is `public_key`."""
    if not _valid_name(name):
        raise CheckpointInvalid("a cosigner name must be non-empty, without spaces or '+'")
    timestamp = int((now or datetime.now(UTC)).timestamp())
    signature = signer.sign(_message(checkpoint, timestamp))
    blob = cosignature_key_id(name, public_key) + timestamp.to_bytes(8, "big") + signature
    return Cosignature(name, timestamp, f"{_EM_DASH} {name} {canonical.b64encode(blob)}")


def open_cosignature(
    line: str, checkpoint: Checkpoint, name: str, public_key: Ed25519PublicKey
) -> Cosignature:
    """Check one cosignature line by `name`'s key on `checkpoint`; raises CheckpointInvalid."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != _EM_DASH or parts[1] != name:
        raise CheckpointInvalid(f"not a signature line by {name}")
    try:
        blob = canonical.b64decode(parts[2])
    except canonical.EncodingError:
        raise CheckpointInvalid("malformed cosignature line") from None
    if len(blob) != 4 + 8 + 64 or blob[:4] != cosignature_key_id(name, public_key):
        raise CheckpointInvalid(f"the cosignature is not by {name}'s current key")
    timestamp = int.from_bytes(blob[4:12], "big")
    if timestamp > _MAX_TIMESTAMP:
        raise CheckpointInvalid("cosignature timestamp out of range")
    try:
        public_key.verify(blob[12:], _message(checkpoint, timestamp))
    except InvalidSignature:
        raise CheckpointInvalid(f"the cosignature by {name} does not verify") from None
    return Cosignature(name, timestamp, line)


def with_cosignatures(note: str, lines: list[str]) -> str:
    """The signed note with cosignature lines added after the log's own signature."""
    if not note.endswith("\n"):
        raise CheckpointInvalid("not a signed note")
    known = set(note.splitlines())
    extra = [line for line in lines if line not in known]
    return note + "".join(f"{line}\n" for line in extra)


def cosigners(
    note: str, checkpoint: Checkpoint, witnesses: Mapping[str, Ed25519PublicKey]
) -> dict[str, Cosignature]:
    """The witnesses (by name) whose valid cosignature the note carries; lines by anyone
    else, or that do not verify, are ignored, as C2SP asks of verifiers."""
    found: dict[str, Cosignature] = {}
    for line in note.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _EM_DASH or parts[1] not in witnesses:
            continue
        try:
            found[parts[1]] = open_cosignature(line, checkpoint, parts[1], witnesses[parts[1]])
        except CheckpointInvalid:
            continue
    return found
