"""Stale syncs (issue 22): every node checks in at the end of each sync, changes or not;
an agency not heard from for longer than expected is flagged on the operators' health
page and in /metrics, and one that never synced is flagged from the start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from hub.models import SyncCheckIn
from hub.services.sync_watch import sync_statuses
from hub.web.operator_sign_in import TOKEN_COOKIE
from keys import Role
from tests.hub.api.factories import Api


def _check_in(api: Api, agency: str) -> dict[str, object]:
    response = api.client.put(
        f"/v1/agencies/{agency}/sync-check-in",
        json={"runs": 1, "batches": 3},
        headers=api.as_(agency),
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_node_that_stops_syncing_is_flagged_stale(api: Api) -> None:
    api.register("DCFS", "DOC", "DVR")
    assert _check_in(api, "DOC")["expected_every_hours"] == 26
    _check_in(api, "DVR")
    # DVR's node last checked in thirty hours ago.
    row = api.session.get(SyncCheckIn, "DVR")
    assert row is not None
    row.last_sync_at = datetime.now(UTC) - timedelta(hours=30)
    api.session.flush()
    now = datetime.now(UTC)
    statuses = {s.agency_id: s for s in sync_statuses(api.session, api.settings, now=now)}
    assert not statuses["DOC"].stale
    assert statuses["DVR"].stale
    assert "last synced 30 hours ago (expected every 26)" in (statuses["DVR"].warning or "")
    assert statuses["DCFS"].stale  # registered, never synced
    assert "never synced" in (statuses["DCFS"].warning or "")
    # An agency on a weekly rhythm is not stale after thirty hours.
    weekly = api.settings.model_copy(update={"sync_expected_hours_by_agency": {"DVR": 170}})
    weekly_statuses = {s.agency_id: s for s in sync_statuses(api.session, weekly, now=now)}
    assert not weekly_statuses["DVR"].stale

    metrics = api.client.get("/metrics").text
    assert 'pprl_agency_sync_stale{agency="DVR"} 1.0' in metrics
    assert 'pprl_agency_sync_stale{agency="DOC"} 0.0' in metrics
    assert 'pprl_agency_sync_age_seconds{agency="DCFS"} -1.0' in metrics

    token = api.operators.issue(subject="op-1", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
    page = TestClient(api.client.app, cookies={TOKEN_COOKIE: token}).get("/operator/health")
    assert page.status_code == 200, page.text
    row_html = page.text.split('<th scope="row">DVR</th>')[1].split("</tr>")[0]
    assert "<strong>Stale</strong>" in row_html
    assert "check the agency&#39;s nightly job" in row_html


def test_only_the_agencys_own_node_checks_in(api: Api) -> None:
    api.register("DCFS", "DOC")
    other = api.client.put(
        "/v1/agencies/DOC/sync-check-in", json={"runs": 0, "batches": 0}, headers=api.as_("DCFS")
    )
    assert other.status_code == 404
    staff = api.client.put(
        "/v1/agencies/DOC/sync-check-in",
        json={"runs": 0, "batches": 0},
        headers=api.as_("DOC", "cm-0007", Role.CASE_MANAGER),
    )
    assert staff.status_code == 404
    assert api.session.get(SyncCheckIn, "DOC") is None
