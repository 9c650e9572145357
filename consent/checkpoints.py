"""Checkpoints in the C2SP signed-note format, the log's key, and a witness.

A checkpoint (C2SP tlog-checkpoint) is the note text

    <origin>\\n<tree size>\\n<base64 root hash>\\n

signed per C2SP signed-note: a blank line, then `— <key name> <base64(key id || sig)>`,
where the 4-byte key id is SHA-256(key name || 0x0A || 0x01 || public key)[:4] and the
Ed25519 signature covers the text including its final newline. Verifiers ignore
signature lines from keys they do not know (witness cosignatures), and need one good
signature from the log key.

A witness (each agency node runs one) remembers the newest checkpoint it accepted and
takes a larger one only with a valid consistency proof. A smaller size is a rollback; a
different root at the same size, or an inconsistent larger tree, is a second history.
Either way both signed notes are kept as evidence: together they prove the hub lied.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent._internal.merkle import HASH_SIZE, ProofError, verify_consistency
from consent.errors import CheckpointInvalid, ProofInvalid, WitnessAlarm
from keys import KeyFileError, canonical, public_key_id
from keys.files import too_open, write_private, write_public

_EM_DASH = "\u2014"
_ED25519 = b"\x01"
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 100


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c == "+" for c in name) and name.isprintable()


def note_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The C2SP signed-note key id of an Ed25519 key."""
    return hashlib.sha256(
        name.encode() + b"\n" + _ED25519 + public_key.public_bytes_raw()
    ).digest()[:4]


