"""A local operator identity provider: an Ed25519 key and its JWKS document.

Production hubs point at their organisation's OIDC provider (its JWKS saved to a file).
Development, the demo and the tests use this one, which the hub verifies through exactly
the same JWKS path. Files: `issuer.pem` (private, 0600) and `jwks.json` (public).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys import canonical
from keys._internal.fingerprint import key_id
from keys.errors import KeyFileError
from keys.files import too_open, write_private, write_public
from keys.tokens import DEFAULT_LIFETIME, HUB_ROLES, Role, _encode

PRIVATE_FILE = "issuer.pem"
JWKS_FILE = "jwks.json"


@dataclass(frozen=True)
class LocalIssuer:
    """An issuer URL and its signing key."""

    issuer: str
    key: Ed25519PrivateKey = field(repr=False)

    @property
    def kid(self) -> str:
        """The key's id in the JWKS."""
        return key_id("ed25519", self.key.public_key().public_bytes_raw())

    def jwks(self) -> dict[str, Any]:
        """The public key set, as an OIDC provider publishes it."""
        raw = self.key.public_key().public_bytes_raw()
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": canonical.b64url_encode(raw),
                    "kid": self.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }
            ]
        }

    def issue(
        self,
        *,
        subject: str,
        audience: str,
        roles: Iterable[Role],
        lifetime: timedelta = DEFAULT_LIFETIME,
        now: datetime | None = None,
    ) -> str:
        """A token for an operator or auditor."""
        return _encode(
            self.key,
            self.kid,
            issuer=self.issuer,
            subject=subject,
            audience=audience,
            roles=roles,
            lifetime=lifetime,
            now=now,
            grantable=HUB_ROLES,
        )

    @classmethod
    def create(cls, issuer: str) -> LocalIssuer:
        """A new issuer with a fresh key."""
        return cls(issuer, Ed25519PrivateKey.generate())

    def save(self, directory: Path) -> None:
        """Write `issuer.pem` (0600) and `jwks.json`; never overwrites."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            write_private(directory / PRIVATE_FILE, f"# issuer: {self.issuer}\n".encode() + pem)
            write_public(directory / JWKS_FILE, json.dumps(self.jwks(), indent=2).encode() + b"\n")
        except FileExistsError as exc:
            raise KeyFileError(str(exc), "already exists", "Choose another directory.") from None

    @classmethod
    def load(cls, directory: Path) -> LocalIssuer:
        """Read an issuer written by `save`."""
        path = directory / PRIVATE_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(
                str(path), exc.strerror or "unreadable", "Check --issuer-dir.", exit_code=2
            ) from None
        if too_open(path):
            raise KeyFileError(str(path), "is readable by other users", f"Run `chmod 600 {path}`.")
        first, _, pem = data.partition(b"\n")
        if not first.startswith(b"# issuer: "):
            raise KeyFileError(str(path), "is not an issuer key", "Use `pprl keys init-issuer`.")
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(str(path), "is not an Ed25519 key", "Use `pprl keys init-issuer`.")
        return cls(first.removeprefix(b"# issuer: ").decode(), key)
