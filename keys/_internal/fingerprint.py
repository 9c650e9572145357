"""Key ids: fingerprints of raw public keys."""

from __future__ import annotations

import hashlib

# 128 bits of SHA-256: collisions are out of reach, and every check that matters uses the
# full public key the id points to, never the id alone.
_FINGERPRINT_HEX = 32


def key_id(kind: str, raw_public_key: bytes) -> str:
    """`<kind>:<first 128 bits of SHA-256(kind NUL raw key), hex>`.

    The kind is hashed in so that the same 32 bytes used as an Ed25519 key and as an
    X25519 key get different ids.
    """
    digest = hashlib.sha256(kind.encode("ascii") + b"\x00" + raw_public_key).hexdigest()
    return f"{kind}:{digest[:_FINGERPRINT_HEX]}"
