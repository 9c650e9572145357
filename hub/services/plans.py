"""The combined plan view across programs: milestones in the client's priority order,
and the conflicts a case manager should talk about with the other program.

Pure functions over milestones already disclosed to the caller; nothing here reads the
database or decides what may be seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from contract.milestones import DOSAGE_HOURS, MANDATES, STUCK_REASONS

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

ConflictKind = Literal["competing_deadlines", "over_capacity", "overlapping_services", "stuck"]


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
        """Not finished yet, and not something the program proposes to stop."""
        return self.fields.get("status") != "complete" and not self.fields.get("stop_doing")

    @property
    def non_negotiable(self) -> bool:
        """Required of the client by a mandate (court order, supervision, statute, policy)."""
        return bool(self.fields.get("non_negotiable"))

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

    @property
    def weekly_hours(self) -> float:
        """The client's hours a week it takes: the planned dosage not yet delivered,
        spread over its span (0 when the plan does not say)."""
        planned = self.fields.get("planned_dosage")
        unit = DOSAGE_HOURS.get(str(self.fields.get("dosage_unit")))
        span = self.span
        if planned is None or unit is None or span is None:
            return 0.0
        weeks = max(1.0, ((span[1] - span[0]).days + 1) / 7)
        return float(planned) * unit / weeks

    def stuck_days(self, today: date) -> int:
        """How long it has been stuck: from `stuck_since` where the program says, else
        from the hub's last change to it."""
        since = self._date("stuck_since") or self.updated_at.date()
        return (today - since).days

    def label(self) -> str:
        """How a conflict's detail names it."""
        mandate = self.fields.get("mandate")
        if self.non_negotiable and mandate:
            return f"{self.program} ({MANDATES.get(str(mandate), str(mandate))})"
        return self.program


@dataclass(frozen=True)
class Conflict:
    """Something in two plans (or one stuck milestone) worth a phone call."""

    kind: ConflictKind
    milestones: tuple[tuple[str, str], ...]  # (program, milestone_id)
    detail: str
    non_negotiable: bool = False


def priority_order(items: list[PlanItem]) -> list[PlanItem]:
    """Milestones ordered by the client's needs, non-negotiables first within a need,
    then by their deadline."""

    def key(item: PlanItem) -> tuple[int, bool, date, str, str]:
        need = item.need
        rank = NEED_ORDER.index(need) if need in NEED_ORDER else len(NEED_ORDER)
        end = item.due or date.max
        return (rank, not item.non_negotiable, end, item.program, item.milestone_id)

    return sorted(items, key=key)


def find_conflicts(
    items: list[PlanItem],
    *,
    today: date,
    deadline_window_days: int,
    stuck_after_days: int,
    client_hours_per_week: float = 20.0,
) -> list[Conflict]:
    """What is worth a call between programs, non-negotiables first (the rules are in
    the README, "Conflicts"):

    - competing deadlines: open milestones of different programs that serve the same
      need and are due within `deadline_window_days` of each other;
    - over capacity: open milestones of two or more programs that run at the same time
      and together ask more of the client's week than `client_hours_per_week`;
    - overlapping services: the same service kind from two programs at the same time;
    - stuck: a milestone stuck for `stuck_after_days` or more.
    """
    conflicts: list[Conflict] = []
    window = timedelta(days=deadline_window_days)
    open_items = [i for i in items if i.open]
    for n, a in enumerate(open_items):
        for b in open_items[n + 1 :]:
            if a.program != b.program:
                conflicts.extend(_pair(a, b, today, window))
    conflicts.extend(_capacity(open_items, today, client_hours_per_week))
    for item in open_items:
        if item.fields.get("status") != "stuck":
            continue
        days = item.stuck_days(today)
        if days >= stuck_after_days:
            reason = STUCK_REASONS.get(str(item.fields.get("stuck_reason")))
            conflicts.append(
                Conflict(
                    "stuck",
                    ((item.program, item.milestone_id),),
                    f"stuck for at least {days} days at {item.label()}"
                    + (f": {reason}" if reason else ""),
                    item.non_negotiable,
                )
            )
    # Stable: within each group the order above (the plan's priority order) stays.
    return sorted(conflicts, key=lambda c: not c.non_negotiable)


def _pair(a: PlanItem, b: PlanItem, today: date, window: timedelta) -> list[Conflict]:
    found: list[Conflict] = []
    mandated = a.non_negotiable or b.non_negotiable
    keys = ((a.program, a.milestone_id), (b.program, b.milestone_id))
    a_end, b_end = a.due, b.due
    if (
        a.need is not None
        and a.need == b.need
        and a_end
        and b_end
        and a_end >= today
        and b_end >= today
        and abs(a_end - b_end) <= window
    ):
        found.append(
            Conflict(
                "competing_deadlines",
                keys,
                f"{a.label()} and {b.label()} both expect a {a.need.replace('_', ' ')} "
                f"milestone between {min(a_end, b_end).isoformat()} and "
                f"{max(a_end, b_end).isoformat()}",
                mandated,
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
        found.append(
            Conflict(
                "overlapping_services",
                keys,
                f"{a.label()} and {b.label()} both provide {kind} services from "
                f"{max(a_span[0], b_span[0]).isoformat()} to "
                f"{min(a_span[1], b_span[1]).isoformat()}",
                mandated,
            )
        )
    return found


def _capacity(items: list[PlanItem], today: date, hours: float) -> list[Conflict]:
    """Each largest set of milestones of two or more programs running at once (seen at
    the start of each one's span, from today on) whose hours a week add up to more than
    the client has."""
    timed = [(i, span) for i in items if i.weekly_hours > 0 and (span := i.span) is not None]
    candidates: dict[frozenset[tuple[str, str]], tuple[list[PlanItem], float, date]] = {}
    for _, (start, end) in timed:
        if end < today:
            continue
        day = max(start, today)
        running = [i for i, (s, e) in timed if s <= day <= e]
        load = sum(i.weekly_hours for i in running)
        keys = frozenset((i.program, i.milestone_id) for i in running)
        if load > hours and len({i.program for i in running}) >= 2:
            candidates.setdefault(keys, (running, load, day))
    found: list[Conflict] = []
    for keys, (running, load, day) in candidates.items():
        if any(keys < other for other in candidates):
            continue  # a larger set running at another moment says it already
        found.append(
            Conflict(
                "over_capacity",
                tuple(sorted(keys)),
                f"{', '.join(sorted({i.label() for i in running}))} together ask about "
                f"{load:.0f} hours a week of the client around {day.isoformat()} "
                f"(more than {hours:.0f})",
                any(i.non_negotiable for i in running),
            )
        )
    return found
