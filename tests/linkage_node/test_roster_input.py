"""Exports as stewards really have them: Excel's semicolons, upper-case headers, .xlsx,
Windows code pages, and files that are not rosters at all."""

from __future__ import annotations

import datetime
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from linkage_node import RosterError, validate_roster
from pprl.cli import app

ROWS = [
    ("R1", "José", "García", "1990-04-12", "123-45-6780"),
    ("R2", "Ana", "Diaz", "1985-11-02", ""),
]


def _csv(path: Path, delimiter: str, header: tuple[str, ...], encoding: str = "utf-8") -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in ROWS]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


DEFAULT = ("record_id", "given_name", "family_name", "date_of_birth", "ssn")
EXCEL = ("RECORD ID", "Given Name", "FAMILY_NAME", "Date-Of-Birth", "SSN")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_usual_delimiter_is_recognised(tmp_path: Path, delimiter: str) -> None:
    result = validate_roster(_csv(tmp_path / "r.csv", delimiter, DEFAULT))
    assert [r.record_id for r in result.records] == ["R1", "R2"]
    assert result.records[0].ssn == "123456780"


def test_headers_match_without_case_or_spacing(tmp_path: Path) -> None:
    result = validate_roster(_csv(tmp_path / "r.csv", ";", EXCEL))
    assert (result.rejected, result.records[0].family_name) == (0, "garcia")


def test_an_explicit_delimiter_overrides_the_guess(tmp_path: Path) -> None:
    path = _csv(tmp_path / "r.csv", ";", DEFAULT)
    with pytest.raises(RosterError, match="has no column 'record_id'"):
        validate_roster(path, delimiter=",")


def test_a_missing_column_suggests_the_closest_header(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "r.csv", ",", ("record_id", "given_name", "family_name", "birth_date", "ssn")
    )
    with pytest.raises(RosterError) as caught:
        validate_roster(path)
    assert "no column 'date_of_birth'" in str(caught.value)
    assert "Did you mean 'birth_date'?" in caught.value.advice()


def test_a_windows_1252_file_names_the_line_and_the_likely_encoding(tmp_path: Path) -> None:
    path = _csv(tmp_path / "r.csv", ",", DEFAULT, encoding="cp1252")
    with pytest.raises(RosterError) as caught:
        validate_roster(path)
    assert "line 2 is not valid UTF-8: it looks like Windows-1252" in str(caught.value)
    assert "--encoding cp1252" in caught.value.advice()
    assert "José" not in caught.value.advice()
    fixed = validate_roster(path, encoding="cp1252")
    assert fixed.records[0].display_name == "José García"


def test_an_xlsx_export_is_read_directly(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(EXCEL))
    sheet.append(["R1", "José", "García", datetime.date(1990, 4, 12), 123456780])
    # A spreadsheet's date-time cell has no time zone: that is what is being read.
    born = datetime.datetime(1985, 11, 2)  # noqa: DTZ001
    sheet.append(["R2", "Ana", "Diaz", born, None])
    sheet.append([None] * 5)
    book.save(tmp_path / "roster.xlsx")
    result = validate_roster(tmp_path / "roster.xlsx")
    assert result.rows == 2
    assert [(r.record_id, r.date_of_birth, r.ssn) for r in result.records] == [
        ("R1", "1990-04-12", "123456780"),
        ("R2", "1985-11-02", ""),
    ]


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20, "roster.csv", "is a binary file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "roster.csv", "is a PDF"),
        ("record_id,given_name\n".encode("utf-16"), "roster.csv", "is UTF-16 text"),
        (b"PK\x03\x04 not really a workbook", "roster.xlsx", "cannot be read as a workbook"),
        (b"", "roster.csv", "is empty"),
    ],
)
def test_files_that_are_not_rosters_are_refused_as_such(
    tmp_path: Path, content: bytes, name: str, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RosterError, match=says) as caught:
        validate_roster(path)
    assert caught.value.exit_code == 3


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="no such file") as caught:
        validate_roster(tmp_path / "nope.csv")
    assert caught.value.exit_code == 2


def test_cli_reads_a_code_page_export_when_told(tmp_path: Path) -> None:
    path = _csv(tmp_path / "r.csv", ";", EXCEL, encoding="cp1252")
    refused = CliRunner().invoke(app, ["node", "validate", str(path)])
    assert refused.exit_code == 3
    assert "--encoding cp1252" in refused.stderr
    result = CliRunner().invoke(app, ["node", "validate", str(path), "--encoding", "cp1252"])
    assert result.exit_code == 0, result.stderr
    assert "2 rows: 2 accepted" in result.stderr
