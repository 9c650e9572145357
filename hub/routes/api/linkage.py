"""/v1/linkage/runs: operators start linkage runs and follow them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Response, status

from contract import LinkageRunIn, LinkageRunOut
from hub.auth import require_operator
from hub.deps import HubDep, PrincipalDep, SessionDep
from hub.models import LinkageRun

router = APIRouter(prefix="/v1/linkage", tags=["linkage"])
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _json(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def to_out(run: LinkageRun) -> LinkageRunOut:
    """A run as operators see it (LSH bit positions are left out: a long list of numbers
    that says nothing to a person)."""
    params = _json(run.params)
    if params and isinstance(params.get("candidates"), dict):
        params["candidates"] = {k: v for k, v in params["candidates"].items() if k != "positions"}
    assert run.run_id is not None  # noqa: S101  (a stored run has its id)
    return LinkageRunOut(
        run_id=run.run_id,
        kind=run.kind,
        status=run.status,
        requested_by=run.requested_by,
        requested_threshold=run.requested_threshold,
        threshold=run.threshold,
        threshold_source=run.threshold_source,
        progress=run.progress,
        stage=run.stage,
        error=run.error,
        params=params,
        counts=_json(run.counts),
        proposal=_json(run.proposal),
        epoch=run.epoch,
        schema_fingerprint=run.schema_fingerprint,
        through_seq=run.through_seq,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


@router.post(
    "/runs", status_code=status.HTTP_202_ACCEPTED, summary="Start a linkage run (operators)"
)
def start_run(
    body: LinkageRunIn,
    background: BackgroundTasks,
    response: Response,
    hub: HubDep,
    session: SessionDep,
    principal: PrincipalDep,
) -> LinkageRunOut:
    """Queues the run and answers at once; follow it at the returned Location. 409 while
    another run is queued or running."""
    require_operator(principal)
    run = hub.linkage.request(
        session, kind=body.kind, threshold=body.threshold, requested_by=principal.subject
    )
    session.commit()
    session.refresh(run)
    # End the read the refresh began: on SQLite a reader left open until the request ends
    # would keep the run, started right after the response, from committing.
    session.expunge(run)
    session.rollback()
    assert run.run_id is not None  # noqa: S101
    background.add_task(hub.linkage.execute, run.run_id)
    response.headers["Location"] = f"/v1/linkage/runs/{run.run_id}"
    return to_out(run)


@router.get("/runs", summary="Recent linkage runs, newest first (operators)")
def list_runs(hub: HubDep, session: SessionDep, principal: PrincipalDep) -> list[LinkageRunOut]:
    """The last 50 runs."""
    require_operator(principal)
    return [to_out(r) for r in hub.linkage.recent(session)]


@router.get("/runs/{run_id}", summary="One linkage run: status, progress, counts (operators)")
def get_run(
    run_id: RunId, hub: HubDep, session: SessionDep, principal: PrincipalDep
) -> LinkageRunOut:
    """404 for an unknown run."""
    require_operator(principal)
    return to_out(hub.linkage.get(session, run_id))
