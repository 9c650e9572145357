"""Small values a service hands a browser and must get back unchanged (a pending sign-in,
a page session): JSON, base64url, and an HMAC-SHA256 under the service's key with a
label, so a value made for one purpose never passes for another."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from keys import canonical


def _mac(key: bytes, label: str, body: str) -> str:
    digest = hmac.new(key, f"{label}\x1f{body}".encode(), hashlib.sha256).digest()
    return canonical.b64url_encode(digest)


def sign(key: bytes, label: str, payload: Any) -> str:
    """`body.mac` for a JSON-serialisable `payload`."""
    body = canonical.b64url_encode(json.dumps(payload).encode())
    return f"{body}.{_mac(key, label, body)}"


def unsign(key: bytes, label: str, value: str | None) -> Any:
    """The payload of a value `sign` made with this key and label; None for anything
    else (missing, altered, another label), checked in constant time."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(key, label, body)):
        return None
    try:
        return json.loads(canonical.b64url_decode(body))
    except (ValueError, canonical.EncodingError):
        return None
