""" "Is this client shared?": what a case manager may learn about the other programs
that serve the same person, level by level, through `hub.disclosure`.

Other programs whose existence may not be disclosed are absent, so the answer never
hints at them. Every disclosure is appended to the ledger as one ACCESS entry per basis
it relied on, in the same transaction as the answer, and the answer carries the
checkpoint and inclusion proof of each grant used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from hub.disclosure import Asker, DisclosureEngine, LinkedProgram
from hub.services.plans import Conflict, PlanItem, find_conflicts, priority_order


@dataclass
class SharedAnswer:
    """The answer to one case manager's question about one of their clients."""

    agency_id: str
    ref: str
    decided_at: datetime
    programs: list[LinkedProgram]
    own_plan: list[PlanItem]
    checkpoint: str | None
    checkpoint_size: int | None

    @property
    def current(self) -> list[LinkedProgram]:
        """The other programs serving the client now."""
        return [p for p in self.programs if p.current]

    @property
    def past(self) -> list[LinkedProgram]:
        """The other programs that served the client and closed the case (history)."""
        return [p for p in self.programs if not p.current]

    @property
    def shared(self) -> bool:
        """Whether any other program may be named to this caller as serving the client now."""
        return bool(self.current)


def shared_answer(
    engine: DisclosureEngine, session: Session, asker: Asker, ref: str, *, at: datetime
) -> SharedAnswer:
    """Decide, prove and record what `asker` may learn about the other programs linked
    to their record `ref`. The caller has been authorized; the caller commits (the ACCESS
    entries and the answer stand or fall together)."""
    linked = engine.linked(session, asker.agency_id, ref)
    engine.begin(session)
    programs = engine.decide(
        session, asker.agency_id, linked, at=at, supervision=asker.purpose == "supervision"
    )
    checkpoint = engine.prove(session, programs)
    for entry in programs:
        engine.open_details(session, entry)
        if checkpoint is not None:
            engine.record(session, asker, ref, entry, at=at, checkpoint=checkpoint)
    mine = engine.requester_programs(session, asker.agency_id)
    own = engine.plan_items(session, asker.agency_id, ref, ", ".join(mine) or asker.agency_id)
    return SharedAnswer(
        agency_id=asker.agency_id,
        ref=ref,
        decided_at=at,
        programs=sorted(programs, key=lambda p: (p.program, p.ref)),
        own_plan=own,
        checkpoint=checkpoint.note if checkpoint else None,
        checkpoint_size=checkpoint.size if checkpoint else None,
    )


def combined_plan(
    answer: SharedAnswer,
    *,
    today: date,
    deadline_window_days: int,
    stuck_after_days: int,
    client_hours_per_week: float = 20.0,
) -> tuple[list[PlanItem], list[Conflict]]:
    """Every milestone the caller may see, in priority order, and the conflicts."""
    items = list(answer.own_plan)
    for entry in answer.current:
        items.extend(entry.plan or [])
    ordered = priority_order(items)
    conflicts = find_conflicts(
        ordered,
        today=today,
        deadline_window_days=deadline_window_days,
        stuck_after_days=stuck_after_days,
        client_hours_per_week=client_hours_per_week,
    )
    return ordered, conflicts
