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


_MAX_EXACT_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    """True when JCS and Python's sorted compact json.dumps agree on `value` byte for byte:
    no floats (JCS formats numbers as ECMAScript does), integers exactly representable as
    doubles, and ASCII object keys (JCS sorts keys by UTF-16 code units, Python by code
    points; the two orders differ only outside ASCII). String escaping is the same:
    both escape only quote, backslash and control characters, with the same short forms
    and lower-case \\u00xx."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical bytes of a JSON value."""
    if _plain(value):
        try:
            return json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 refuse it
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EncodingError(f"cannot canonicalise: {exc}") from exc
