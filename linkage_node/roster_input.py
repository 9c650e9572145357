"""Reading an agency's export as rows of text cells, whatever produced it.

Case-management systems and the spreadsheets stewards keep export CSV with commas,
semicolons (Excel in much of Europe and Latin America), tabs or pipes; in UTF-8 or in
the machine's code page; or as .xlsx. This module finds out which, reads it as rows of
strings, and refuses what it cannot read with what to do about it. It never returns or
prints a cell value in an error (header names are not client data and are named).

- Spreadsheets (.xlsx, .xlsm, .xls, .ods) are read with python-calamine (a Rust reader:
  fast, no formula evaluation, no macros run). The first sheet is the roster; dates
  become ISO dates and whole numbers lose the ".0" a spreadsheet stores them with.
- Text must decode under `encoding` (default UTF-8, a byte-order mark allowed); when it
  does not, the error names the first bad line and the likely encoding.
- The delimiter is the candidate under which the header names the most expected
  columns (then: gives the most fields); `delimiter` overrides it.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from linkage_node.errors import RosterError

DELIMITERS = (",", ";", "\t", "|")
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_SAMPLE = 1 << 16
_SEPARATORS = re.compile(r"[\s_\-.]+")


@dataclass
class Table:
    """An export opened for reading: its header and an iterator of (line, cells).

    `cells` is None for a line that is not a well-formed CSV record (an unclosed quote,
    an over-long field). `line` is the 1-based line (CSV) or row (spreadsheet)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str] | None]]
    kind: str  # "csv" or "spreadsheet"


def header_key(name: str) -> str:
    """A header name compared without case, spaces, underscores, hyphens or dots:
    "Record ID", "record_id" and "RECORD-ID" are one column."""
    return _SEPARATORS.sub("", name.strip().casefold())


def find_columns(
    path: Path,
    header: Sequence[str],
    wanted: dict[str, str],
    required: Sequence[str],
    *,
    fix: str = "Rename the column in the export or map it with --mapping",
) -> dict[str, int | None]:
    """Positions of each wanted column (name -> header name to look for) in `header`;
    a missing required column is an error with a "did you mean" hint and `fix` (only
    the roster takes a --mapping)."""
    index: dict[str, int] = {}
    for place, name in enumerate(header):
        index.setdefault(header_key(name), place)
    positions: dict[str, int | None] = {}
    for column, source in wanted.items():
        position: int | None = index.get(header_key(source))
        if position is None and column in required:
            raise RosterError(
                str(path),
                f"has no column {source!r} (needed for {column})",
                _did_you_mean(source, header) + fix,
            )
        positions[column] = position
    return positions


# Names exports commonly use for the roster's columns: suggested, never assumed.
_ALIASES = {
    "recordid": ("case number", "case id", "client id", "person id", "caseno", "id"),
    "givenname": ("first name", "firstname", "forename", "fname"),
    "familyname": ("last name", "lastname", "surname", "lname"),
    "dateofbirth": ("dob", "birth date", "birthdate", "born"),
}


def _did_you_mean(source: str, header: Sequence[str]) -> str:
    wanted = header_key(source)
    words = set(_SEPARATORS.split(source.casefold())) - {""}
    aliases = {header_key(a) for a in _ALIASES.get(wanted, ())}

    def score(name: str) -> float:
        key = header_key(name)
        if key in aliases:
            return 1.0
        theirs = set(_SEPARATORS.split(name.casefold())) - {""}
        overlap = len(words & theirs) / len(words | theirs) if words | theirs else 0.0
        return max(difflib.SequenceMatcher(None, wanted, key).ratio(), overlap)

    names = [name for name in header if name.strip()]
    best = max(names, key=score, default=None)
    if best is not None and score(best) >= 0.6:
        return f"Did you mean {best!r}? "
    shown = ", ".join(repr(name) for name in names[:8])
    return f"The header has {shown}. " if shown else ""


