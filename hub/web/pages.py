"""The operators' pages: a run's summary, the score histogram with the threshold and
review band, the threshold table (change the threshold, see the counts), the overlap
report; the management dashboard is in `hub.web.dashboard_pages`. Operators and auditors;
agency executives see the de-identified reports (overlap, dashboard) only. Nothing here
shows contacts, plans or record-level consent.

Signing in and out is `hub.web.operator_sign_in`; every page checks the sign-in again.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.auth import Principal, authenticate
from hub.deps import HubDep, SessionDep, WriterSessionDep
from hub.errors import ApiError
from hub.linkage.engine import LinkParams
from hub.models import LinkageRun
from hub.services import quality as quality_service
from hub.services import sync_watch
from hub.services.families_report import compute_families
from hub.services.health import encoding_health
from hub.services.reports import current_overlap
from hub.web import operator_sign_in
from hub.web.rendering import page_response
from keys import Role

# Run ids are 32-bit: a larger one is simply not found (never a database overflow).
RunId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


router = APIRouter(prefix="/operator", include_in_schema=False)


class SignInRequired(Exception):
    """No operator or auditor is signed in: the page answers with the sign-in form, and
    the sign-in returns to the page asked for."""

    def __init__(self, back_to: str = "") -> None:
        super().__init__(back_to)
        self.back_to = back_to


class ExecutivesSeeReports(Exception):
    """An agency executive asked for an operators' page: they see the reports only."""


def _back_to(request: Request) -> str:
    if request.method != "GET":
        return ""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def get_reader(request: Request, hub: HubDep, session: SessionDep) -> Principal:
    """The signed-in operator, auditor or agency executive: a page session from the
    operators' provider, or a pasted token (in the page cookie). Who may read the
    de-identified reports."""
    page_session = operator_sign_in.read(
        hub.page_session_key, request.cookies.get(operator_sign_in.SESSION_COOKIE)
    )
    if page_session is not None and page_session.expires > time.time():
        return Principal(
            hub.settings.operator_issuer or "", page_session.subject, page_session.roles, None
        )
    token = request.cookies.get(operator_sign_in.TOKEN_COOKIE)
    if not token:
        raise SignInRequired(_back_to(request))
    try:
        principal = authenticate(hub, session, f"Bearer {token}")
    except ApiError:
        raise SignInRequired(_back_to(request)) from None
    if not principal.has(*operator_sign_in.READERS):
        raise SignInRequired(_back_to(request))
    return principal


def get_operator(principal: Annotated[Principal, Depends(get_reader)]) -> Principal:
    """The signed-in operator or auditor."""
    if not principal.has(Role.HUB_OPERATOR, Role.AUDITOR):
        raise ExecutivesSeeReports
    return principal


def signed_in_as(reader: Principal) -> dict[str, Any]:
    """What the pages' header needs: who, and whether they see the reports only."""
    return {
        "operator": reader.subject,
        "executive": not reader.has(Role.HUB_OPERATOR, Role.AUDITOR),
    }


OperatorPage = Annotated[Principal, Depends(get_operator)]
ReaderPage = Annotated[Principal, Depends(get_reader)]


def install(app: FastAPI) -> None:
    """Mount the operators' pages: a page asked for without a sign-in goes to it."""

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> Response:
        if exc.back_to:
            query = urlencode({"next": exc.back_to})
            return RedirectResponse(f"/operator/sign-in?{query}", status_code=303)
        return RedirectResponse("/operator/sign-in", status_code=303)

    @app.exception_handler(ExecutivesSeeReports)
    async def to_the_dashboard(request: Request, exc: ExecutivesSeeReports) -> Response:
        return RedirectResponse("/operator/dashboard", status_code=303)

    from hub.web import dashboard_pages  # it builds on this module's helpers

    app.include_router(router)
    app.include_router(operator_sign_in.router)
    app.include_router(dashboard_pages.router)


def _sign_in() -> RedirectResponse:
    return RedirectResponse("/operator/sign-in", status_code=303)


@router.get("", response_class=HTMLResponse)
def latest(request: Request, operator: OperatorPage, session: SessionDep) -> Response:
    """The latest finished run."""
    run_id = quality_service.latest_succeeded_run(session)
    if run_id is None:
        return page_response(
            request,
            "error.html",
            title="No linkage run yet",
            message="Start one with pprl hub run-linkage.",
        )
    return RedirectResponse(f"/operator/runs/{run_id}", status_code=303)


