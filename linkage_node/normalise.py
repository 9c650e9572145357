"""Normalisation applied to every identifier before it is hashed, identically at every
agency. Its version is part of the schema fingerprint: change anything here and the
version must change, so nodes on different rules can never link silently.

Version 2 (version 1 lost letters without a Unicode decomposition: "Đặng" became "ang",
"Łukasz" "ukasz", so they never matched the ASCII spelling another agency typed):

- names: transliterated to ASCII by `anyascii` (pinned: its table is part of this
  version), so accents go and Đ, Ø, Ł, Æ, ß become D, O, L, AE, ss; case folded; titles
  (mr, mrs, ms, miss, dr) and generational suffixes (jr, sr, ii, iii, iv) dropped as
  whole words; then every character that is not a-z removed, spaces included, so that
  "O'Neill-Smith", "o neill smith" and "ONEILLSMITH" are one name.
- dates: parsed from the agency's configured formats (default ISO 8601 and US
  MM/DD/YYYY) to ISO YYYY-MM-DD.
- sex: M/MALE -> m, F/FEMALE -> f; anything else is treated as unknown.
- SSN: digits only, exactly nine, with known-invalid numbers refused (area 000, 666 or
  900-999, group 00, serial 0000, and numbers published in advertising).
- ZIP: the first five digits. Phone: ten digits (a leading US country code 1 dropped).
- address and city: like names, but digits kept and street words abbreviated
  (street -> st, avenue -> ave, ...), words separated by one space.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from anyascii import anyascii

NORMALISATION_VERSION = "pprl-normalisation-2"

DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "boulevard": "blvd",
    "court": "ct",
    "place": "pl",
    "apartment": "apt",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
_WORD = re.compile(r"[a-z0-9]+")
# Numbers that are well-formed but never issued: advertising samples and the like.
_PUBLISHED_SSNS = frozenset({"078051120", "219099999", "123456789", "111111111", "987654320"})


_NOT_LETTER = re.compile(r"[^a-z]")
_SSN_SEPARATORS = re.compile(r"[\s-]")
_NOT_DIGIT = re.compile(r"\D")
_ZIP = re.compile(r"\d{5}(-?\d{4})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _fold(text: str) -> str:
    if text.isascii():  # nothing to transliterate: the common case, done in C
        return text.lower()
    # anyascii maps every code point on its own (no dropped letters, no guessing of the
    # language), which is what two agencies typing one name differently need.
    return anyascii(text).lower()


def normalise_name(text: str) -> str:
    """A name as letters a-z only (see the module notes)."""
    words = _WORD.findall(_fold(text).replace("'", ""))
    kept = [w for w in words if w not in _TITLES and w not in _SUFFIXES] or words
    return _NOT_LETTER.sub("", "".join(kept))


def parse_date(text: str, formats: tuple[str, ...] = DEFAULT_DATE_FORMATS) -> date | None:
    """The date in `text` under the first matching format, or None."""
    value = text.strip()
    if formats and formats[0] == "%Y-%m-%d" and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)  # what strptime would give, in C
        except ValueError:
            return _strptime_any(value, formats[1:])
    return _strptime_any(value, formats)


def _strptime_any(value: str, formats: tuple[str, ...]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007  (a calendar date)
        except ValueError:
            continue
    return None


def normalise_sex(text: str) -> str | None:
    """'m', 'f', '' for an empty cell, or None for a code we do not know."""
    value = text.strip().casefold()
    if not value:
        return ""
    return {"m": "m", "male": "m", "f": "f", "female": "f"}.get(value)


def ssn_digits(text: str) -> str | None:
    """Nine digits, or None if the cell has another shape."""
    digits = _SSN_SEPARATORS.sub("", text)
    return digits if len(digits) == 9 and digits.isdigit() else None


def ssn_is_known_invalid(digits: str) -> bool:
    """True for SSNs the SSA never issues."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area in ("000", "666")
        or area >= "900"
        or group == "00"
        or serial == "0000"
        or digits in _PUBLISHED_SSNS
    )


def normalise_zip(text: str) -> str | None:
    """The five-digit ZIP code, or None if the cell is not a ZIP or ZIP+4."""
    value = text.strip()
    if _ZIP.fullmatch(value):
        return value[:5]
    return None


def normalise_phone(text: str) -> str | None:
    """Ten digits, or None."""
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


def normalise_address(text: str) -> str:
    """Lower-case words, street words abbreviated, one space between words."""
    words = _WORD.findall(_fold(text).replace("'", ""))
    return " ".join(_STREET_WORDS.get(w, w) for w in words)


def normalise_city(text: str) -> str:
    """Like a name, but with the words kept apart."""
    return " ".join(_WORD.findall(_fold(text).replace("'", "")))
