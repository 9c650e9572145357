"""The combined plan as a timeline: every milestone the case manager may see, in date
order, with every field of the milestone model in plain words (codes are the shared
lists' words, never shown raw).

The priority table above it answers "what first?"; the timeline answers "what when, and
what exactly?", one entry per milestone that opens (a `<details>`) to all its fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from contract import PlanMilestoneOut, SharedOut
from contract.milestones import BUY_IN, MANDATES, STUCK_REASONS
from linkage_node.web.answer_view import NEEDS, day, program_name

STATUS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "complete": "Complete",
    "stuck": "Stuck",
}


@dataclass
class TimelineEntry:
    """One milestone on the timeline."""

    when: str
    program: str
    milestone: str
    status: str
    non_negotiable: bool
    conflict: bool
    facts: list[tuple[str, str]] = field(default_factory=list)


def _dosage(m: PlanMilestoneOut) -> str | None:
    unit = m.dosage_unit or ""
    if m.planned_dosage is None and m.actual_dosage is None:
        return m.dosage

    def amount(value: float) -> str:
        return f"{value:g} {unit}"

    if m.planned_dosage is not None and m.actual_dosage is not None:
        said = f"{amount(m.actual_dosage)} of {amount(m.planned_dosage)} delivered"
    elif m.planned_dosage is not None:
        said = f"{amount(m.planned_dosage)} planned"
    else:
        said = f"{amount(m.actual_dosage or 0)} delivered"
    return f"{said} ({m.dosage})" if m.dosage else said


def _span(m: PlanMilestoneOut) -> tuple[date | None, date | None]:
    return (m.actual_start or m.target_start, m.actual_end or m.target_end)


def _when(m: PlanMilestoneOut) -> str:
    start, end = _span(m)
    if start and end and start != end:
        return f"{day(start)} to {day(end)}"
    if start or end:
        return ("from " if start and not end else "by ") + day(start or end)
    return "No dates given"


def _facts(m: PlanMilestoneOut) -> list[tuple[str, str]]:
    facts: list[tuple[str | None, str | None]] = [
        ("Goal", m.goal),
        ("Need served", NEEDS.get(m.need_served or "", None)),
        ("Activity", m.activity),
        ("Service", (m.service_kind or "").replace("_", " ") or None),
        ("Planned", f"{day(m.target_start) or '?'} to {day(m.target_end) or '?'}")
        if m.target_start or m.target_end
        else (None, None),
        ("Actual", f"{day(m.actual_start) or '?'} to {day(m.actual_end) or 'now'}")
        if m.actual_start or m.actual_end
        else (None, None),
        ("Dosage", _dosage(m)),
        (
            "Required by",
            MANDATES.get(m.mandate or "", "a mandate") if m.non_negotiable else None,
        ),
        ("Client buy-in", BUY_IN.get(m.buy_in or "")),
        ("This program contributes", m.resources),
        (
            "Stuck because",
            STUCK_REASONS.get(m.stuck_reason or "") if m.status == "stuck" else None,
        ),
        ("Stuck since", day(m.stuck_since) if m.status == "stuck" else None),
        ("Proposed to stop", "yes: the program suggests dropping it" if m.stop_doing else None),
        ("Aftercare", "part of the plan for after the program ends" if m.aftercare else None),
    ]
    return [(label, value) for label, value in facts if label and value]


def timeline(answer: SharedOut) -> list[TimelineEntry]:
    """The milestones by date (start, else end; undated last), each with all its fields."""
    conflicted = {(m.program, m.milestone_id) for c in answer.conflicts for m in c.milestones}

    def key(m: PlanMilestoneOut) -> tuple[date, date, str, str]:
        start, end = _span(m)
        return (start or end or date.max, end or date.max, m.program, m.milestone_id)

    return [
        TimelineEntry(
            when=_when(m),
            program=program_name(m.program),
            milestone=m.milestone,
            status=STATUS.get(m.status, m.status),
            non_negotiable=m.non_negotiable,
            conflict=(m.program, m.milestone_id) in conflicted,
            facts=_facts(m),
        )
        for m in sorted(answer.plan, key=key)
    ]
