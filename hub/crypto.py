"""Encryption at rest for what only the disclosure path may read: case-manager contact
details and plan milestones. AES-256-GCM with a random nonce; the associated data binds
each ciphertext to its row (agency, record, field), so a ciphertext copied into another
row does not decrypt."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.failures import HubError, IntegrityFault
from keys.files import too_open

_VERSION = b"\x01"
_MAKE_KEY = (
    "Point PPRL_DATA_KEY_FILE at the hub's data key; a new hub makes one with "
    "`head -c 32 /dev/urandom > hub-data.key && chmod 600 hub-data.key` (a lost key "
    "loses the sealed contacts and plans: restore it from backup instead)"
)
_NONCE = 12


class DataKeyError(HubError):
    """The data key file is missing, readable by others, or not 32 bytes."""


class SealedValueAltered(DataKeyError, IntegrityFault):
    """A stored sealed value does not open: it was altered, or moved to another row."""


class DataCipher:
    """Seals and opens small values with the hub's data key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise DataKeyError("the data key must be 32 bytes (AES-256)", _MAKE_KEY, exit_code=2)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "DataCipher(<key hidden>)"

    @classmethod
    def from_file(cls, path: Path) -> DataCipher:
        """Read the key file (raw 32 bytes, mode 0600)."""
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise DataKeyError(
                f"cannot read data key {path}: {exc.strerror}", _MAKE_KEY, exit_code=2
            ) from None
        if too_open(path):
            raise DataKeyError(
                f"data key {path} is readable by other users", f"Run chmod 600 {path}", exit_code=2
            )
        return cls(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Version byte, nonce, ciphertext and tag."""
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, _VERSION + context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The plaintext, or SealedValueAltered if the value was altered or moved."""
        if sealed[:1] != _VERSION or len(sealed) < 1 + _NONCE + 16:
            raise SealedValueAltered("not a sealed value of this version")
        nonce = sealed[1 : 1 + _NONCE]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE :], _VERSION + context)
        except InvalidTag:
            raise SealedValueAltered("a sealed value was altered or moved to another row") from None


def contact_context(agency_id: str, ref: str) -> bytes:
    """Associated data binding a sealed contact to its row."""
    return f"assignment.contact|{agency_id}|{ref}".encode()


def milestone_context(agency_id: str, ref: str, milestone_id: str) -> bytes:
    """Associated data binding a sealed plan milestone to its row."""
    return f"milestone.plan|{agency_id}|{ref}|{milestone_id}".encode()
