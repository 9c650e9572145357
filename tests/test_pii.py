"""The planted-PII check itself: it must see a canary or the secret through every
encoding a leak could use, or the end-to-end test proves nothing."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from tests.pii import CANARY, assert_absent


@pytest.mark.parametrize("before", [b"", b"x", b'{"ref": "', b"\x00\xff\x10"])
def test_the_canary_check_sees_through_encodings(before: bytes) -> None:
    value = CANARY["ssn"].encode()
    leaks = [
        base64.b64encode(before + value + b'"}'),
        base64.urlsafe_b64encode(before + value),
        (before + value).hex().encode(),
        hashlib.sha256(value).hexdigest().encode(),
        b"prefix" + hashlib.sha1(value, usedforsecurity=False).digest(),
        (before + value).decode("latin-1").encode("utf-16-le"),
    ]
    for leak in leaks:
        with pytest.raises(AssertionError):
            assert_absent({"responses": b"..." + leak + b"..."}, [CANARY["ssn"]], b"\x01" * 32)
    assert_absent({"responses": b"".join(leaks)}, [CANARY["address"]], b"\x01" * 32)
    secret = os.urandom(32)
    with pytest.raises(AssertionError):
        assert_absent({"database": before + base64.b64encode(before + secret)}, [], secret)
