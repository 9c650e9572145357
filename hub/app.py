"""`create_app(settings)`: the hub as a FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session

from hub import errors
from hub.context import HubContext
from hub.errors import COMMON_PROBLEMS
from hub.observability import RequestMiddleware, configure_logging
from hub.routes import docs, ops
from hub.routes.api import (
    agencies,
    caseload,
    clients,
    ledger,
    linkage,
    lookups,
    notifications,
    probes,
    records,
    reports,
    review,
    uploads,
)
from hub.services import auto_link, notify
from hub.settings import HubSettings, get_settings
from hub.web import pages

log = logging.getLogger("pprl.hub")

API_VERSION = "0.1.0"


def create_app(settings: HubSettings | None = None) -> FastAPI:
    """Build the hub. Migrations are not run here: `pprl hub migrate` is a separate step."""
    settings = settings or get_settings()
    configure_logging()
    hub = HubContext.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        abandoned = await asyncio.to_thread(hub.linkage.abandon_interrupted)
        if abandoned:
            log.warning("%d linkage runs were interrupted by a restart; marked failed", abandoned)
        tasks = []
        if hub.ledger is not None:  # a checkpoint per interval when the ledger grew
            every = hub.settings.checkpoint_interval_seconds
            checkpoints = _every(every, lambda: _issue_checkpoint(hub), "checkpoint")
            tasks.append(asyncio.create_task(checkpoints))
        if auto_link.enabled(hub.settings):  # README: Every night
            linking = _every(60, lambda: _link_if_due(hub), "scheduled linkage")
            tasks.append(asyncio.create_task(linking))
        if hub.settings.smtp_host and hub.cipher is not None:
            every = hub.settings.notify_interval_seconds
            email = _every(every, lambda: deliver_notifications(hub), "notification delivery")
            tasks.append(asyncio.create_task(email))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            hub.engine.dispose()

    app = FastAPI(
        title="pprl-hub",
        version=API_VERSION,
        description=(
            "Privacy-preserving record linkage hub with a signed consent ledger. The hub "
            "never sees PII: agencies upload Bloom-filter encodings under pseudonymous "
            "record references. Every error is an RFC 9457 problem document."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by hub.routes.docs: local assets, strict CSP
        redoc_url=None,
    )
    app.state.hub = hub
    errors.install(app)
    app.add_middleware(RequestMiddleware, metrics=hub.metrics, max_body=settings.max_request_bytes)
    app.include_router(ops.router)
    app.include_router(docs.router)
    pages.install(app)
    app.mount(
        "/operator/static",
        StaticFiles(directory=Path(pages.__file__).parent / "static"),
        name="operator-static",
    )
    for module in (
        agencies,
        ledger,
        uploads,
        records,
        linkage,
        clients,
        lookups,
        caseload,
        notifications,
        reports,
        review,
        probes,
    ):
        app.include_router(module.router, responses=COMMON_PROBLEMS)
    return app


async def _every(seconds: float, work: Callable[[], object], what: str) -> None:
    """Run `work` on a worker thread every `seconds`; a failure is logged, not fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("%s failed", what)


def _link_if_due(hub: HubContext) -> None:
    with hub.linkage.sessions() as session:
        run_id = auto_link.link_if_due(hub.linkage, session, hub.settings, datetime.now(UTC))
    if run_id is not None:
        log.info("scheduled linkage run %d finished", run_id)


def _issue_checkpoint(hub: HubContext) -> None:
    if hub.ledger is None:  # pragma: no cover
        return
    with Session(hub.engine) as session:
        if hub.ledger.issue_checkpoint(session) is not None:
            session.commit()
        hub.metrics.ledger_size.set(len(hub.ledger.tree))


def deliver_notifications(hub: HubContext) -> dict[str, int]:
    """One delivery pass over the outbox (the hub's worker and `pprl hub notify`)."""
    if hub.cipher is None:
        raise RuntimeError("notifications need the data key (PPRL_DATA_KEY_FILE)")
    if not hub.settings.smtp_host:
        # Refuse before claiming anything: a claimed message is never sent again.
        raise RuntimeError("no SMTP server is configured: set PPRL_SMTP_HOST")
    return notify.deliver_pending(
        lambda: Session(hub.engine),
        hub.settings,
        send=notify.smtp_sender(hub.settings),
        email_of=notify.email_from_contacts(hub.cipher),
    )
