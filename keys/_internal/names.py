"""Identifiers for agencies, programs and epochs."""

from __future__ import annotations

import re

# Short, path- and header-safe, and with no room for a person's name to ride along
# (no spaces, 64 characters at most).
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def is_identifier(value: object) -> bool:
    """True for 1-64 characters of letters, digits, `_`, `.`, `-`, starting alphanumeric."""
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None
