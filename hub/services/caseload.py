"""A case manager's caseload: every client assigned to them, whether another program
may be named as serving them, and what changed since their last visit.

The "shared" flag is itself a disclosure of existence, decided like the client answer's
first level. Each distinct existence disclosure (which client, which other program's
record, on which basis) is appended to the ledger once, the first time it is shown; the
page can be reopened without flooding the ledger, and nothing is shown unrecorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from hub.context import HubContext
from hub.errors import Unavailable
from hub.models import Assignment, CaseloadVisit, ExistenceDisclosure, LinkageRun, RecordCluster
from hub.services import policy, probing
from hub.services.access_log import access_statement
from hub.services.registry import programs_by_agency
from hub.services.sharing import (
    LinkedProgram,
    checkpoint_covering,
    linked_programs,
    linked_records,
)


@dataclass
class CaseloadItem:
    """One client of the caseload, by the agency's own pseudonymous reference."""

    ref: str
    shared: bool
    programs: list[str]
    changes: list[str] = field(default_factory=list)


@dataclass
class Caseload:
    """The caseload as of `at`, and the visit before this one."""

    staff: str
    at: datetime
    previous_visit: datetime | None
    items: list[CaseloadItem]


def caseload(
    hub: HubContext, session: Session, *, agency_id: str, staff: str, now: datetime | None = None
) -> Caseload:
    """Build `staff`'s caseload and record this visit. The caller commits."""
    ledger = hub.ledger
    if ledger is None:
        raise Unavailable("this hub has no ledger key configured")
    at = now or datetime.now(UTC)
    visit = session.get(CaseloadVisit, (agency_id, staff))
    previous = visit.visited_at if visit else None
    assigned = session.execute(
        select(col(Assignment.ref), col(Assignment.updated_at))
        .where(col(Assignment.agency_id) == agency_id, col(Assignment.case_manager_id) == staff)
        .order_by(Assignment.ref)
    ).all()
    changed_at = _cluster_changes(session, agency_id, [ref for ref, _ in assigned])
    programs = programs_by_agency(session)
    mine = programs.get(agency_id, [])
    agreement = hub.settings.existence_policy == "agreement"
    # The links are read before the ledger's write lock is taken: only deciding needs it.
    floor = policy.floor_of(hub.settings)
    linked = {ref: linked_records(session, agency_id, ref, floor=floor) for ref, _ in assigned}
    ledger.sync_as_writer(session)  # decided on committed consent; ACCESS entries follow
    policy.ensure_recorded(ledger, session, hub.settings)
    shown: list[tuple[str, LinkedProgram]] = []
    items = []
    for ref, updated_at in assigned:
        entries = linked_programs(
            ledger,
            linked[ref],
            programs,
            mine,
            levels=("existence",),
            at=at,
            existence_by_agreement=agreement,
        )
        item = CaseloadItem(ref, bool(entries), sorted({e.program for e in entries}))
        if previous is None or updated_at > previous:
            item.changes.append("newly assigned to you")
        when = changed_at.get(ref)
        if entries and when is not None and (previous is None or when > previous):
            item.changes.append("a new or changed match")
        items.append(item)
        shown.extend((ref, e) for e in entries)
    _record_new_disclosures(hub, session, agency_id=agency_id, staff=staff, shown=shown, at=at)
    for ref in {ref for ref, _ in shown}:
        probing.flag_probes(
            session,
            hub.settings,
            asking_agency=agency_id,
            asking_ref=ref,
            shown=[entry for r, entry in shown if r == ref],
            at=at,
        )
    if visit is None:
        session.add(CaseloadVisit(agency_id=agency_id, staff_id=staff, visited_at=at))
    else:
        visit.visited_at = at
        session.add(visit)
    return Caseload(staff, at, previous, items)


def _cluster_changes(session: Session, agency_id: str, refs: list[str]) -> dict[str, datetime]:
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


def _record_new_disclosures(
    hub: HubContext,
    session: Session,
    *,
    agency_id: str,
    staff: str,
    shown: list[tuple[str, LinkedProgram]],
    at: datetime,
) -> None:
    ledger = hub.ledger
    assert ledger is not None  # noqa: S101  (checked by caseload)
    fresh = []
    for ref, entry in shown:
        level = entry.levels["existence"]
        key = (
            agency_id,
            staff,
            ref,
            entry.program,
            entry.ref,
            level.basis or "",
            -1 if level.grant_index is None else level.grant_index,
        )
        if session.get(ExistenceDisclosure, key) is None:
            fresh.append((key, ref, entry))
    if not fresh:
        return
    checkpoint = checkpoint_covering(ledger, session, [entry for _, _, entry in fresh])
    assert checkpoint is not None  # noqa: S101  (there are disclosures to cover)
    for key, ref, entry in fresh:
        level = entry.levels["existence"]
        fields = access_statement(
            entry, [level], staff=staff, requester_record=ref, checkpoint_size=checkpoint[0]
        )
        index, _ = ledger.append_hub_entry(session, fields, now=at)
        session.add(
            ExistenceDisclosure(
                agency_id=key[0],
                staff_id=key[1],
                ref=key[2],
                disclosing_program=key[3],
                subject=key[4],
                basis=key[5],
                grant_index=key[6],
                access_entry=index,
                disclosed_at=at,
            )
        )
