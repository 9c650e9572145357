"""Operations endpoints: liveness, readiness and metrics. No PII. Liveness and readiness
answer anyone (load balancers); metrics only the scraper holding PPRL_METRICS_TOKEN_FILE's
token (in development, with no token configured, anyone on the port)."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hub import migrate
from hub.deps import HubDep, SessionDep
from hub.errors import problem, problem_responses
from hub.services import sync_watch

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


log = logging.getLogger("pprl.hub")


@router.get(
    "/metrics",
    summary="Prometheus metrics (scraper token)",
    response_class=Response,
    responses=problem_responses(401, 404),
)
def metrics(
    hub: HubDep, session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Request counts and latencies, upload counts, ledger size, each agency's sync age."""
    token = hub.metrics_token
    if token is None:
        if hub.settings.environment == "production":
            log.warning("/metrics asked for, but PPRL_METRICS_TOKEN_FILE is not set")
            return problem(404, "no such resource")
    else:
        given = (authorization or "").removeprefix("Bearer ").strip().encode()
        if not hmac.compare_digest(given, token):
            return problem(401, "the metrics scraper's bearer token is required")
    for status in sync_watch.sync_statuses(session, hub.settings, now=datetime.now(UTC)):
        age = -1.0 if status.age_hours is None else status.age_hours * 3600
        hub.metrics.sync_age.labels(agency=status.agency_id).set(age)
        hub.metrics.sync_stale.labels(agency=status.agency_id).set(int(status.stale))
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)
