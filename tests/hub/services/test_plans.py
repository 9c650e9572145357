"""The combined plan: the client's needs in order, and the conflicts worth a call."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.services.plans import Conflict, PlanItem, find_conflicts, priority_order

TODAY = date(2026, 11, 24)


def _item(program: str, mid: str, updated_days_ago: int = 0, **fields: Any) -> PlanItem:
    fields.setdefault("status", "in_progress")
    updated = datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=updated_days_ago)
    return PlanItem(program, mid, fields, updated)


def _found(items: list[PlanItem]) -> list[Conflict]:
    return find_conflicts(
        items, today=TODAY, deadline_window_days=14, stuck_after_days=30, client_hours_per_week=20
    )


def _kinds(items: list[PlanItem]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {(c.kind, c.milestones) for c in _found(items)}


def test_needs_come_in_the_clients_order_then_by_deadline() -> None:
    items = [
        _item("dwd", "job", service_kind="employment", target_end="2026-12-01"),
        _item("dcfs", "visits", need="family"),
        _item("doc", "report", service_kind="probation"),
        _item("dcfs", "rent", service_kind="housing", target_end="2027-02-01"),
        _item("dvr", "food", need="basic_needs", target_end="2026-12-10"),
        _item("x", "other", service_kind="unheard_of"),
    ]
    order = [i.milestone_id for i in priority_order(items)]
    assert order == ["food", "rent", "report", "visits", "job", "other"]


def test_competing_deadlines_only_between_programs_for_one_need_and_only_while_open() -> None:
    a = _item("dcfs", "a", need="family", target_end="2026-12-10")
    b = _item("doc", "b", service_kind="parenting", target_end="2026-12-20")
    same_program = _item("dcfs", "c", need="family", target_end="2026-12-11")
    done = _item("dwd", "d", need="family", target_end="2026-12-12", status="complete")
    stopped = _item("dvr", "s", need="family", target_end="2026-12-12", stop_doing=True)
    far = _item("dvr", "e", need="family", target_end="2027-03-01")
    past = _item("djj", "f", need="family", target_end="2026-11-01")
    other_need = _item("dwd", "g", need="self_reliance", target_end="2026-12-12")
    kinds = _kinds([a, b, same_program, done, stopped, far, past, other_need])
    deadlines = {m for kind, m in kinds if kind == "competing_deadlines"}
    assert deadlines == {(("dcfs", "a"), ("doc", "b")), (("doc", "b"), ("dcfs", "c"))}


def test_a_busy_month_across_programs_is_not_a_wall_of_conflicts() -> None:
    """Seven milestones of three programs all due within two weeks: the old rule called
    every cross-program pair a conflict (16 of them here). Different needs at modest
    hours do not compete; the two family milestones do."""
    plan = [
        _item("dcfs", "visits", service_kind="visitation", target_end="2026-12-01"),
        _item("dcfs", "lease", service_kind="housing", target_end="2026-12-05"),
        _item("dcfs", "parenting", service_kind="parenting", target_end="2026-12-09"),
        _item("doc", "report", service_kind="probation", target_end="2026-12-02"),
        _item("doc", "fees", service_kind="court", target_end="2026-12-08"),
        _item("dwd", "resume", service_kind="employment", target_end="2026-12-03"),
        _item("dwd", "family_budget", need="family", target_end="2026-12-06"),
    ]
    found = _found(plan)
    assert {(c.kind, c.milestones) for c in found} == {
        ("competing_deadlines", (("dcfs", "visits"), ("dwd", "family_budget"))),
        ("competing_deadlines", (("dcfs", "parenting"), ("dwd", "family_budget"))),
    }


def _hours(program: str, mid: str, hours: float, **fields: Any) -> PlanItem:
    return _item(
        program,
        mid,
        planned_dosage=hours * 4,
        dosage_unit="hours",
        target_start="2026-12-01",
        target_end="2026-12-28",
        **fields,
    )


def test_programs_that_together_ask_more_than_the_clients_week_conflict() -> None:
    # 12 + 12 hours a week for the same four weeks is more than 20.
    found = _kinds([_hours("doc", "class", 12), _hours("dwd", "work", 12)])
    assert found == {("over_capacity", (("doc", "class"), ("dwd", "work")))}
    # 12 + 6 is not; nor is one program's own 30.
    assert _kinds([_hours("doc", "class", 12), _hours("dwd", "work", 6)]) == set()
    assert _kinds([_hours("doc", "a", 15), _hours("doc", "b", 15)]) == set()


def test_capacity_counts_every_program_at_once_and_says_so_once() -> None:
    three = [_hours("doc", "class", 8), _hours("dwd", "work", 8), _hours("dvr", "rehab", 8)]
    found = _found(three)
    assert [c.milestones for c in found] == [
        (("doc", "class"), ("dvr", "rehab"), ("dwd", "work")),
    ]
    assert "24 hours a week" in found[0].detail


def test_sessions_and_days_count_as_an_hour_and_a_working_day() -> None:
    day_programme = _item(
        "dvr",
        "day",
        planned_dosage=8,
        dosage_unit="days",
        target_start="2026-12-01",
        target_end="2026-12-28",
    )
    sessions = _item(
        "doc",
        "sessions",
        planned_dosage=24,
        dosage_unit="sessions",
        target_start="2026-12-01",
        target_end="2026-12-28",
    )
    # 8 days over 4 weeks = 16 h a week; 24 sessions = 6 h a week: 22 > 20.
    assert {k for k, _ in _kinds([day_programme, sessions])} == {"over_capacity"}


def test_non_negotiables_come_first_and_name_their_mandate() -> None:
    plan = [
        _item("dwd", "class", need="self_reliance", target_end="2026-12-10"),
        _item("dvr", "rehab", need="self_reliance", target_end="2026-12-12"),
        _item("dcfs", "visits", need="family", target_end="2026-12-10"),
        _item(
            "djj",
            "court",
            need="family",
            target_end="2026-12-11",
            non_negotiable=True,
            mandate="court_order",
        ),
    ]
    found = _found(plan)
    assert [c.non_negotiable for c in found] == [True, False]
    assert "djj (court order)" in found[0].detail
    ordered = [i.milestone_id for i in priority_order(plan)]
    assert ordered == ["court", "visits", "class", "rehab"]


def test_overlapping_services_of_the_same_kind_are_flagged() -> None:
    a = _item(
        "doc",
        "class",
        service_kind="job_training",
        target_start="2026-12-01",
        target_end="2027-01-15",
    )
    b = _item(
        "dwd",
        "workshop",
        service_kind="job_training",
        actual_start="2027-01-10",
        target_end="2027-02-01",
    )
    c = _item(
        "dvr",
        "later",
        service_kind="job_training",
        target_start="2027-03-01",
        target_end="2027-04-01",
    )
    d = _item(
        "dcfs", "rent", service_kind="housing", target_start="2026-12-01", target_end="2027-01-15"
    )
    overlaps = {m for kind, m in _kinds([a, b, c, d]) if kind == "overlapping_services"}
    assert overlaps == {(("doc", "class"), ("dwd", "workshop"))}


def test_milestones_stuck_for_long_are_flagged_with_their_reason() -> None:
    old = _item("doc", "old", updated_days_ago=45, status="stuck", stuck_reason="transportation")
    new = _item("doc", "new", updated_days_ago=3, status="stuck")
    # The program says since when: that counts, not the hub's last change to the row.
    said = _item("dwd", "said", updated_days_ago=1, status="stuck", stuck_since="2026-09-01")
    found = {c.milestones: c.detail for c in _found([old, new, said]) if c.kind == "stuck"}
    assert set(found) == {(("doc", "old"),), (("dwd", "said"),)}
    assert found[(("doc", "old"),)] == "stuck for at least 45 days at doc: no way to get there"
    assert "84 days" in found[(("dwd", "said"),)]
