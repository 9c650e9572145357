"""Identifiers for agencies, programs, epochs and staff."""

from __future__ import annotations

import re

# Short, path- and header-safe, and with no room for a person's name to ride along
# (no spaces, 64 characters at most).
IDENTIFIER_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
# Staff ids as agencies issue them: an optional short letter prefix and a number
# ("cm-0042", "E004512", "77"). The required digits and the length limits keep a name
# ("Jane Doe", "jane.doe", "JaneDoe") out of every place a staff id goes.
STAFF_ID_PATTERN = r"[A-Za-z]{0,8}[-_.]?[0-9]{1,16}"
_STAFF_ID = re.compile(STAFF_ID_PATTERN)


def is_identifier(value: object) -> bool:
    """True for 1-64 characters of letters, digits, `_`, `.`, `-`, starting alphanumeric."""
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def is_staff_id(value: object) -> bool:
    """True for a staff id: up to 8 letters, an optional separator, 1-16 digits."""
    return isinstance(value, str) and _STAFF_ID.fullmatch(value) is not None
