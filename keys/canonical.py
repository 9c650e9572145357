"""Canonical bytes for signing (RFC 8785) and strict decoders: base64 that rejects
non-canonical input, JSON that rejects duplicate keys. Shared by `keys` and `consent`."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import rfc8785


class EncodingError(ValueError):
    """Raised by the strict decoders; callers wrap it in their own package error."""


def b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode standard base64, refusing anything that does not re-encode to itself.

    Accepting non-canonical base64 (stray characters, non-zero padding bits) would let
    two different byte strings stand for one value, which breaks "any flipped byte is
    detected".
    """
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise EncodingError("not valid base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise EncodingError("not canonical base64")
    return data


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing padding and non-canonical forms."""
    if "=" in text:
        raise EncodingError("base64url must not be padded")
    try:
        data = base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise EncodingError("not valid base64url") from exc
    if b64url_encode(data) != text:
        raise EncodingError("not canonical base64url")
    return data


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise EncodingError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise EncodingError(f"{name} is not JSON")


def strict_json_loads(data: bytes | str) -> Any:
    """Parse JSON rejecting duplicate keys and NaN/Infinity, so that what a verifier
    reads is exactly what a signer canonicalised."""
    try:
        return json.loads(
            data, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except EncodingError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise EncodingError("not valid JSON") from exc


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EncodingError(f"cannot canonicalise: {exc}") from exc
