"""Signed session cookies and CSRF tokens for the node's pages.

A session is `base64url(json) . base64url(HMAC-SHA256)` under a key that never leaves
the node. It holds the staff id, role, expiry and a random CSRF secret; every form
carries `HMAC(key, "csrf" | csrf secret)` and a POST without the matching value is
refused. Before sign-in, a short-lived pre-session cookie plays the same part for the
sign-in form itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from keys import canonical
from linkage_node.private_files import private_directory

SESSION_COOKIE = "pprl_session"
PRESESSION_COOKIE = "pprl_presession"


@dataclass(frozen=True)
class StaffSession:
    """Who is signed in, until when, and the secret their forms' CSRF tokens derive from."""

    staff_id: str
    role: str
    expires: int
    csrf: str
    username: str = ""
    version: int = 0  # the account's version when signed in (staff_accounts)
    via: str = "local"  # "local" (the node's account store) or "sso" (the state's provider)


def load_or_create_key(path: Path) -> bytes:
    """The node's session key (32 random bytes, mode 0600), created on first use."""
    if not path.exists():
        private_directory(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} is not a 32-byte session key; delete it to make a new one")
    return key


class SessionSigner:
    """Makes and checks the node's cookies and CSRF tokens."""

    def __init__(self, key: bytes, lifetime_seconds: int = 8 * 3600) -> None:
        self._key = key
        self.lifetime = lifetime_seconds

    def _mac(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode()
        return canonical.b64url_encode(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(
        self, staff_id: str, role: str, *, username: str, version: int, via: str = "local"
    ) -> tuple[str, StaffSession]:
        """A fresh session (and its cookie value) for a signed-in staff member."""
        session = StaffSession(
            staff_id,
            role,
            int(time.time()) + self.lifetime,
            secrets.token_urlsafe(24),
            username,
            version,
            via,
        )
        body = canonical.b64url_encode(
            json.dumps(
                {
                    "s": session.staff_id,
                    "r": session.role,
                    "e": session.expires,
                    "c": session.csrf,
                    "u": username,
                    "v": version,
                    "w": via,
                }
            ).encode()
        )
        return f"{body}.{self._mac('session', body)}", session

    def open(self, cookie: str | None) -> StaffSession | None:
        """The session a cookie carries, or None when it is missing, forged or expired."""
        session = self._read(cookie)
        return session if session is not None and session.expires > time.time() else None

    def expired(self, cookie: str | None) -> bool:
        """True for a genuine session cookie past its end: the sign-in page says so."""
        session = self._read(cookie)
        return session is not None and session.expires <= time.time()

    def _read(self, cookie: str | None) -> StaffSession | None:
        if not cookie or cookie.count(".") != 1:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            data = json.loads(canonical.b64url_decode(body))
            session = StaffSession(
                str(data["s"]),
                str(data["r"]),
                int(data["e"]),
                str(data["c"]),
                str(data["u"]),
                int(data["v"]),
                str(data.get("w", "local")),
            )
        except (ValueError, KeyError, TypeError, canonical.EncodingError):
            return None
        return session

    @property
    def cookie_max_age(self) -> int:
        """How long browsers keep the cookie: half a day past the session's end, so a
        page asked for after it can say "your session expired" instead of nothing."""
        return self.lifetime + 12 * 3600

    def subkey(self, label: str) -> bytes:
        """A key for another purpose (the pending single sign-on), derived from this one."""
        return hmac.new(self._key, f"subkey\x1f{label}".encode(), hashlib.sha256).digest()

    def csrf_token(self, secret: str) -> str:
        """The token forms carry for a session's (or pre-session's) CSRF secret."""
        return self._mac("csrf", secret)

    def check_csrf(self, secret: str | None, token: str | None) -> bool:
        """Constant-time check of a submitted token."""
        if not secret or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(secret))