@dataclass(frozen=True)
class LogVerifier:
    """The public half of the log key, as published by the hub (a C2SP verifier key)."""

    name: str
    public_key: Ed25519PublicKey = field(repr=False)

    @property
    def signing_key_id(self) -> str:
        """The `key_id` of ledger entries the hub signs."""
        return public_key_id("ed25519", self.public_key.public_bytes_raw())

    def vkey(self) -> str:
        """`<name>+<hex key id>+<base64(0x01 || public key)>`."""
        raw = _ED25519 + self.public_key.public_bytes_raw()
        kid = note_key_id(self.name, self.public_key).hex()
        return f"{self.name}+{kid}+{canonical.b64encode(raw)}"

    @classmethod
    def from_vkey(cls, text: str) -> LogVerifier:
        """Parse a verifier key, checking that its key id matches its key."""
        parts = text.strip().split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3 or not _valid_name(parts[0]):
            raise CheckpointInvalid("log verifier key must be <name>+<key id>+<key>")
        name, kid, key = parts
        try:
            raw = canonical.b64decode(key)
        except canonical.EncodingError as exc:
            raise CheckpointInvalid(f"log verifier key: {exc}") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise CheckpointInvalid("log verifier key is not an Ed25519 key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if note_key_id(name, verifier.public_key).hex() != kid:
            raise CheckpointInvalid("log verifier key id does not match its key")
        return verifier


@dataclass(frozen=True)
class LogKey:
    """The hub's private log key: signs checkpoints and the hub's own ledger entries."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise CheckpointInvalid("log key name must be non-empty, without spaces or '+'")

    @classmethod
    def generate(cls, name: str) -> LogKey:
        """A fresh log key named `name` (conventionally the log's origin)."""
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> LogVerifier:
        """The public half."""
        return LogVerifier(self.name, self.private_key.public_key())

    @property
    def signing_key_id(self) -> str:
        """The `key_id` of ledger entries this key signs."""
        return self.verifier.signing_key_id

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of `message`."""
        return self.private_key.sign(message)

    def save(self, path: Path) -> None:
        """Private key to `path` (0600, PKCS#8 PEM, the name in a comment line); the
        verifier key next to it as `<path>.vkey`."""
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            write_private(path, f"# pprl log key: {self.name}\n".encode() + pem)
            write_public(
                path.with_name(path.name + ".vkey"), (self.verifier.vkey() + "\n").encode()
            )
        except FileExistsError as exc:
            raise KeyFileError(
                str(exc), "already exists", "Log keys are never overwritten."
            ) from None

    @classmethod
    def load(cls, path: Path) -> LogKey:
        """Read a key written by `save`."""
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(
                str(path), exc.strerror or "unreadable", "Check the path.", exit_code=2
            ) from None
        if too_open(path):
            raise KeyFileError(str(path), "is readable by other users", f"Run `chmod 600 {path}`.")
        first, _, pem = text.partition(b"\n")
        if not first.startswith(b"# pprl log key: "):
            raise KeyFileError(str(path), "is not a pprl log key", "Use `pprl hub init-log-key`.")
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(str(path), "cannot be read", "Restore it from backup.") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(str(path), "is not an Ed25519 key", "Restore it from backup.")
        return cls(first.removeprefix(b"# pprl log key: ").decode(), key)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The note text a signature covers."""
        return f"{self.origin}\n{self.size}\n{canonical.b64encode(self.root)}\n"


def sign_checkpoint(checkpoint: Checkpoint, key: LogKey) -> str:
    """The checkpoint as a signed note."""
    if not _valid_name(checkpoint.origin) or len(checkpoint.root) != HASH_SIZE:
        raise CheckpointInvalid("a checkpoint needs a valid origin and a 32-byte root")
    body = checkpoint.body()
    signature = key.sign(body.encode())
    kid = note_key_id(key.name, key.private_key.public_key())
    return f"{body}\n{_EM_DASH} {key.name} {canonical.b64encode(kid + signature)}\n"


def open_checkpoint(note: str, verifier: LogVerifier, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint note and parse it; raises CheckpointInvalid."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise CheckpointInvalid("checkpoint note is too large")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise CheckpointInvalid("not a signed note (no blank line before signatures)")
    body, signatures = note[: split + 1], note[split + 2 :].splitlines()
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise CheckpointInvalid("a signed note carries 1 to 100 signature lines")
    expected_kid = note_key_id(verifier.name, verifier.public_key)
    verified = False
    for line in signatures:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _EM_DASH or not _valid_name(parts[1]):
            raise CheckpointInvalid("malformed signature line")
        try:
            blob = canonical.b64decode(parts[2])
        except canonical.EncodingError:
            raise CheckpointInvalid("malformed signature line") from None
        if parts[1] != verifier.name or blob[:4] != expected_kid:
            continue  # someone else's cosignature
        try:
            verifier.public_key.verify(blob[4:], body.encode())
        except InvalidSignature:
            raise CheckpointInvalid(
                "the log's signature on the checkpoint does not verify"
            ) from None
        verified = True
        break
    if not verified:
        raise CheckpointInvalid(f"the checkpoint is not signed by log key {verifier.name}")
    return _parse_body(body, origin or verifier.name)


def _parse_body(body: str, origin: str) -> Checkpoint:
    lines = body.split("\n")[:-1]
    if len(lines) != 3:
        raise CheckpointInvalid("a checkpoint has exactly three lines: origin, size, root")
    name, size_text, root_text = lines
    if name != origin:
        raise CheckpointInvalid(f"checkpoint is for log {name!r}, not {origin!r}")
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointInvalid("checkpoint size is not a decimal number")
    try:
        root = canonical.b64decode(root_text)
    except canonical.EncodingError:
        raise CheckpointInvalid("checkpoint root is not base64") from None
    if len(root) != HASH_SIZE:
        raise CheckpointInvalid("checkpoint root is not a SHA-256 hash")
    return Checkpoint(name, int(size_text), root)


def extension_problem(
    old: Checkpoint, new: Checkpoint, consistency_proof: list[bytes]
) -> tuple[str, str] | None:
    """Why `new` is not a view of the same log that `old` was (kind, words), or None.

    Kinds: `rollback` (a smaller tree after a larger one), `split-view` (two roots of one
    size) and `inconsistent` (a larger tree not proven to contain the older one). The
    same size with the same root is no problem; a smaller size always is, because a log
    shows its newest checkpoint.
    """
    if new.size < old.size:
        return "rollback", f"rollback: the log showed size {new.size} after size {old.size}"
    if new.size == old.size:
        if new.root != old.root:
            return "split-view", f"split view: two different trees of size {new.size}"
        return None
    try:
        verify_consistency(old.size, new.size, old.root, new.root, consistency_proof)
    except ProofError as exc:
        return "inconsistent", f"size {new.size} is not proven to extend size {old.size}: {exc}"
    return None


class Witness:
    """Remembers the newest checkpoint accepted and refuses to go back or fork.

    State lives in one JSON file (written atomically); evidence of misbehaviour goes
    next to it as `evidence-<time>.json`.
    """

    def __init__(self, state_path: Path, verifier: LogVerifier) -> None:
        self._path = state_path
        self._verifier = verifier

    def latest(self) -> tuple[Checkpoint, str] | None:
        """The accepted checkpoint and its note, or None before the first."""
        try:
            doc = json.loads(self._path.read_text())
        except FileNotFoundError:
            return None
        note = doc["note"]
        return open_checkpoint(note, self._verifier), note

    def update(self, note: str, consistency_proof: list[bytes]) -> Checkpoint:
        """Accept `note` if it extends the remembered checkpoint; else raise and keep
        evidence. The first checkpoint is accepted on its signature alone."""
        new = open_checkpoint(note, self._verifier)
        known = self.latest()
        if known is None:
            self._store(note)
            return new
        old, old_note = known
        problem = extension_problem(old, new, consistency_proof)
        if problem is None:
            if new.size > old.size:
                self._store(note)
            return new
        kind, what = problem
        path = self._evidence(kind, old_note, note)
        if kind == "inconsistent":
            raise ProofInvalid(f"{what} (both checkpoints kept in {path})")
        raise WitnessAlarm(what, path, kind=kind)

    def _store(self, note: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_public(self._path, json.dumps({"note": note}).encode(), overwrite=True)

    def _evidence(self, kind: str, first: str, second: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self._path.with_name(f"evidence-{kind}-{stamp}.json")
        write_public(path, json.dumps({"kind": kind, "first": first, "second": second}).encode())
        return str(path)
