"""/v1/reports: aggregate reports for operators and executives."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from contract import (
    AgencyHealthOut,
    DashboardOut,
    FamiliesReportOut,
    OverlapCellOut,
    OverlapOut,
    ProbeFlagOut,
    TwoGenerationCellOut,
)
from hub.auth import require_aggregate_reader, require_report_reader
from hub.deps import CipherDep, HubDep, LedgerDep, PrincipalDep, SessionDep, WriterSessionDep
from hub.models import ProbeFlag
from hub.routes.api.dashboard_out import dashboard_csv, dashboard_out
from hub.services import probing
from hub.services.dashboard import current_dashboard
from hub.services.families_report import FamilyReport, compute_families, families_csv
from hub.services.health import encoding_health
from hub.services.overlap import MIN_LIMIT
from hub.services.reports import current_overlap, overlap_csv

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/overlap",
    summary="Clients shared between programs, small cells suppressed",
    response_model=OverlapOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_overlap(
    hub: HubDep,
    session: WriterSessionDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=MIN_LIMIT, le=1000)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    within_months: Annotated[
        int | None,
        Query(
            ge=1,
            le=240,
            description="Count clients ever shared within this many months (records "
            "current at some time in the window), not only those shared now.",
        ),
    ] = None,
) -> Any:
    """Operators, auditors and agency executives. The report of the latest linkage run,
    computed after it;
    `limit` (default: the hub's PPRL_OVERLAP_MIN_CELL, never under 11) is the smallest
    count published, and may only be raised. By default it counts clients shared now;
    `within_months` counts those ever shared within the window."""
    require_aggregate_reader(principal)
    report = current_overlap(session, hub.settings, limit=limit, within_months=within_months)
    session.commit()  # a report computed for the first time is kept for the next reader
    if format == "csv":
        return Response(
            overlap_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="overlap.csv"'},
        )
    return OverlapOut(
        scope="currently_shared" if within_months is None else "ever_shared",
        within_months=within_months,
        limit=report.limit,
        suppressed_primary=report.suppressed_primary,
        suppressed_complementary=report.suppressed_complementary,
        cells=[
            OverlapCellOut(
                kind=c.kind,
                programs=list(c.programs),
                count=c.count,
                percent_of=c.percent_of,
            )
            for c in report.cells
        ],
    )


@router.get(
    "/families",
    summary="Families known to several programs: two-generation counts, small cells suppressed",
    response_model=FamiliesReportOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_families(
    hub: HubDep,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=MIN_LIMIT, le=1000)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Operators, auditors and agency executives (README: Families): children served by
    one program whose parent or guardian is served by another, families by how many
    programs serve them, and families two or more agencies recorded; every count under
    `limit` (default PPRL_OVERLAP_MIN_CELL, never under 11) suppressed."""
    require_aggregate_reader(principal)
    wanted = max(hub.settings.overlap_min_cell, limit or 0)
    report = compute_families(session, limit=wanted)
    if format == "csv":
        return Response(
            families_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="families.csv"'},
        )
    return families_out(report)


def families_out(report: FamilyReport) -> FamiliesReportOut:
    """The families report as the API states it."""
    return FamiliesReportOut(
        limit=report.limit,
        two_generation=[
            TwoGenerationCellOut(child_program=child, parent_program=parent, children=value)
            for (child, parent), value in report.two_generation.items()
        ],
        families_by_programs=report.families_by_programs,
        recorded_by_several_agencies=report.recorded_by_several_agencies,
        suppressed=report.suppressed,
    )


@router.get(
    "/dashboard",
    summary="The management dashboard: what disrupts clients' progress, de-identified",
    response_model=DashboardOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_dashboard(
    hub: HubDep,
    session: WriterSessionDep,
    principal: PrincipalDep,
    cipher: CipherDep,
    ledger: LedgerDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Operators, auditors and agency executives: monthly series (newly shared, exits,
    newly stuck, completed, intake lookups) with a benchmark line, stuck milestones by
    program, reason and office, overdue milestones, median days to complete, and the
    consent rate; every count under the limit suppressed, with any that totals would
    give away (README: Management dashboard)."""
    require_aggregate_reader(principal)
    dashboard = current_dashboard(session, hub.settings, cipher, ledger.state)
    session.commit()  # the overlap report it relies on is kept, as for its own route
    if format == "csv":
        return Response(
            dashboard_csv(dashboard),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="dashboard.csv"'},
        )
    return dashboard_out(dashboard)


@router.get("/probe-flags", summary="Signs of membership probing (operators, auditors)")
def get_probe_flags(session: SessionDep, principal: PrincipalDep) -> list[ProbeFlagOut]:
    """Existence answers about records uploaded just before the question, or linking at
    exactly 1.0 (README: "Probing"); the newest thousand."""
    require_report_reader(principal)
    return [probe_flag_out(flag, operator=True) for flag in probing.flags(session)]


def probe_flag_out(flag: ProbeFlag, *, operator: bool) -> ProbeFlagOut:
    """A flag as the API shows it; the asking record only to operators."""
    return ProbeFlagOut(
        kind=flag.kind,
        asking_agency=flag.asking_agency,
        asking_ref=flag.asking_ref if operator else None,
        disclosing_agency=flag.disclosing_agency,
        disclosing_program=flag.disclosing_program,
        disclosing_ref=flag.disclosing_ref,
        run_id=flag.run_id,
        flagged_at=flag.flagged_at,
    )


@router.get("/encoding-health", summary="Encoding health per agency")
def get_encoding_health(session: SessionDep, principal: PrincipalDep) -> list[AgencyHealthOut]:
    """Operators and auditors: popcount and its drift, canary, epochs and schemas, and
    the share of records that link to nobody, per agency."""
    require_report_reader(principal)
    return [
        AgencyHealthOut.model_validate(health, from_attributes=True)
        for health in encoding_health(session)
    ]
