"""The combined plan view across programs: milestones in the client's priority order,
and the conflicts a case manager should talk about with the other program.

Pure functions over milestones already disclosed to the caller; nothing here reads the
database or decides what may be seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

# The client's needs, most pressing first: a plan that threatens housing or liberty
# matters before one about family time, and that before self-reliance goals.
NEED_ORDER = ("basic_needs", "freedom", "family", "self_reliance")
Need = Literal["basic_needs", "freedom", "family", "self_reliance"]

# When a program does not say which need a milestone serves, its service kind usually
# does; anything unknown sorts after the named needs.
_KIND_NEEDS: dict[str, str] = {
    "housing": "basic_needs",
    "food": "basic_needs",
    "benefits": "basic_needs",
    "health": "basic_needs",
    "medical": "basic_needs",
    "mental_health": "basic_needs",
    "substance_use": "basic_needs",
    "transportation": "basic_needs",
    "court": "freedom",
    "probation": "freedom",
    "parole": "freedom",
    "supervision": "freedom",
    "legal": "freedom",
    "parenting": "family",
    "visitation": "family",
    "reunification": "family",
    "child_care": "family",
    "family": "family",
    "employment": "self_reliance",
    "job_training": "self_reliance",
    "education": "self_reliance",
    "training": "self_reliance",
    "vocational": "self_reliance",
}

ConflictKind = Literal["competing_deadlines", "overlapping_services", "stuck"]


@dataclass(frozen=True)
class PlanItem:
    """One milestone of one program, as disclosed."""

    program: str
    milestone_id: str
    fields: dict[str, Any]
    updated_at: datetime

    @property
    def need(self) -> str | None:
        """The need it serves, as recorded or as implied by its service kind."""
        need = self.fields.get("need")
        if need in NEED_ORDER:
            return str(need)
        kind = self.fields.get("service_kind")
        return _KIND_NEEDS.get(str(kind)) if kind else None

    @property
    def open(self) -> bool:
        """Not finished yet."""
        return self.fields.get("status") != "complete"

    def _date(self, name: str) -> date | None:
        value = self.fields.get(name)
        return date.fromisoformat(value) if isinstance(value, str) else None

    @property
    def due(self) -> date | None:
        """The target end date."""
        return self._date("target_end")

    @property
    def span(self) -> tuple[date, date] | None:
        """When the service runs (actual dates where known, else the targets; one known
        date is a one-day span)."""
        start = self._date("actual_start") or self._date("target_start")
        end = self._date("actual_end") or self.due
        known = [d for d in (start, end) if d is not None]
        return (min(known), max(known)) if known else None


@dataclass(frozen=True)
class Conflict:
    """Something in two plans (or one stuck milestone) worth a phone call."""

    kind: ConflictKind
    milestones: tuple[tuple[str, str], ...]  # (program, milestone_id)
    detail: str


def priority_order(items: list[PlanItem]) -> list[PlanItem]:
    """Milestones ordered by the client's needs, then by their deadline."""

    def key(item: PlanItem) -> tuple[int, date, str, str]:
        need = item.need
        rank = NEED_ORDER.index(need) if need in NEED_ORDER else len(NEED_ORDER)
        end = item.due or date.max
        return (rank, end, item.program, item.milestone_id)

    return sorted(items, key=key)


def find_conflicts(
    items: list[PlanItem], *, today: date, deadline_window_days: int, stuck_after_days: int
) -> list[Conflict]:
    """Competing deadlines (open milestones of different programs due within the window
    of each other), overlapping services of the same kind in different programs, and
    milestones stuck for longer than `stuck_after_days`."""
    conflicts: list[Conflict] = []
    window = timedelta(days=deadline_window_days)
    open_items = [i for i in items if i.open]
    for n, a in enumerate(open_items):
        for b in open_items[n + 1 :]:
            if a.program == b.program:
                continue
            a_end, b_end = a.due, b.due
            if (
                a_end
                and b_end
                and a_end >= today
                and b_end >= today
                and abs(a_end - b_end) <= window
            ):
                conflicts.append(
                    Conflict(
                        "competing_deadlines",
                        ((a.program, a.milestone_id), (b.program, b.milestone_id)),
                        f"{a.program} and {b.program} both expect a milestone between "
                        f"{min(a_end, b_end).isoformat()} and {max(a_end, b_end).isoformat()}",
                    )
                )
            kind = a.fields.get("service_kind")
            a_span, b_span = a.span, b.span
            if (
                kind
                and kind == b.fields.get("service_kind")
                and a_span
                and b_span
                and a_span[0] <= b_span[1]
                and b_span[0] <= a_span[1]
            ):
                conflicts.append(
                    Conflict(
                        "overlapping_services",
                        ((a.program, a.milestone_id), (b.program, b.milestone_id)),
                        f"{a.program} and {b.program} both provide {kind} services from "
                        f"{max(a_span[0], b_span[0]).isoformat()} to "
                        f"{min(a_span[1], b_span[1]).isoformat()}",
                    )
                )
    for item in open_items:
        if item.fields.get("status") != "stuck":
            continue
        days = (today - item.updated_at.date()).days
        if days >= stuck_after_days:
            conflicts.append(
                Conflict(
                    "stuck",
                    ((item.program, item.milestone_id),),
                    f"stuck for at least {days} days at {item.program}",
                )
            )
    return conflicts
