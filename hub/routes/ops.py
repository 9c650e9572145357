"""Operations endpoints: liveness, readiness and metrics. No authentication, no PII."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hub import migrate
from hub.deps import HubDep
from hub.errors import problem, problem_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers (no I/O)")
def healthz() -> dict[str, str]:
    """Always ok while the process runs."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable, migrations at head, keys loaded",
    responses=problem_responses(503),
)
def readyz(hub: HubDep) -> Response:
    """200 when the hub can serve; 503 naming what is missing."""
    checks: dict[str, bool] = {}
    try:
        with hub.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = True
        checks["migrations_at_head"] = (
            migrate.current_revision(hub.engine) == migrate.head_revision()
        )
    except Exception:
        checks["database"] = False
        checks["migrations_at_head"] = False
    checks["log_key_loaded"] = hub.ledger is not None
    checks["data_key_loaded"] = hub.cipher is not None
    failing = [name for name, ok in checks.items() if not ok]
    if failing:
        return problem(503, "not ready: " + ", ".join(failing))
    return Response(content='{"status":"ready"}', media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(hub: HubDep) -> Response:
    """Request counts and latencies, upload counts, ledger size."""
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)
