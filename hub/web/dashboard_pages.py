"""The management dashboard page, for operators, auditors and agency executives: the
monthly charts with their benchmark and a question to discuss, the tables behind them,
and the same numbers as CSV (`hub.routes.api.dashboard_out`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from charts import monthly_chart
from contract.milestones import STUCK_REASONS
from hub.deps import CipherDep, HubDep, LedgerDep, WriterSessionDep
from hub.routes.api.dashboard_out import dashboard_csv
from hub.services.dashboard import Dashboard, current_dashboard
from hub.web.pages import ReaderPage, signed_in_as
from hub.web.rendering import page_response

router = APIRouter(prefix="/operator", include_in_schema=False)


def _dashboard(
    hub: HubDep, reader: ReaderPage, session: WriterSessionDep, cipher: CipherDep, ledger: LedgerDep
) -> Dashboard:
    """The dashboard now, for a signed-in reader (the overlap report it relies on is
    kept, as its own page does)."""
    dashboard = current_dashboard(session, hub.settings, cipher, ledger.state)
    session.commit()
    return dashboard


DashboardDep = Annotated[Dashboard, Depends(_dashboard)]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, reader: ReaderPage, dashboard: DashboardDep) -> Response:
    """What disrupts clients' progress, by month, program, reason and office."""
    figures = [
        {
            "series": s,
            "svg": monthly_chart(
                f"chart-{s.measure}",
                s.label,
                dashboard.months,
                s.values,
                benchmark=s.benchmark,
                benchmark_label=s.benchmark_label,
            ),
        }
        for s in dashboard.series
    ]
    return page_response(
        request,
        "dashboard.html",
        **signed_in_as(reader),
        dashboard=dashboard,
        figures=figures,
        reasons=STUCK_REASONS,
    )


@router.get("/dashboard.csv")
def dashboard_download(dashboard: DashboardDep) -> Response:
    """The dashboard's numbers as CSV, exactly as the page and the API publish them."""
    return Response(
        dashboard_csv(dashboard),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="dashboard.csv"'},
    )