@contextmanager
def open_table(
    path: Path,
    *,
    expected: Sequence[str] = (),
    delimiter: str | None = None,
    encoding: str = "utf-8",
    option: str = "the roster's path",
) -> Iterator[Table]:
    """Open a CSV or spreadsheet export (see the module notes). `expected` are header
    names that help choose the delimiter."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SAMPLE)
    except IsADirectoryError:
        raise RosterError(str(path), "is a folder", "Name the export file itself") from None
    except OSError as exc:
        raise RosterError(
            str(path), (exc.strerror or "cannot be opened").lower(), f"Check {option}", exit_code=2
        ) from None
    if path.suffix.lower() in SPREADSHEET_SUFFIXES or head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        yield _spreadsheet(path, head)
        return
    _refuse_binary(path, head, encoding)
    codec = _codec(encoding)
    _check_decodes(path, codec)
    with path.open(encoding=codec, newline="") as text:
        first = text.readline()
        if not first.strip():
            raise RosterError(str(path), "is empty", "Export the roster with a header row")
        chosen = delimiter or _choose_delimiter(first, expected)
        text.seek(0)
        reader = csv.reader(text, delimiter=chosen)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise RosterError(
                str(path), f"the header is not CSV ({exc})", "Export as CSV UTF-8"
            ) from None
        yield Table(header, _csv_rows(reader), "csv")


def _codec(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise RosterError(
            "--encoding",
            f"{encoding!r} is not an encoding Python knows",
            "E.g. utf-8 or cp1252",
            exit_code=2,
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


def _refuse_binary(path: Path, head: bytes, encoding: str) -> None:
    if head.startswith(_UTF16_BOMS) and not _codec(encoding).startswith("utf-16"):
        raise RosterError(
            str(path),
            "is UTF-16 text",
            "Re-save it as 'CSV UTF-8', or pass --encoding utf-16",
        )
    if head.startswith(b"%PDF"):
        raise RosterError(str(path), "is a PDF, not a roster export", "Export the roster as CSV")
    if b"\x00" in head and not _codec(encoding).startswith(("utf-16", "utf-32")):
        raise RosterError(
            str(path),
            "is a binary file, not a CSV export",
            "Export the roster from the case-management system as 'CSV UTF-8' or .xlsx",
        )


def _check_decodes(path: Path, codec: str) -> None:
    """Decode the whole file once, so a bad byte is found before any row is used."""
    decoder = codecs.getincrementaldecoder(codec)()
    newlines = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(1 << 20)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                line = newlines + block.count(b"\n", 0, max(exc.start, 0)) + 1
                raise RosterError(
                    str(path),
                    f"line {line} is not valid {_label(codec)}{_guess(path)}",
                    "Re-save the export as 'CSV UTF-8' (Excel: Save As > CSV UTF-8), or "
                    f"pass the file's encoding with --encoding{_guess_option(path)}",
                ) from None
            if not block:
                return
            newlines += block.count(b"\n")


def _label(codec: str) -> str:
    return "UTF-8" if codec == "utf-8-sig" else codec


def _likely_encoding(path: Path) -> str | None:
    data = path.read_bytes()[: 1 << 22]
    for candidate in ("cp1252", "latin-1"):
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return None


def _guess(path: Path) -> str:
    names = {"cp1252": "Windows-1252 (Excel's 'CSV' on Windows)", "latin-1": "ISO-8859-1"}
    likely = _likely_encoding(path)
    return f": it looks like {names[likely]}" if likely else ""


def _guess_option(path: Path) -> str:
    likely = _likely_encoding(path)
    return f" {likely}" if likely else ""


def _choose_delimiter(first_line: str, expected: Sequence[str]) -> str:
    keys = {header_key(name) for name in expected}

    def score(candidate: str) -> tuple[int, int]:
        try:
            cells = next(csv.reader([first_line], delimiter=candidate))
        except (csv.Error, StopIteration):
            return (0, 0)
        return (sum(header_key(cell) in keys for cell in cells), len(cells))

    return max(DELIMITERS, key=score)


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str] | None]]:
    line_num = getattr(reader, "line_num", 1)
    line = line_num + 1
    while True:
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row = None
        if row != []:  # a blank line is not a record
            yield line, row
        line = getattr(reader, "line_num", line) + 1


def _spreadsheet(path: Path, head: bytes) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        kind = "a ZIP archive" if head.startswith(_ZIP_MAGIC) else "a spreadsheet"
        raise RosterError(
            str(path),
            f"is {kind} that cannot be read as a workbook ({type(exc).__name__})",
            "Open it in the spreadsheet program and save it as 'CSV UTF-8', then use that file",
        ) from None
    if not rows or not any(_cell(value) for value in rows[0]):
        raise RosterError(
            str(path), "its first sheet has no header row", "Put the roster on the first sheet"
        )
    header = [_cell(value) for value in rows[0]]
    width = len(header)

    def body() -> Iterator[tuple[int, list[str] | None]]:
        for number, values in enumerate(rows[1:], start=2):
            cells = [_cell(value) for value in values]
            if not any(cells):
                continue  # an empty row is not a record
            if len(cells) > width and not any(cells[width:]):
                cells = cells[:width]
            yield number, cells + [""] * (width - len(cells))

    return Table(header, body(), "spreadsheet")


def _cell(value: object) -> str:
    """A spreadsheet value as the text a CSV export would have held."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value).strip()
