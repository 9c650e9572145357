"""Operators' reports built from what the hub stores (never from contacts or plans)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from sqlalchemy import func, select
from sqlmodel import Session

from hub.models import Encoding, RecordCluster
from hub.services.overlap import OverlapReport, overlap_report
from hub.services.registry import programs_by_agency


def program_labels(session: Session) -> dict[str, str]:
    """agency id -> the name its records are counted under (its programs)."""
    return {agency: "+".join(programs) for agency, programs in programs_by_agency(session).items()}


def current_overlap(session: Session, *, limit: int) -> OverlapReport:
    """The overlap of the latest linkage, each agency's encodings as its caseload."""
    labels = program_labels(session)
    caseloads = dict.fromkeys(labels.values(), 0)
    caseloads |= {
        labels.get(agency, agency): int(n)
        for agency, n in session.execute(
            select(Encoding.agency_id, func.count()).group_by(Encoding.agency_id)  # type: ignore[call-overload]
        )
    }
    members: dict[int, set[str]] = defaultdict(set)
    for cluster_id, agency in session.execute(
        select(RecordCluster.cluster_id, RecordCluster.agency_id)  # type: ignore[call-overload]
    ):
        members[int(cluster_id)].add(labels.get(agency, agency))
    for programs in members.values():
        for program in programs:
            caseloads.setdefault(program, 0)
    return overlap_report(caseloads, (frozenset(m) for m in members.values()), limit=limit)


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
