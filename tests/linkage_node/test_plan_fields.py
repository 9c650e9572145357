"""The milestone model in plan exports: coded stuck reasons (no free text leaves the
agency), dosage, mandates, buy-in and flags, validated by line, column and rule."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from contract import MilestoneIn
from linkage_node.errors import RosterError
from linkage_node.plans import load_stuck_reasons, read_plans

BASE = {
    "record_id": "R1",
    "goal": "Work",
    "milestone": "Job readiness class",
    "status": "in_progress",
}


def _read(
    tmp_path: Path, rows: list[dict[str, str]], reasons: dict[str, str] | None = None
) -> tuple[dict[str, dict[str, object]], set[tuple[int, str, str, str]]]:
    path = tmp_path / "plans.csv"
    columns = sorted({c for row in rows for c in row} | set(BASE) | {"milestone_id"})
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({**BASE, "milestone_id": f"m{n}", **row} for n, row in enumerate(rows))
    result = read_plans(path, reasons)
    fields = {m.milestone_id: m.fields for m in result.milestones}
    return fields, {(i.line, i.column, i.rule, i.action) for i in result.issues}


def test_every_field_of_the_model_is_typed_for_the_hub(tmp_path: Path) -> None:
    fields, issues = _read(
        tmp_path,
        [
            {
                "planned_dosage": "24",
                "actual_dosage": "6.5",
                "dosage_unit": "Sessions",
                "mandate": "Court_Order",
                "buy_in": "partly",
                "resources": "bus pass; 2 staff hours a week",
                "stop_doing": "no",
                "aftercare": "Yes",
                "status": "stuck",
                "stuck_reason": "waitlist",
                "stuck_since": "2026-10-01",
            }
        ],
    )
    assert issues == set()
    m0 = fields["m0"]
    assert m0 == {
        "goal": "Work",
        "milestone": "Job readiness class",
        "status": "stuck",
        "planned_dosage": 24.0,
        "actual_dosage": 6.5,
        "dosage_unit": "sessions",
        "mandate": "court_order",
        "non_negotiable": True,  # a mandate makes it non-negotiable
        "buy_in": "partly",
        "resources": "bus pass; 2 staff hours a week",
        "aftercare": True,
        "stuck_reason": "waitlist",
        "stuck_since": "2026-10-01",
    }
    # What the node sends is what the hub's contract accepts.
    MilestoneIn(ref="0" * 64, milestone_id="m0", **m0)


def test_free_text_stuck_reasons_never_leave_the_agency(tmp_path: Path) -> None:
    fields, issues = _read(
        tmp_path,
        [
            {"status": "stuck", "stuck_reason": "Mom in hospital, Jane can't drive her"},
            {"status": "stuck", "stuck_reason": "WL-3"},
            {"status": "stuck", "stuck_reason": "TRANSPORTATION"},
        ],
        reasons={"wl-3": "waitlist"},
    )
    # Sent as `other`, reported, and the milestone still reaches the hub.
    assert fields["m0"]["stuck_reason"] == "other"
    assert issues == {(2, "stuck_reason", "stuck_reason.unmapped", "recode")}
    assert "Jane" not in str(fields)
    # The agency's own code, mapped; a shared code in any case.
    assert fields["m1"]["stuck_reason"] == "waitlist"
    assert fields["m2"]["stuck_reason"] == "transportation"


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ({"non_negotiable": "yes"}, ("mandate", "mandate.missing")),
        ({"mandate": "judge said so"}, ("mandate", "mandate.unknown")),
        ({"planned_dosage": "12"}, ("dosage_unit", "dosage_unit.missing")),
        (
            {"planned_dosage": "a dozen", "dosage_unit": "hours"},
            ("planned_dosage", "planned_dosage.unparseable"),
        ),
        (
            {"actual_dosage": "-3", "dosage_unit": "hours"},
            ("actual_dosage", "actual_dosage.out_of_range"),
        ),
        (
            {"actual_dosage": "nan", "dosage_unit": "hours"},
            ("actual_dosage", "actual_dosage.out_of_range"),
        ),
        ({"planned_dosage": "3", "dosage_unit": "weeks"}, ("dosage_unit", "dosage_unit.unknown")),
        ({"buy_in": "maybe"}, ("buy_in", "buy_in.unknown")),
        ({"aftercare": "perhaps"}, ("aftercare", "aftercare.unparseable")),
        ({"stuck_since": "last spring"}, ("stuck_since", "stuck_since.unparseable")),
    ],
)
def test_a_bad_cell_leaves_the_row_out_and_is_named(
    tmp_path: Path, row: dict[str, str], rule: tuple[str, str]
) -> None:
    fields, issues = _read(tmp_path, [row])
    assert fields == {}
    assert issues == {(2, *rule, "reject")}


def test_adding_the_new_columns_empty_changes_no_milestone(tmp_path: Path) -> None:
    """An export that gains the new columns, empty or "no", sends nothing again."""
    before, _ = _read(tmp_path, [{}])
    after, _ = _read(
        tmp_path,
        [{"planned_dosage": "", "mandate": "", "stop_doing": "no", "aftercare": "", "buy_in": ""}],
    )
    assert before == after


def test_a_stuck_reason_map_must_name_shared_codes(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("agency_code,code\nWL-3,waitlist\nTX,bus\n", encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        load_stuck_reasons(path)
    assert "line 3" in str(caught.value)
    assert "waitlist" in caught.value.advice()
    path.write_text("code\nwaitlist\n", encoding="utf-8")
    with pytest.raises(RosterError, match="agency_code and code"):
        load_stuck_reasons(path)
    with pytest.raises(RosterError) as missing:
        load_stuck_reasons(tmp_path / "nope.csv")
    assert missing.value.exit_code == 2
    path.write_text("agency_code,code\nWL-3,Waitlist\n", encoding="utf-8")
    assert load_stuck_reasons(path) == {"wl-3": "waitlist"}


def test_codes_typed_as_words_in_a_spreadsheet_are_read(tmp_path: Path) -> None:
    fields, issues = _read(
        tmp_path,
        [
            {
                "status": "Stuck",
                "mandate": "Court Order",
                "buy_in": "Partly",
                "dosage_unit": "Sessions",
                "planned_dosage": "4",
                "stuck_reason": "Child care",
            },
            {"status": "In progress", "mandate": "condition-of-supervision"},
        ],
    )
    assert issues == set()
    assert (fields["m0"]["status"], fields["m0"]["mandate"], fields["m0"]["stuck_reason"]) == (
        "stuck",
        "court_order",
        "child_care",
    )
    assert (fields["m1"]["status"], fields["m1"]["mandate"]) == (
        "in_progress",
        "condition_of_supervision",
    )
