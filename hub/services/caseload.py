"""A case manager's caseload: every client assigned to them, whether another program
may be named as serving them, and what changed since their last visit.

The "shared" flag is itself a disclosure of existence, decided like the client answer's
first level. Each distinct existence disclosure (which client, which other program's
record, on which basis) is appended to the ledger once, the first time it is shown; the
page can be reopened without flooding the ledger, and nothing is shown unrecorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from hub.db import refs_by_agency
from hub.disclosure import Asker, DisclosureEngine, LinkedProgram
from hub.models import Assignment, CaseloadVisit, Encoding, LinkageRun, RecordCluster
from hub.services import probing


@dataclass
class CaseloadItem:
    """One client of the caseload, by the agency's own pseudonymous reference."""

    ref: str
    shared: bool
    programs: list[str]
    changes: list[str] = field(default_factory=list)
    past_programs: list[str] = field(default_factory=list)


@dataclass
class Caseload:
    """The caseload as of `at`, and the visit before this one."""

    staff: str
    at: datetime
    previous_visit: datetime | None
    items: list[CaseloadItem]


def caseload(engine: DisclosureEngine, session: Session, asker: Asker, *, at: datetime) -> Caseload:
    """Build `asker`'s caseload and record this visit. The caller commits."""
    agency_id, staff = asker.agency_id, asker.staff
    previous = last_visit(session, agency_id, staff)
    assigned = session.execute(
        select(col(Assignment.ref), col(Assignment.updated_at))
        .where(col(Assignment.agency_id) == agency_id, col(Assignment.case_manager_id) == staff)
        .order_by(col(Assignment.ref))
    ).all()
    changed_at = cluster_changes(session, agency_id, [ref for ref, _ in assigned])
    # The links are read before the ledger's write lock is taken: only deciding needs it.
    linked = {ref: engine.linked(session, agency_id, ref) for ref, _ in assigned}
    noticed = exits_noticed(session, [key for found in linked.values() for key in found])
    engine.begin(session)
    shown: list[tuple[str, LinkedProgram]] = []
    items = []
    for ref, updated_at in assigned:
        entries = engine.decide(session, agency_id, linked[ref], at=at, levels=("existence",))
        current = [e for e in entries if e.current]
        item = CaseloadItem(ref, bool(current), sorted({e.program for e in current}))
        item.past_programs = sorted({_until(e) for e in entries if not e.current})
        if previous is None or updated_at > previous:
            item.changes.append("newly assigned to you")
        item.changes.extend(match_changes(entries, changed_at.get(ref), noticed, previous))
        items.append(item)
        shown.extend((ref, e) for e in entries)
    engine.record_existence(session, asker, shown, at=at)
    for ref in {ref for ref, _ in shown}:
        probing.flag_probes(
            session,
            engine.settings,
            asking_agency=agency_id,
            asking_ref=ref,
            shown=[entry for r, entry in shown if r == ref],
            at=at,
        )
    note_visit(session, agency_id, staff, at)
    return Caseload(staff, at, previous, items)


def last_visit(session: Session, agency_id: str, staff: str) -> datetime | None:
    """The previous visit to a caseload (or a team caseload): what changed is relative
    to it."""
    visit = session.get(CaseloadVisit, (agency_id, staff))
    return visit.visited_at if visit else None


def note_visit(session: Session, agency_id: str, staff: str, at: datetime) -> None:
    """Record this visit (after the disclosures: the ledger's lock is taken first)."""
    visit = session.get(CaseloadVisit, (agency_id, staff))
    if visit is None:
        session.add(CaseloadVisit(agency_id=agency_id, staff_id=staff, visited_at=at))
    else:
        visit.visited_at = at
        session.add(visit)


def match_changes(
    entries: list[LinkedProgram],
    cluster_changed: datetime | None,
    noticed: dict[tuple[str, str], datetime],
    previous: datetime | None,
) -> list[str]:
    """What changed about a client's other programs since the `previous` visit: their
    cluster was rewritten, or a program's exit became known."""
    changes = []
    if entries and cluster_changed is not None and (previous is None or cluster_changed > previous):
        changes.append("a new or changed match")
    changes.extend(
        f"exited from {e.program} on {e.exited_on.isoformat()}"
        for e in sorted(entries, key=lambda e: e.program)
        if e.exited_on is not None and _noticed_since(noticed.get((e.agency_id, e.ref)), previous)
    )
    return changes


def _until(entry: LinkedProgram) -> str:
    return f"{entry.program} (until {entry.exited_on.isoformat() if entry.exited_on else '?'})"


def _noticed_since(when: datetime | None, previous: datetime | None) -> bool:
    return when is not None and (previous is None or when > previous)


def exits_noticed(
    session: Session, records: list[tuple[str, str]]
) -> dict[tuple[str, str], datetime]:
    """When the hub learnt of each exited record's exit."""
    out: dict[tuple[str, str], datetime] = {}
    for agency, refs in refs_by_agency(records):
        rows = session.execute(
            select(col(Encoding.ref), col(Encoding.exit_noticed_at)).where(
                col(Encoding.agency_id) == agency,
                col(Encoding.ref).in_(refs),
                col(Encoding.exit_noticed_at).is_not(None),
            )
        )
        out.update({(agency, r): when for r, when in rows})
    return out


def cluster_changes(session: Session, agency_id: str, refs: list[str]) -> dict[str, datetime]:
    """When each record's cluster was last rewritten by a linkage run."""
    out: dict[str, datetime] = {}
    for start in range(0, len(refs), 500):
        rows = session.execute(
            select(col(RecordCluster.ref), col(LinkageRun.finished_at))
            .join(LinkageRun, col(LinkageRun.run_id) == col(RecordCluster.run_id))
            .where(
                col(RecordCluster.agency_id) == agency_id,
                col(RecordCluster.ref).in_(refs[start : start + 500]),
            )
        ).all()
        out.update({ref: when for ref, when in rows if when is not None})
    return out
