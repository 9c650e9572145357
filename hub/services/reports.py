"""Operators' reports built from what the hub stores (never from contacts or plans).

The overlap report is computed once after each linkage run (on the run's worker, not a
request thread) and served from storage; a reader may ask for a larger suppression
limit than the configured one (computed then), never a smaller one. The stored report
counts clients shared now (current records); one of clients ever shared within the last
N months (records current at some time in the window) is computed when asked.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from hub.errors import Unprocessable
from hub.models import Encoding, LinkageRun, OverlapSnapshot, RecordCluster
from hub.services.overlap import Cell, OverlapReport, overlap_report
from hub.services.registry import programs_by_agency
from hub.settings import HubSettings


def program_labels(session: Session) -> dict[str, str]:
    """agency id -> the name its records are counted under (its programs)."""
    return {agency: "+".join(programs) for agency, programs in programs_by_agency(session).items()}


def current_overlap(
    session: Session,
    settings: HubSettings,
    *,
    limit: int | None = None,
    within_months: int | None = None,
) -> OverlapReport:
    """The latest run's stored report of clients shared now, at the configured limit
    (computed and stored now if the run has none yet); or one computed at a larger
    `limit`, or of clients ever shared within the last `within_months`."""
    wanted = settings.overlap_min_cell if limit is None else limit
    if wanted < settings.overlap_min_cell:
        raise Unprocessable(
            f"limit: this hub publishes no count under {settings.overlap_min_cell} "
            "(PPRL_OVERLAP_MIN_CELL); ask for that or more"
        )
    if wanted > settings.overlap_min_cell or within_months is not None:
        since = None
        if within_months is not None:
            since = months_before(datetime.now(UTC).date(), within_months)
        return compute_overlap(
            session, limit=wanted, max_programs=settings.overlap_max_programs, since=since
        )
    run_id = session.execute(
        select(func.max(col(LinkageRun.run_id))).where(col(LinkageRun.status) == "succeeded")
    ).scalar_one_or_none()
    if run_id is None:
        return compute_overlap(session, limit=wanted, max_programs=settings.overlap_max_programs)
    stored = session.get(OverlapSnapshot, run_id)
    if (
        stored is not None
        and stored.cell_limit == wanted
        and stored.max_programs == settings.overlap_max_programs
    ):
        return _loads(stored.report)
    return store_overlap(session, run_id, settings)


def store_overlap(session: Session, run_id: int, settings: HubSettings) -> OverlapReport:
    """Compute the overlap of the stored clusters at the configured limit and keep it as
    run `run_id`'s report. The caller commits."""
    report = compute_overlap(
        session, limit=settings.overlap_min_cell, max_programs=settings.overlap_max_programs
    )
    row = session.get(OverlapSnapshot, run_id) or OverlapSnapshot(
        run_id=run_id, cell_limit=0, max_programs=0, report="", computed_at=datetime.now(UTC)
    )
    row.cell_limit, row.max_programs = report.limit, report.max_programs
    row.report, row.computed_at = _dumps(report), datetime.now(UTC)
    session.add(row)
    session.flush()
    return report


def _dumps(report: OverlapReport) -> str:
    return json.dumps(asdict(report))


def _loads(text: str) -> OverlapReport:
    data = json.loads(text)
    cells = [
        Cell(c["kind"], tuple(c["programs"]), c["count"], c["percent_of"])
        for c in data.pop("cells")
    ]
    return OverlapReport(cells=cells, **data)


def months_before(today: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day where it is shorter)."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def compute_overlap(
    session: Session, *, limit: int, max_programs: int, since: date | None = None
) -> OverlapReport:
    """The overlap of the latest linkage, each agency's records as its caseload: the
    records current now (`since` None: clients shared now), or current at some time
    since `since` (clients ever shared within the window: each program served them at
    some point in it, not necessarily at the same time)."""
    current = (
        col(Encoding.exited_on).is_(None)
        if since is None
        else or_(col(Encoding.exited_on).is_(None), col(Encoding.exited_on) >= since)
    )
    # A family member an agency lists without serving them is in nobody's caseload.
    in_scope = and_(current, col(Encoding.member_only).is_(False))
    labels = program_labels(session)
    caseloads = dict.fromkeys(labels.values(), 0)
    caseloads |= {
        labels.get(agency, agency): int(n)
        for agency, n in session.execute(
            select(col(Encoding.agency_id), func.count())
            .where(in_scope)
            .group_by(col(Encoding.agency_id))
        )
    }
    members: dict[int, set[str]] = defaultdict(set)
    for cluster_id, agency in session.execute(
        select(col(RecordCluster.cluster_id), col(RecordCluster.agency_id))
        .join(
            Encoding,
            and_(
                col(Encoding.agency_id) == col(RecordCluster.agency_id),
                col(Encoding.ref) == col(RecordCluster.ref),
            ),
        )
        .where(in_scope)
    ):
        members[int(cluster_id)].add(labels.get(agency, agency))
    for programs in members.values():
        for program in programs:
            caseloads.setdefault(program, 0)
    return overlap_report(
        caseloads,
        (frozenset(m) for m in members.values()),
        limit=limit,
        max_programs=max_programs,
    )


def overlap_csv(report: OverlapReport) -> str:
    """The report as CSV: kind, programs, count, percent of each program's caseload."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "programs", "count", "percent_of_caseloads"])
    for cell in report.cells:
        percents = "; ".join(
            f"{p}: {'suppressed' if v is None else v}" for p, v in cell.percent_of.items()
        )
        count = "suppressed" if cell.count is None else cell.count
        writer.writerow([cell.kind, " & ".join(cell.programs), count, percents])
    return out.getvalue()
