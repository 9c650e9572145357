"""Linking on the hub's rhythm (issue 22): once encodings stop arriving for the sync
window, an incremental run links them by itself; never the first run, never two at
once, and nothing when nothing new came."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.models import LinkageRun
from hub.services.auto_link import REQUESTED_BY, due, link_if_due
from hub.settings import HubSettings
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


def test_at_a_time_of_day_a_run_links_what_arrived_once_that_day(api: Api) -> None:
    api.register("DCFS", "DOC")
    settings = api.settings.model_copy(
        update={"auto_link_at": time(2, 30), "auto_link_timezone": "America/Chicago"}
    )
    sync(api, "DCFS", "00001", {f"dcfs-{i}": i for i in range(20)})
    sync(api, "DOC", "00001", {f"doc-{i}": i for i in range(20)})
    assert run(api, kind="full", threshold=0.8)["status"] == "succeeded"
    sync(api, "DOC", "00002", {"doc-new": 77})
    chicago = ZoneInfo("America/Chicago")
    tomorrow = datetime.now(chicago).date() + timedelta(days=1)
    before = datetime.combine(tomorrow, time(2, 29), tzinfo=chicago)
    at = datetime.combine(tomorrow, time(2, 31), tzinfo=chicago)
    assert not due(api.session, settings, now=before.astimezone(UTC))
    assert due(api.session, settings, now=at.astimezone(UTC))  # 08:31 UTC, in any season
    run_id = link_if_due(api.hub.linkage, api.session, settings, at.astimezone(UTC))
    assert run_id is not None
    # Once a run was asked for after that day's time (the run's request moved to that
    # moment: the test runs on today's clock), nothing more starts that day.
    linked = api.session.get(LinkageRun, run_id)
    assert linked is not None
    linked.created_at = at.astimezone(UTC)
    api.session.add(linked)
    api.session.flush()
    sync(api, "DOC", "00003", {"doc-newer": 78})
    later = datetime.combine(tomorrow, time(23, 0), tzinfo=chicago)
    assert not due(api.session, settings, now=later.astimezone(UTC))
    next_day = datetime.combine(tomorrow + timedelta(days=1), time(3, 0), tzinfo=chicago)
    assert due(api.session, settings, now=next_day.astimezone(UTC))


def test_a_time_zone_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="PPRL_AUTO_LINK_TIMEZONE"):
        HubSettings(auto_link_timezone="Mars/Olympus_Mons")