def _margin(run: LinkageRun) -> float:
    # A run that failed before solving stored no parameters: the engine's default then.
    params = json.loads(run.params) if run.params else {}
    return float(params.get("review_margin", LinkParams().review_margin))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def runpage_response(
    request: Request,
    run_id: RunId,
    hub: HubDep,
    operator: OperatorPage,
    session: SessionDep,
    *,
    threshold: float | None = None,
) -> Response:
    """A run: summary, histogram, threshold table; `threshold` shows the counts there.
    Cluster counts are published under the same small-cell rule as the overlap report."""
    run = quality_service.find_run(session, run_id)
    if run is None:
        return page_response(
            request,
            "error.html",
            404,
            operator=operator.subject,
            title="Not found",
            message="There is no such linkage run.",
        )
    margin = _margin(run)
    result = quality_service.quality(session, run, margin=margin)
    counts = json.loads(run.counts) if run.counts else {}
    chosen = threshold if threshold is not None else run.threshold
    chosen_row = None
    if chosen is not None:
        chosen_row = min(result.table, key=lambda r: abs(r.threshold - chosen))
    svg = quality_service.histogram_svg(result.histogram, chosen, margin)
    by_size = quality_service.published_sizes(
        result.clusters_by_size, limit=hub.settings.overlap_min_cell
    )
    return page_response(
        request,
        "run.html",
        operator=operator.subject,
        run=run,
        counts=counts,
        table=result.table,
        chosen=chosen,
        chosen_row=chosen_row,
        svg=svg,
        by_size=by_size,
        limit=hub.settings.overlap_min_cell,
        fit_from_run=result.fit_from_run,
    )


def _scores(session: Session, run_id: int) -> quality_service.Quality | Response:
    """A run's score distribution and threshold table, for the CSV downloads."""
    run = quality_service.find_run(session, run_id)
    if run is None:
        return Response("no such run\n", status_code=404, media_type="text/plain")
    return quality_service.quality(session, run, margin=_margin(run), clusters=False)


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/runs/{run_id}/thresholds.csv")
def thresholds_csv(run_id: RunId, operator: OperatorPage, session: SessionDep) -> Response:
    """The threshold table as CSV."""
    result = _scores(session, run_id)
    if isinstance(result, Response):
        return result
    return _csv(quality_service.table_csv(result.table), f"run-{run_id}-thresholds.csv")


@router.get("/overlap", response_class=HTMLResponse)
def overlappage_response(
    request: Request,
    hub: HubDep,
    operator: ReaderPage,
    session: WriterSessionDep,
    *,
    limit: int | None = None,
    within_months: int | None = None,
) -> Response:
    """The overlap report, small cells suppressed (a limit may only be raised): clients
    shared now, or ever shared within the last N months. A report computed for the first
    time is kept."""
    floor = hub.settings.overlap_min_cell
    wanted = None if limit is None else max(floor, min(limit, 1000))
    months = None if within_months is None else max(1, min(within_months, 240))
    report = current_overlap(session, hub.settings, limit=wanted, within_months=months)
    session.commit()
    return page_response(
        request,
        "overlap.html",
        **signed_in_as(operator),
        report=report,
        within_months=months,
        families=compute_families(session, limit=report.limit),
    )


@router.get("/health", response_class=HTMLResponse)
def healthpage_response(
    request: Request, hub: HubDep, operator: OperatorPage, session: SessionDep
) -> Response:
    """Encoding health per agency, and whether each agency's nightly job still runs."""
    agencies = encoding_health(session)
    syncs = sync_watch.sync_statuses(session, hub.settings, now=datetime.now(UTC))
    return page_response(
        request, "health.html", operator=operator.subject, agencies=agencies, syncs=syncs
    )


@router.get("/runs/{run_id}/histogram.csv")
def histogram_csv(run_id: RunId, operator: OperatorPage, session: SessionDep) -> Response:
    """The score histogram behind the chart, as CSV."""
    result = _scores(session, run_id)
    if isinstance(result, Response):
        return result
    lines = ["score_from,score_to,records"]
    if result.histogram:
        edges, counts = result.histogram["edges"], result.histogram["counts"]
        lines += [f"{edges[k]:.3f},{edges[k + 1]:.3f},{int(c)}" for k, c in enumerate(counts)]
    return _csv("\n".join(lines) + "\n", f"run-{run_id}-scores.csv")
