"""The node's operations surface: /healthz (the process answers), /readyz (the state
database opens; the hub's reachability is reported, not required, since the caseload is
local data) and /metrics (Prometheus text format: the witness's state, so an alarm pages
someone even when no case manager opens a page). Counts only, no PII; with
PPRL_NODE_METRICS_TOKEN_FILE set, only the scraper holding that token may read /metrics."""

from __future__ import annotations

import hmac
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from contract.errors import HubUnreachable

router = APIRouter(include_in_schema=False)


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> PlainTextResponse:
    """Liveness: the process answers (no I/O)."""
    return PlainTextResponse("ok\n")


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when the pages can be served (the state database opens)."""
    node = request.app.state.node
    checks: dict[str, str] = {}
    try:
        state = node.state()
        try:
            state.installation_id  # noqa: B018  (a read that proves the database opens)
        finally:
            state.close()
        checks["state"] = "ok"
    except Exception as exc:
        checks["state"] = f"failed ({type(exc).__name__})"
    try:
        answer = node.hub.request("GET", "/healthz")
        checks["hub"] = "ok" if answer.status_code == 200 else f"answered {answer.status_code}"
    except HubUnreachable as exc:
        checks["hub"] = f"unreachable ({exc.cause})"
    if node.witness is not None:
        checks["witness"] = "alarm" if node.witness.alarms() else "ok"
    return JSONResponse(checks, 200 if checks["state"] == "ok" else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> PlainTextResponse:
    """Witnessed and cosigned ledger sizes, and alarms by kind."""
    node = request.app.state.node
    token: bytes | None = node.metrics_token
    if token is not None:
        given = (authorization or "").removeprefix("Bearer ").strip().encode()
        if not hmac.compare_digest(given, token):
            return PlainTextResponse("the metrics scraper's bearer token is required\n", 401)
    lines = []
    if node.witness is not None:
        status = node.witness.status()
        kinds = Counter(alarm.kind for alarm in node.witness.alarms())
        lines += [
            "# HELP pprl_node_witnessed_size Entries of the hub's ledger this node witnessed.",
            "# TYPE pprl_node_witnessed_size gauge",
            f"pprl_node_witnessed_size {status['witnessed_size']}",
            "# HELP pprl_node_cosigned_size The largest checkpoint this node cosigned.",
            "# TYPE pprl_node_cosigned_size gauge",
            f"pprl_node_cosigned_size {status['cosigned_size']}",
            "# HELP pprl_node_witness_alarms_total Rollbacks, forks and tampering the "
            "witness saw (any is a page).",
            "# TYPE pprl_node_witness_alarms_total counter",
            *(
                f'pprl_node_witness_alarms_total{{kind="{kind}"}} {kinds.get(kind, 0)}'
                for kind in ("rollback", "fork", "tampered")
            ),
        ]
    lines += [
        "# HELP pprl_node_witness_configured Whether the hub's log key is pinned here.",
        "# TYPE pprl_node_witness_configured gauge",
        f"pprl_node_witness_configured {int(node.witness is not None)}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
