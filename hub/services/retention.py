"""Retention: enrollment history older than the retention period is purged.

An exited record stays at the hub as history (`hub.services.history`) for
`PPRL_HISTORY_RETENTION_DAYS` (seven years by default, counted from the exit date), then
`pprl hub purge-history` deletes it: its encoding, and any contact or plan left. The
purge is recorded as removals, so the next linkage run dissolves its links and the intake
index forgets it, and it never happens silently: the command says how many records of
each agency go, and `--dry-run` only counts them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Table, delete, select
from sqlmodel import Session

from hub.db import refs_by_agency, table_of
from hub.models import Assignment, Encoding, EncodingRemoval, Milestone
from hub.services.uploads import next_encoding_seq

_ENCODING: Table = table_of(Encoding)
_REMOVAL: Table = table_of(EncodingRemoval)
_ASSIGNMENT: Table = table_of(Assignment)
_MILESTONE: Table = table_of(Milestone)


def retention_cutoff(today: date, days: int) -> date:
    """Records that exited before this day are past retention."""
    return today - timedelta(days=days)


def purge_history(session: Session, *, exited_before: date, dry_run: bool = False) -> Counter[str]:
    """Delete the records that exited before `exited_before`; returns how many of each
    agency (with `dry_run`, how many would go). The caller commits."""
    found = session.execute(
        select(_ENCODING.c.agency_id, _ENCODING.c.ref).where(_ENCODING.c.exited_on < exited_before)
    ).all()
    counts = Counter(str(agency) for agency, _ in found)
    if dry_run or not found:
        return counts
    seq = next_encoding_seq(session)
    for agency, refs in refs_by_agency((str(a), str(r)) for a, r in found):
        session.execute(
            _REMOVAL.insert(), [{"seq": seq, "agency_id": agency, "ref": r} for r in refs]
        )
        for table in (_ENCODING, _ASSIGNMENT, _MILESTONE):
            session.execute(delete(table).where(table.c.agency_id == agency, table.c.ref.in_(refs)))
    return counts
