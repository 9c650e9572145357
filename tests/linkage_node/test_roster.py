"""Validation: every kind of bad row is named by line, column and rule, no value leaks,
and the counts add up."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkage_node import RULES, ColumnMapping, RosterError, parse_policies, validate_roster
from linkage_node.roster import ROSTER_COLUMNS
from pprl.cli import app

HEADER = ",".join(ROSTER_COLUMNS)
GOOD = (
    "R{n},Maria,Lopez,1990-04-12,F,123-45-6780,12 Oak Street,Springfield,62701,"
    "(217) 555-0134,cm-0042,2024-01-15,,,,"
)

# (line content, expected (column, rule) pairs); planted values are unique strings that
# must never appear in any report or file unless --show-values asks for them.
BAD_ROWS: list[tuple[str, set[tuple[str, str]]]] = [
    ("R100,Maria,Lopez,1990-04-12,F", {("*", "row.field_count")}),
    (",Maria,Lopez,1990-04-12,F,,,,,,", {("record_id", "record_id.missing")}),
    ("R" + "9" * 70 + ",Maria,Lopez,1990-04-12,F,,,,,,", {("record_id", "record_id.too_long")}),
    ("R200,Maria,Lopez,1990-04-12,F,,,,,,", {("record_id", "record_id.duplicate")}),
    ("R200,Quentinax,Lopez,1990-04-12,F,,,,,,", {("record_id", "record_id.duplicate")}),
    ("R101,,Lopez,1990-04-12,F,,,,,,", {("given_name", "given_name.missing")}),
    ("R102,12345,Zylberschtein,1990-04-12,F,,,,,,", {("given_name", "given_name.no_letters")}),
    ("R103,Maria,,1990-04-12,F,,,,,,", {("family_name", "family_name.missing")}),
    ("R104,Maria,---,1990-04-12,F,,,,,,", {("family_name", "family_name.no_letters")}),
    ("R105,Maria,Lopez,,F,,,,,,", {("date_of_birth", "date_of_birth.missing")}),
    ("R106,Maria,Lopez,31.02.1977x,F,,,,,,", {("date_of_birth", "date_of_birth.unparseable")}),
    ("R107,Maria,Lopez,2099-01-01,F,,,,,,", {("date_of_birth", "date_of_birth.future")}),
    ("R108,Maria,Lopez,1850-06-30,F,,,,,,", {("date_of_birth", "date_of_birth.implausible")}),
    ("R109,Maria,Lopez,1990-04-12,Q,,,,,,", {("sex", "sex.unknown_code")}),
    ("R110,Maria,Lopez,1990-04-12,F,12-345,,,,,", {("ssn", "ssn.shape")}),
    ("R111,Maria,Lopez,1990-04-12,F,078-05-1120,,,,,", {("ssn", "ssn.known_invalid")}),
    ("R112,Maria,Lopez,1990-04-12,F,,,,6270,,", {("zip", "zip.shape")}),
    ("R113,Maria,Lopez,1990-04-12,F,,,,,555-01,", {("phone", "phone.shape")}),
    (
        "R114,Maria,Lopez,1990-04-12,F,,,,,,Jane Supervisor",
        {("case_manager_id", "case_manager_id.shape")},
    ),
    (
        "R115,Maria,Lopez,1990-04-12,F,,Plantedaddress" + "x" * 300 + ",,,,",
        {("address", "cell.too_long")},
    ),
    (
        "R116,,,,F,,,,,,",
        {
            ("given_name", "given_name.missing"),
            ("family_name", "family_name.missing"),
            ("date_of_birth", "date_of_birth.missing"),
            ("*", "record.not_linkable"),
        },
    ),
]
# The enrollment columns come last: empty in the rows above, wrong in these.
BAD_ROWS = [(row if row.count(",") < 10 else row + ",,", found) for row, found in BAD_ROWS] + [
    (
        "R117,Maria,Lopez,1990-04-12,F,,,,,,,Lastspring,",
        {("enrolled_on", "enrolled_on.unparseable")},
    ),
    ("R118,Maria,Lopez,1990-04-12,F,,,,,,,2098-03-01,", {("enrolled_on", "enrolled_on.future")}),
    ("R119,Maria,Lopez,1990-04-12,F,,,,,,,,Someday", {("exited_on", "exited_on.unparseable")}),
    ("R120,Maria,Lopez,1990-04-12,F,,,,,,,,2097-05-01", {("exited_on", "exited_on.future")}),
    (
        "R121,Maria,Lopez,1990-04-12,F,,,,,,,2020-05-01,2019-01-01",
        {("exited_on", "exited_on.before_enrolled")},
    ),
]
# The household columns come last of all: empty above, wrong in these.
BAD_ROWS = [(row + ",,," if row.count(",") == 12 else row, found) for row, found in BAD_ROWS] + [
    (
        "R122,Maria,Lopez,1990-04-12,F,,,,,,,,,H" + "7" * 70 + ",child,",
        {("household_id", "household_id.too_long")},
    ),
    (
        "R123,Maria,Lopez,1990-04-12,F,,,,,,,,,H-1,Grandmotherly,",
        {("household_role", "household_role.unknown")},
    ),
    (
        "R124,Maria,Lopez,1990-04-12,F,,,,,,,,,,child,",
        {("household_role", "household_role.without_household")},
    ),
    (
        "R125,Maria,Lopez,1990-04-12,F,,,,,,,,,H-2,child,Perhapsly",
        {("member_only", "member_only.unknown_code")},
    ),
    (
        "R126,Maria,Lopez,1990-04-12,F,,,,,,,,,,,yes",
        {("member_only", "member_only.without_household")},
    ),
]
PLANTED = [
    "Lastspring",
    "Someday",
    "Quentinax",
    "Zylberschtein",
    "31.02.1977x",
    "2099-01-01",
    "1850-06-30",
    "078-05-1120",
    "Jane Supervisor",
    "Plantedaddress",
    "Grandmotherly",
    "Perhapsly",
]


@pytest.fixture
def bad_roster(tmp_path: Path) -> Path:
    lines = [HEADER, GOOD.format(n=1)]
    lines += [row for row, _ in BAD_ROWS]
    lines.append(GOOD.format(n=2))
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_rule_has_a_bad_row_here() -> None:
    covered = {rule for _, expected in BAD_ROWS for _, rule in expected}
    assert covered == set(RULES)


def test_each_bad_row_is_named_by_line_column_and_rule(bad_roster: Path) -> None:
    result = validate_roster(bad_roster)
    found = {(i.line, i.column, i.rule) for i in result.issues}
    for offset, (_, expected) in enumerate(BAD_ROWS):
        line = offset + 3  # header is line 1, the first good row line 2
        for column, rule in expected:
            assert (line, column, rule) in found, (line, rule)


def test_counts_add_up_and_drop_field_rows_are_still_encoded(bad_roster: Path) -> None:
    result = validate_roster(bad_roster)
    assert result.rows == len(BAD_ROWS) + 2
    assert result.accepted + result.rejected == result.rows
    # Rows that lost a field are encoded without it, unless too little was left to link.
    dropped = {i.line for i in result.issues if i.action == "drop_field"} - result.rejected_lines
    assert dropped <= {r.line for r in result.records}
    assert {r.line for r in result.records} >= {8, 10, 12, 13, 14}  # a name or a date missing
    assert result.with_dropped_fields == len(dropped)
    by_line = {r.line: r for r in result.records}
    assert by_line[18].ssn == ""  # known-invalid SSN encoded as missing
    summary = result.summary()
    assert summary["rows"] == result.accepted + result.rejected == result.rows


def test_policy_can_turn_a_drop_into_a_reject_but_not_the_reverse_for_ids(bad_roster: Path) -> None:
    strict = validate_roster(bad_roster, policies=parse_policies(["ssn.shape=reject"]))
    assert 17 in strict.rejected_lines
    with pytest.raises(RosterError, match="always rejects"):
        parse_policies(["record_id.duplicate=drop_field"])
    with pytest.raises(RosterError, match="unknown rule"):
        parse_policies(["no.such=reject"])


def test_cli_report_and_rejects_file_hold_no_values(bad_roster: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(
        app, ["node", "validate", str(bad_roster), "--rejects", str(rejects)]
    )
    assert result.exit_code == 3
    shown = result.stderr + result.stdout + rejects.read_text()
    for value in PLANTED:
        assert value not in shown
    with rejects.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"line", "column", "rule", "action"} == set(rows[0])
    assert len(rows) == len(validate_roster(bad_roster).issues)
    assert f"{len(BAD_ROWS) + 2} rows:" in result.stderr


def test_show_values_prints_them_on_the_terminal_only(bad_roster: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(
        app, ["node", "validate", str(bad_roster), "--show-values", "--rejects", str(rejects)]
    )
    assert "Zylberschtein" not in result.stderr  # that row's problem is the given name
    assert "078-05-1120" in result.stderr
    assert "078-05-1120" not in rejects.read_text()


def test_clean_roster_validates_with_status_0(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, GOOD.format(n=1), GOOD.format(n=2)]) + "\n")
    result = CliRunner().invoke(app, ["node", "validate", str(path), "--json"])
    assert result.exit_code == 0
    assert '"rejected": 0' in result.stdout


def test_missing_required_column_is_a_file_level_error(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("record_id,given_name,family_name\nR1,A,B\n")
    with pytest.raises(RosterError, match="no column 'date_of_birth'"):
        validate_roster(path)


def test_mapping_file_renames_columns_and_sets_date_formats(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("CaseNo,First,Last,DOB\nC-1,Ana,Diaz,12/04/1990\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        '{"columns": {"record_id": "CaseNo", "given_name": "First", "family_name": "Last",'
        ' "date_of_birth": "DOB"}, "date_formats": ["%d/%m/%Y"]}'
    )
    result = validate_roster(path, ColumnMapping.load(mapping))
    assert result.records[0].date_of_birth == "1990-04-12"
    assert result.records[0].given_name == "ana"


def test_mapping_date_formats_add_to_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("record_id,given_name,family_name,date_of_birth\nC-1,Ana,Diaz,1990-04-12\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"date_formats": ["%d.%m.%Y"]}')
    result = validate_roster(path, ColumnMapping.load(mapping))
    assert [r.date_of_birth for r in result.records] == ["1990-04-12"]


def test_household_columns_are_read_in_words_and_an_unknown_role_is_other(
    tmp_path: Path,
) -> None:
    roster = tmp_path / "households.csv"
    rows = [
        "R1,Ada,Obi,1986-05-04,F,,,,,,cm-0007,,,H-9,Mother,",
        "R2,Chidi,Obi,2017-03-02,M,,,,,,cm-0007,,,H-9,son,no",
        "R3,Emeka,Obi,1984-01-30,M,,,,,,cm-0007,2020-01-01,,H-9,Grandmotherly,YES",
        "R4,Ngozi,Obi,2019-09-09,F,,,,,,cm-0008,,,,,",
    ]
    roster.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = validate_roster(roster)
    assert result.rejected == 0
    got = {
        r.record_id: (r.household_id, r.household_role, r.member_only, r.case_manager_id)
        for r in result.records
    }
    assert got == {
        "R1": ("H-9", "parent_guardian", False, "cm-0007"),
        "R2": ("H-9", "child", False, "cm-0007"),
        # Listed as family only: no case manager or enrollment to send; the role not
        # understood is dropped, the member kept in the household.
        "R3": ("H-9", "other", True, ""),
        "R4": ("", "", False, "cm-0008"),
    }
    assert [(i.line, i.rule) for i in result.issues] == [(4, "household_role.unknown")]
