"""Enrollment history: an exit keeps the record as history; retention purges it.

A record's encoding carries the dates the node exported (`enrolled_on`, `exited_on`).
When a record first arrives exited, or a current record exits, the hub:
- keeps the encoding, so linkage keeps linking it and answers can say "served by X
  until DATE" (gated like existence, `hub.disclosure`);
- drops the record's contact and plan at once: nobody is the client's case manager there
  any more, and a closed case's plan is not another program's business;
- notes when it learnt of the exit (the caseload's "exited since your last visit") and
  queues a message for the case managers of the records confidently linked to it. Like
  every notification it names no client and no program.

History older than the retention period (`PPRL_HISTORY_RETENTION_DAYS`, seven years by
default) is purged by `pprl hub purge-history`, recorded as removals so that the next
linkage run dissolves its links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, delete, select, update
from sqlmodel import Session

from hub.db import table_of
from hub.models import Assignment, Encoding, Milestone
from hub.services.housekeeping import tell_linked_case_managers

_ENCODING: Table = table_of(Encoding)
_ASSIGNMENT: Table = table_of(Assignment)
_MILESTONE: Table = table_of(Milestone)


@dataclass(frozen=True)
class Exits:
    """What an upload changed in enrollment: records that exited, and ones back."""

    exited: list[str]
    returned: list[str]


def carry_history(session: Session, agency_id: str, rows: list[dict[str, Any]]) -> Exits:
    """Before `rows` (encoding upserts) are stored: keep a known enrollment date the row
    does not repeat (an exit noticed by absence carries only its exit date), and say which
    records exit or come back with this upload."""
    refs = [str(r["ref"]) for r in rows]
    known: dict[str, tuple[date | None, date | None]] = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        for ref, enrolled_on, exited_on in session.execute(
            select(_ENCODING.c.ref, _ENCODING.c.enrolled_on, _ENCODING.c.exited_on).where(
                _ENCODING.c.agency_id == agency_id, _ENCODING.c.ref.in_(chunk)
            )
        ):
            known[str(ref)] = (enrolled_on, exited_on)
    exited, returned = [], []
    for row in rows:
        before = known.get(str(row["ref"]))
        if row.get("enrolled_on") is None and before is not None:
            row["enrolled_on"] = before[0]
        was_exited = before is not None and before[1] is not None
        if row.get("exited_on") is not None and not was_exited:
            exited.append(str(row["ref"]))
        elif row.get("exited_on") is None and was_exited:
            returned.append(str(row["ref"]))
    return Exits(sorted(exited), sorted(returned))


def apply_exits(session: Session, agency_id: str, exits: Exits, *, now: datetime) -> int:
    """After the upserts: date the exits, drop the exited records' contacts and plans,
    and queue the linked case managers' messages; returns how many were queued."""
    for refs, noticed in ((exits.exited, now), (exits.returned, None)):
        for start in range(0, len(refs), 500):
            chunk = refs[start : start + 500]
            session.execute(
                update(_ENCODING)
                .where(_ENCODING.c.agency_id == agency_id, _ENCODING.c.ref.in_(chunk))
                .values(exit_noticed_at=noticed)
            )
            if noticed is not None:
                for table in (_ASSIGNMENT, _MILESTONE):
                    session.execute(
                        delete(table).where(
                            and_(table.c.agency_id == agency_id, table.c.ref.in_(chunk))
                        )
                    )
    return tell_linked_case_managers(
        session, agency_id, exits.exited, kind="enrollment_changed", now=now
    )
