"""Pseudonymous record references: HMAC-SHA256(agency-local key, record_id).

The hub sees only these, never an agency's case numbers. The key never leaves the node
(it is not the linkage secret, and no other agency has it), so nobody but the agency can
turn a reference back into a case number, and the node keeps that mapping in its state.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from keys.files import too_open, write_private
from linkage_node.errors import StateError

REF_KEY_BYTES = 32


class RefKey:
    """The node's local reference key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != REF_KEY_BYTES:
            raise StateError("the record-reference key must be 32 bytes", "Restore it from backup.")
        self._key = key

    def __repr__(self) -> str:
        return "RefKey(<hidden>)"

    def ref(self, record_id: str) -> str:
        """The record's pseudonymous reference (64 hex digits)."""
        return hmac.new(self._key, record_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of `message` under this key (callers prefix their own label, so
        no value made for one purpose can pass for another's)."""
        return hmac.new(self._key, message, hashlib.sha256).digest()

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool) -> RefKey:
        """Read the key, or make one when `create` (a new node's first run)."""
        if path.exists():
            if too_open(path):
                raise StateError(f"{path} is readable by other users", f"Run `chmod 600 {path}`.")
            return cls(path.read_bytes())
        if not create:
            raise StateError(
                f"the record-reference key {path} is missing but the node has state",
                "Restore the key from backup: a new key would make every record look new "
                "to the hub and break existing links and consents.",
            )
        made = cls.generate()
        made.save(path)
        return made

    @classmethod
    def generate(cls) -> RefKey:
        """A new random key (a new node's first run), not yet saved."""
        return cls(os.urandom(REF_KEY_BYTES))

    def save(self, path: Path) -> None:
        """Write the key, owner-readable only; never over an existing one."""
        write_private(path, self._key)
