"""The combined plan: the client's needs in order, and the conflicts worth a call."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.services.plans import PlanItem, find_conflicts, priority_order

TODAY = date(2026, 11, 24)


def _item(program: str, mid: str, updated_days_ago: int = 0, **fields: Any) -> PlanItem:
    fields.setdefault("status", "in_progress")
    updated = datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=updated_days_ago)
    return PlanItem(program, mid, fields, updated)


def _kinds(items: list[PlanItem]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    found = find_conflicts(items, today=TODAY, deadline_window_days=14, stuck_after_days=30)
    return {(c.kind, c.milestones) for c in found}


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


def test_competing_deadlines_only_between_programs_and_only_while_open() -> None:
    a = _item("dcfs", "a", target_end="2026-12-10")
    b = _item("doc", "b", target_end="2026-12-20")
    same_program = _item("dcfs", "c", target_end="2026-12-11")
    done = _item("dwd", "d", target_end="2026-12-12", status="complete")
    far = _item("dvr", "e", target_end="2027-03-01")
    past = _item("djj", "f", target_end="2026-11-01")
    kinds = _kinds([a, b, same_program, done, far, past])
    deadlines = {m for kind, m in kinds if kind == "competing_deadlines"}
    assert deadlines == {(("dcfs", "a"), ("doc", "b")), (("doc", "b"), ("dcfs", "c"))}


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


def test_milestones_stuck_for_long_are_flagged() -> None:
    old = _item("doc", "old", updated_days_ago=45, status="stuck", stuck_reason="no transport")
    new = _item("doc", "new", updated_days_ago=3, status="stuck")
    stuck = {m for kind, m in _kinds([old, new]) if kind == "stuck"}
    assert stuck == {(("doc", "old"),)}
