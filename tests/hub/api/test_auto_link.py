"""Linking on the hub's rhythm (issue 22): once encodings stop arriving for the sync
window, an incremental run links them by itself; never the first run, never two at
once, and nothing when nothing new came."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.models import LinkageRun
from hub.services.auto_link import REQUESTED_BY, due, link_if_due
from tests.hub.api.factories import Api, run, sync


def test_after_the_sync_window_an_incremental_run_links_what_arrived(api: Api) -> None:
    api.register("DCFS", "DOC")
    settings = api.settings.model_copy(update={"auto_link_after_minutes": 30})
    sync(api, "DCFS", "00001", {f"dcfs-{i}": i for i in range(30)})
    sync(api, "DOC", "00001", {f"doc-{i}": i for i in range(10, 40)})
    now = datetime.now(UTC)
    # Before any run, nothing starts by itself: the first run's threshold is checked by
    # an operator.
    assert not due(api.session, settings, now=now + timedelta(hours=2))
    first = run(api, kind="full", threshold=0.8)
    assert first["status"] == "succeeded", first
    assert not due(api.session, settings, now=now + timedelta(hours=2))  # nothing new

    sync(api, "DOC", "00002", {f"doc-{i}": i for i in range(40, 45)})
    now = datetime.now(UTC)
    assert not due(api.session, settings, now=now + timedelta(minutes=5))  # window open
    assert not due(api.session, api.settings, now=now + timedelta(hours=2))  # switched off
    later = now + timedelta(minutes=31)
    run_id = link_if_due(api.hub.linkage, api.session, settings, later)
    assert run_id is not None
    linked = api.session.get(LinkageRun, run_id)
    assert linked is not None
    assert (linked.kind, linked.status, linked.requested_by) == (
        "incremental",
        "succeeded",
        REQUESTED_BY,
    )
    assert link_if_due(api.hub.linkage, api.session, settings, later) is None  # caught up


def test_nothing_starts_while_another_run_is_on_its_way(api: Api) -> None:
    api.register("DCFS", "DOC")
    settings = api.settings.model_copy(update={"auto_link_after_minutes": 0})
    sync(api, "DCFS", "00001", {f"dcfs-{i}": i for i in range(20)})
    sync(api, "DOC", "00001", {f"doc-{i}": i for i in range(20)})
    assert run(api, kind="full", threshold=0.8)["status"] == "succeeded"
    sync(api, "DOC", "00002", {"doc-new": 77})
    api.session.add(
        LinkageRun(
            kind="full",
            status="queued",
            requested_by="op-1",
            progress=0.0,
            stage="queued",
            created_at=datetime.now(UTC),
        )
    )
    api.session.flush()
    assert due(api.session, settings, now=datetime.now(UTC) + timedelta(minutes=1))
    assert link_if_due(api.hub.linkage, api.session, settings, datetime.now(UTC)) is None
