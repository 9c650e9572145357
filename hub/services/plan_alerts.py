"""Plan alerts: tell each case manager, once, of a new conflict between programs' plans
for a client on their caseload (`new_conflict`), and of a milestone stuck longer than
the hub's limit (`milestone_stuck`, the conflict rules' "stuck").

A sweep (`pprl hub plan-alerts`, daily) looks at every assigned client linked to another
program, as the assigned case manager may see it: their own program's milestones and the
other programs' where consent covers the plan (decided as for the client page, not
recorded: nothing is shown). It remembers what each case manager was told of by a
fingerprint of the conflict's kind and milestone ids (`PlanAlertSeen`), notes when one
has gone (a conflict that comes back is told again; the dashboard counts conflicts found
and resolved per month from these rows), and queues one message per case manager and
kind, naming no client and no program, like every notification.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from hub.disclosure import DisclosureEngine
from hub.models import Assignment, PlanAlertSeen, RecordCluster
from hub.services.notify import queue_for_staff
from hub.services.plans import Conflict, PlanItem, find_conflicts
from hub.services.team import PlanRules

Staff = tuple[str, str]  # (agency, staff id)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep found and queued."""

    clients: int
    new_conflicts: int
    newly_stuck: int
    queued: int


def fingerprint(conflict: Conflict) -> str:
    """The conflict's identity: its kind and milestones, hashed (no text, no dates)."""
    said = conflict.kind + "|" + "|".join(f"{p}:{m}" for p, m in sorted(conflict.milestones))
    return hashlib.sha256(said.encode()).hexdigest()[:32]


def sweep(
    engine: DisclosureEngine, session: Session, rules: PlanRules, *, now: datetime
) -> SweepResult:
    """Find new conflicts and long-stuck milestones and queue the messages. The caller
    commits."""
    assigned = _linked_assignments(session)
    mine = {agency: engine.requester_programs(session, agency) for agency, _, _ in assigned}
    linked = {(a, r): engine.linked(session, a, r) for a, r, _ in assigned}
    engine.begin(session)
    told: dict[str, dict[Staff, int]] = {"new_conflict": {}, "milestone_stuck": {}}
    found = {"new_conflict": 0, "milestone_stuck": 0}
    for agency, ref, staff in assigned:
        items = engine.plan_items(session, agency, ref, ", ".join(mine[agency]) or agency)
        for entry in engine.decide(
            session, agency, linked[(agency, ref)], at=now, levels=("existence", "plan")
        ):
            if entry.current and entry.levels["plan"].allowed:
                items.extend(engine.plan_items(session, entry.agency_id, entry.ref, entry.program))
        fresh = _new_alerts(session, (agency, staff), ref, _conflicts(items, now, rules), now)
        for kind, n in fresh.items():
            found[kind] += n
            if n:
                told[kind][(agency, staff)] = told[kind].get((agency, staff), 0) + 1
    queued = sum(queue_for_staff(session, by, kind=kind, now=now) for kind, by in told.items())
    return SweepResult(len(assigned), found["new_conflict"], found["milestone_stuck"], queued)


def _conflicts(items: list[PlanItem], now: datetime, rules: PlanRules) -> list[Conflict]:
    return find_conflicts(
        items,
        today=now.date(),
        deadline_window_days=rules.deadline_window_days,
        stuck_after_days=rules.stuck_after_days,
        client_hours_per_week=rules.client_hours_per_week,
    )


def _new_alerts(
    session: Session, who: Staff, ref: str, conflicts: list[Conflict], now: datetime
) -> dict[str, int]:
    """Record what the case manager is told of now, and what went away; returns the new
    ones by kind."""
    agency, staff = who
    current = {fingerprint(c): c for c in conflicts}
    rows = {
        row.fingerprint: row
        for row in session.execute(
            select(PlanAlertSeen).where(
                col(PlanAlertSeen.agency_id) == agency,
                col(PlanAlertSeen.staff_id) == staff,
                col(PlanAlertSeen.ref) == ref,
            )
        ).scalars()
    }
    for key, row in rows.items():
        if key not in current and row.resolved_at is None:
            row.resolved_at = now
            session.add(row)
    fresh: dict[str, int] = defaultdict(int)
    for key, conflict in current.items():
        row = rows.get(key)
        if row is not None and row.resolved_at is None:
            continue  # told already, still there
        if row is None:
            row = PlanAlertSeen(
                agency_id=agency,
                staff_id=staff,
                ref=ref,
                fingerprint=key,
                kind=conflict.kind,
                seen_at=now,
            )
        row.seen_at, row.resolved_at = now, None  # back again: told again
        session.add(row)
        fresh["milestone_stuck" if conflict.kind == "stuck" else "new_conflict"] += 1
    return fresh


def _linked_assignments(session: Session) -> list[tuple[str, str, str]]:
    """(agency, ref, case manager) of every assigned record in a cluster with others."""
    shared = (
        select(col(RecordCluster.cluster_id))
        .group_by(col(RecordCluster.cluster_id))
        .having(func.count() > 1)
    )
    rows = session.execute(
        select(col(Assignment.agency_id), col(Assignment.ref), col(Assignment.case_manager_id))
        .join(
            RecordCluster,
            (col(RecordCluster.agency_id) == col(Assignment.agency_id))
            & (col(RecordCluster.ref) == col(Assignment.ref)),
        )
        .where(col(RecordCluster.cluster_id).in_(shared))
        .order_by(col(Assignment.agency_id), col(Assignment.ref))
    ).all()
    return [(a, r, s) for a, r, s in rows]
