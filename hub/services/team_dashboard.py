"""A supervisor's dashboard about their own team: what gets the team's clients stuck,
and where, from the plans their own agency recorded (no other program's data, so
nothing is disclosed and nothing goes on the ledger), counted and suppressed under the
same small-cell rule as the hub's management dashboard.

- by month (the last twelve): milestones newly stuck, milestones completed;
- now: milestones stuck by reason (with the total), open milestones overdue by case
  manager.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from hub.crypto import DataCipher, milestone_context
from hub.models import Assignment, Milestone
from hub.services import org
from hub.services.dashboard import last_months
from hub.services.suppression import Sum, suppress

_CHUNK = 500


@dataclass
class TeamDashboard:
    """What the team dashboard publishes, already suppressed."""

    limit: int
    months: list[str]
    newly_stuck: list[int | None]
    completed: list[int | None]
    stuck_by_reason: dict[str, int | None]
    stuck_total: int | None
    overdue_by_case_manager: dict[str, int | None]


def team_dashboard(
    session: Session,
    cipher: DataCipher,
    agency_id: str,
    supervisor: str,
    *,
    limit: int,
    today: date,
) -> TeamDashboard:
    """Count the team's own plans and suppress."""
    team = sorted(org.team_of(session, agency_id, supervisor))
    months = last_months(today)
    stuck_in: Counter[str] = Counter()
    done_in: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for staff, fields, updated_at in _plans(session, cipher, agency_id, team):
        status = fields.get("status")
        open_ = status != "complete" and not fields.get("stop_doing")
        if status == "stuck" and open_:
            reasons[str(fields.get("stuck_reason") or "other")] += 1
            since = _day(fields.get("stuck_since")) or updated_at.date()
            stuck_in[since.strftime("%Y-%m")] += 1
        end = _day(fields.get("actual_end"))
        if status == "complete" and end is not None:
            done_in[end.strftime("%Y-%m")] += 1
        due = _day(fields.get("target_end"))
        if open_ and due is not None and due < today:
            overdue[staff] += 1
    cells: dict[str, int] = {f"reason:{r}": n for r, n in reasons.items()}
    cells["total"] = sum(reasons.values())
    shown = suppress(cells, [Sum("total", {k: 1.0 for k in cells if k != "total"})], limit=limit)
    return TeamDashboard(
        limit=limit,
        months=months,
        newly_stuck=[stuck_in[m] if stuck_in[m] >= limit else None for m in months],
        completed=[done_in[m] if done_in[m] >= limit else None for m in months],
        stuck_by_reason={r: shown[f"reason:{r}"] for r in sorted(reasons)},
        stuck_total=shown["total"],
        overdue_by_case_manager={s: n if n >= limit else None for s, n in sorted(overdue.items())},
    )


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _plans(
    session: Session, cipher: DataCipher, agency_id: str, team: list[str]
) -> list[tuple[str, dict[str, object], datetime]]:
    """(case manager, milestone fields, last change) of the team's clients' milestones."""
    out = []
    for start in range(0, len(team), _CHUNK):
        rows = session.execute(
            select(
                col(Assignment.case_manager_id),
                col(Milestone.ref),
                col(Milestone.milestone_id),
                col(Milestone.plan),
                col(Milestone.updated_at),
            )
            .join(
                Milestone,
                (col(Milestone.agency_id) == col(Assignment.agency_id))
                & (col(Milestone.ref) == col(Assignment.ref)),
            )
            .where(
                col(Assignment.agency_id) == agency_id,
                col(Assignment.case_manager_id).in_(team[start : start + _CHUNK]),
            )
        )
        for staff, ref, milestone_id, sealed, updated_at in rows:
            context = milestone_context(agency_id, ref, milestone_id)
            out.append((staff, json.loads(cipher.open(sealed, context)), updated_at))
    return out
