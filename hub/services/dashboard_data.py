"""What the management dashboard counts, read from the hub's tables: the facts, one row
each, before anything is counted or suppressed (`hub.services.dashboard` does that).

Nothing here leaves the service layer: record references stay inside, and the plan
fields read are the coded ones (status, dates, service kind, stuck reason).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from consent import ConsentState, parse_leaf
from hub.crypto import DataCipher, milestone_context
from hub.models import (
    Assignment,
    Encoding,
    ExistenceDisclosure,
    FirstContact,
    LedgerEntry,
    Milestone,
    PlanAlertSeen,
    RecordCluster,
    StaffMember,
)
from hub.services.registry import programs_by_agency
from hub.services.reports import program_labels

Interval = tuple[date | None, date | None]  # enrolled_on (None: unknown), exited_on (None: now)


@dataclass(frozen=True)
class PlanFact:
    """One milestone, as the dashboard needs it."""

    program: str
    office: str
    status: str
    service_kind: str
    stuck_reason: str | None
    stuck_since: date | None
    target_end: date | None
    actual_start: date | None
    actual_end: date | None
    open: bool


def clusters(session: Session) -> list[dict[str, list[Interval]]]:
    """Each cluster of the latest run with two or more programs: program -> the
    enrollment intervals of its records there."""
    labels = program_labels(session)
    members: dict[int, dict[str, list[Interval]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(
            col(RecordCluster.cluster_id),
            col(RecordCluster.agency_id),
            col(Encoding.enrolled_on),
            col(Encoding.exited_on),
        )
        .join(
            Encoding,
            (col(Encoding.agency_id) == col(RecordCluster.agency_id))
            & (col(Encoding.ref) == col(RecordCluster.ref)),
        )
        .where(col(Encoding.member_only).is_(False))  # family listed, not served
    )
    for cluster, agency, enrolled, exited in rows:
        members[int(cluster)][labels.get(agency, agency)].append((enrolled, exited))
    return [dict(m) for m in members.values() if len(m) >= 2]


def _day(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def plan_facts(session: Session, cipher: DataCipher) -> Iterator[PlanFact]:
    """Every stored milestone, opened, with its program and its case manager's office
    (`unknown` where the org structure does not say)."""
    labels = program_labels(session)
    offices = {
        (agency, staff): office or "unknown"
        for agency, staff, office in session.execute(
            select(col(StaffMember.agency_id), col(StaffMember.staff_id), col(StaffMember.office))
        )
    }
    assigned = {
        (agency, ref): staff
        for agency, ref, staff in session.execute(
            select(col(Assignment.agency_id), col(Assignment.ref), col(Assignment.case_manager_id))
        )
    }
    rows = session.execute(
        select(
            col(Milestone.agency_id),
            col(Milestone.ref),
            col(Milestone.milestone_id),
            col(Milestone.plan),
            col(Milestone.updated_at),
        ).execution_options(yield_per=2000)
    )
    for agency, ref, milestone_id, sealed, updated_at in rows:
        fields = json.loads(cipher.open(sealed, milestone_context(agency, ref, milestone_id)))
        status = str(fields.get("status", ""))
        staff = assigned.get((agency, ref))
        yield PlanFact(
            program=labels.get(agency, agency),
            office=offices.get((agency, staff), "unknown") if staff else "unknown",
            status=status,
            service_kind=str(fields.get("service_kind") or "not stated"),
            stuck_reason=(fields.get("stuck_reason") or "other") if status == "stuck" else None,
            # Stuck since the program says, else since the hub last heard of the milestone.
            stuck_since=(_day(fields.get("stuck_since")) or updated_at.date())
            if status == "stuck"
            else None,
            target_end=_day(fields.get("target_end")),
            actual_start=_day(fields.get("actual_start")),
            actual_end=_day(fields.get("actual_end")),
            open=status != "complete" and not fields.get("stop_doing"),
        )


def intake_lookups(session: Session, since: datetime) -> Iterator[datetime]:
    """When each intake lookup disclosure was recorded (ACCESS entries with the purpose
    `intake`), from `since` on."""
    marker = b'"purpose":"intake"'
    rows = session.execute(
        select(col(LedgerEntry.appended_at), col(LedgerEntry.leaf))
        .where(col(LedgerEntry.appended_at) >= since)
        .execution_options(yield_per=2000)
    )
    for appended_at, leaf in rows:
        raw = bytes(leaf)
        if marker in raw:  # a cheap filter before parsing
            entry = parse_leaf(raw).entry
            if entry.type == "ACCESS" and entry.purpose == "intake":
                yield appended_at


def consented_shared(session: Session, consent: ConsentState, now: datetime) -> dict[str, int]:
    """Per program: clients shared now (a cluster with two or more programs' current
    records, as the overlap report counts them) whose record there has a live consent
    grant in force now."""
    by_agency = programs_by_agency(session)
    labels = {agency: "+".join(programs) for agency, programs in by_agency.items()}
    members: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = session.execute(
        select(col(RecordCluster.cluster_id), col(RecordCluster.agency_id), col(RecordCluster.ref))
        .join(
            Encoding,
            (col(Encoding.agency_id) == col(RecordCluster.agency_id))
            & (col(Encoding.ref) == col(RecordCluster.ref)),
        )
        .where(col(Encoding.exited_on).is_(None), col(Encoding.member_only).is_(False))
    )
    for cluster, agency, ref in rows:
        members[int(cluster)].append((agency, ref))
    out: dict[str, int] = defaultdict(int)
    for records in members.values():
        if len({labels.get(a, a) for a, _ in records}) < 2:
            continue
        for label in {
            labels.get(agency, agency)
            for agency, ref in records
            if any(_live(consent, p, ref, now) for p in by_agency.get(agency, [agency]))
        }:
            out[label] += 1
    return dict(out)


def _live(consent: ConsentState, program: str, ref: str, now: datetime) -> bool:
    for grant in consent.grants_for(program, ref):
        start, end = grant.terms.effective
        if grant.ended_at_index is None and start <= now < end:
            return True
    return False


def conflict_alerts(session: Session) -> dict[str, tuple[datetime, datetime | None]]:
    """Each conflict between programs' plans the sweep found (stuck milestones aside),
    once however many case managers were told of it: when it was (last) found, and when
    it went away."""
    out: dict[str, tuple[datetime, datetime | None]] = {}
    rows = session.execute(
        select(
            col(PlanAlertSeen.fingerprint),
            col(PlanAlertSeen.seen_at),
            col(PlanAlertSeen.resolved_at),
        ).where(col(PlanAlertSeen.kind) != "stuck")
    )
    for key, seen, resolved in rows:
        earlier = out.get(key)
        if earlier is None or seen > earlier[0]:
            out[key] = (seen, resolved)
    return out


def first_contacts(session: Session) -> list[tuple[datetime, float]]:
    """Each first contact recorded, with the days since its case manager's agency was
    first shown the match (the first existence disclosure of that program for that
    client); contacts with no recorded disclosure are left out."""
    shown: dict[tuple[str, str, str], datetime] = {}
    for agency, ref, program, at in session.execute(
        select(
            col(ExistenceDisclosure.agency_id),
            col(ExistenceDisclosure.ref),
            col(ExistenceDisclosure.disclosing_program),
            col(ExistenceDisclosure.disclosed_at),
        )
    ):
        key = (agency, ref, program)
        shown[key] = min(at, shown.get(key, at))
    out = []
    for contact in session.execute(select(FirstContact)).scalars():
        first = shown.get((contact.agency_id, contact.ref, contact.program))
        if first is not None and first <= contact.contacted_at:
            out.append(
                (contact.contacted_at, (contact.contacted_at - first).total_seconds() / 86400)
            )
    return out
