"""Signing an entry and reading a stored leaf: the canonical bytes that were signed, a
newline and the base64 signature, never re-serialised."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from consent._internal.merkle import leaf_hash
from consent.entries import AnyEntry, validate_entry
from consent.errors import EntryInvalid
from keys import canonical


class EntrySigner(Protocol):
    """Anything that signs with an Ed25519 key: an agency identity or the hub's log key."""

    @property
    def signing_key_id(self) -> str:
        """Fingerprint of the public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of `message`."""
        ...


@dataclass(frozen=True)
class SignedEntry:
    """An entry with its exact signed bytes and signature: one ledger leaf."""

    entry: AnyEntry
    entry_bytes: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def leaf(self) -> bytes:
        """The bytes the Merkle tree commits to."""
        return self.entry_bytes + b"\n" + canonical.b64encode(self.signature).encode("ascii")

    @cached_property
    def leaf_hash(self) -> bytes:
        """RFC 9162 leaf hash of `leaf`."""
        return leaf_hash(self.leaf)


def sign_entry(entry: AnyEntry, signer: EntrySigner) -> SignedEntry:
    """Sign the canonical bytes of `entry` (whose key_id must be the signer's)."""
    if entry.key_id != signer.signing_key_id:
        raise EntryInvalid("key_id", "is not the id of the key signing the entry")
    entry_bytes = canonical.canonical_json(entry.model_dump(mode="json", exclude_none=True))
    return SignedEntry(entry, entry_bytes, signer.sign(entry_bytes))


def parse_leaf(leaf: bytes) -> SignedEntry:
    """Parse a stored leaf strictly. The signature is not checked here (see ConsentState)."""
    if leaf.count(b"\n") != 1:
        raise EntryInvalid("leaf", "must be canonical JSON, a newline and a signature")
    entry_bytes, sig_text = leaf.split(b"\n")
    try:
        data = canonical.strict_json_loads(entry_bytes)
        signature = canonical.b64decode(sig_text.decode("ascii"))
    except (canonical.EncodingError, UnicodeDecodeError) as exc:
        raise EntryInvalid("leaf", str(exc)) from None
    if not isinstance(data, dict):
        raise EntryInvalid("leaf", "entry must be a JSON object")
    if len(signature) != 64:
        raise EntryInvalid("signature", "must be 64 bytes (Ed25519)")
    entry = validate_entry(data)
    if canonical.canonical_json(entry.model_dump(mode="json", exclude_none=True)) != entry_bytes:
        raise EntryInvalid("leaf", "entry bytes are not in canonical form")
    return SignedEntry(entry, entry_bytes, signature)
