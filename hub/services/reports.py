"""Operators' reports built from what the hub stores (never from contacts or plans).

The overlap report is computed once after each linkage run (on the run's worker, not a
request thread) and served from storage; a reader may ask for a larger suppression
limit than the configured one (computed then), never a smaller one.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import func, select
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
    session: Session, settings: HubSettings, *, limit: int | None = None
) -> OverlapReport:
    """The latest run's stored report at the configured limit (computed and stored now
    if the run has none yet), or one computed at a larger `limit`."""
    wanted = settings.overlap_min_cell if limit is None else limit
    if wanted < settings.overlap_min_cell:
        raise Unprocessable(
            f"limit: this hub publishes no count under {settings.overlap_min_cell} "
            "(PPRL_OVERLAP_MIN_CELL); ask for that or more"
        )
    if wanted > settings.overlap_min_cell:
        return compute_overlap(session, limit=wanted, max_programs=settings.overlap_max_programs)
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


def compute_overlap(session: Session, *, limit: int, max_programs: int) -> OverlapReport:
    """The overlap of the latest linkage, each agency's encodings as its caseload."""
    labels = program_labels(session)
    caseloads = dict.fromkeys(labels.values(), 0)
    caseloads |= {
        labels.get(agency, agency): int(n)
        for agency, n in session.execute(
            select(col(Encoding.agency_id), func.count()).group_by(col(Encoding.agency_id))
        )
    }
    members: dict[int, set[str]] = defaultdict(set)
    for cluster_id, agency in session.execute(
        select(col(RecordCluster.cluster_id), col(RecordCluster.agency_id))
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
