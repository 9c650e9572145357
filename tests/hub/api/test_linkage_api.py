"""Linkage runs over HTTP: full and incremental runs on synced encodings, stable cluster
ids, one run at a time, failures that change nothing, and rebuilds after a restart."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlmodel import col

from hub.linkage.threshold import estimate
from hub.models import LinkageRun, RecordCluster
from hub.services import linkage_store
from keys import Role
from tests.hub.api.factories import Api, ref, run, sync


# Dense enough that strangers score about 0.55, as real encodings do.
def clusters(api: Api) -> dict[str, int]:
    """label-free view: ref -> cluster id."""
    rows = api.session.execute(select(col(RecordCluster.ref), col(RecordCluster.cluster_id))).all()
    return dict(rows)


def groups(api: Api) -> set[frozenset[str]]:
    out: dict[int, set[str]] = {}
    for r, c in clusters(api).items():
        out.setdefault(c, set()).add(r)
    return {frozenset(g) for g in out.values()}


@pytest.fixture
def two_agencies(api: Api) -> Api:
    api.register("DCFS", "DOC")
    sync(api, "DCFS", "d-1", {f"d{p}": p for p in range(40)})
    sync(
        api,
        "DOC",
        "c-1",
        {**{f"c{p}": p for p in range(20)}, **{f"c{p}": p for p in range(100, 120)}},
    )
    return api


def test_a_full_run_then_incremental_runs_follow_each_sync(two_agencies: Api) -> None:
    api = two_agencies
    first = run(api, kind="full", threshold=0.8)
    assert first["status"] == "succeeded", first
    assert first["threshold"] == 0.8
    assert first["threshold_source"] == "set by the operator"
    assert first["counts"]["clusters"] == 20
    assert first["counts"]["records"] == {"DCFS": 40, "DOC": 40}
    assert first["params"]["candidates"] == {"method": "all-pairs"}
    assert groups(api) == {frozenset({ref(f"d{p}"), ref(f"c{p}")}) for p in range(20)}
    before = clusters(api)

    # DOC: person 25 arrives, c0 leaves, c1 is re-encoded as someone else (person 30).
    sync(api, "DOC", "c-2", {"c25": 25, "c1": 30}, removals=["c0"])
    second = run(api)
    assert second["status"] == "succeeded", second
    counts = second["counts"]
    assert (counts["mode"], counts["added"], counts["changed"], counts["removed"]) == (
        "incremental",
        1,
        1,
        1,
    )
    assert second["threshold_source"] == "kept from the last run"
    assert counts["records_rewritten"] < 10  # the change, not the whole state
    after = clusters(api)
    expected = {frozenset({ref(f"d{p}"), ref(f"c{p}")}) for p in range(2, 20)}
    expected |= {frozenset({ref("d25"), ref("c25")}), frozenset({ref("d30"), ref("c1")})}
    assert groups(api) == expected
    for p in range(2, 20):  # untouched clusters keep their ids
        assert after[ref(f"d{p}")] == before[ref(f"d{p}")]
    assert ref("d0") not in after  # its partner left: no cluster any more
    # d1's old cluster id went with c1's re-encoding? No: c1 moved, d1 is alone now.
    assert ref("d1") not in after
    # A full re-link of the same data gives the same clusters, and keeps their ids.
    third = run(api, kind="full", threshold=0.8)
    assert third["counts"]["mode"] == "full"
    assert groups(api) == expected
    assert clusters(api) == after


def test_the_threshold_is_proposed_when_none_is_given(api: Api) -> None:
    api.register("DCFS", "DOC")
    sync(api, "DCFS", "d-1", {f"d{p}": p for p in range(150)})
    sync(api, "DOC", "c-1", {f"c{p}": p for p in range(50, 200)})
    result = run(api, kind="full")
    assert result["status"] == "succeeded", result
    assert result["threshold_source"] == "proposed from the score distribution"
    assert 0.5 < result["threshold"] < 0.95
    assert "estimated precision" in result["proposal"]["summary"]
    assert sum(result["proposal"]["best_score_histogram"]["counts"]) == 300
    assert groups(api) == {frozenset({ref(f"d{p}"), ref(f"c{p}")}) for p in range(50, 150)}


def test_no_run_goes_under_the_disclosure_policy(api: Api) -> None:
    api.register("DCFS", "DOC")
    sync(api, "DCFS", "d-1", {f"d{p}": p for p in range(150)})
    sync(api, "DOC", "c-1", {f"c{p}": p for p in range(50, 200)})
    absurd = api.client.post(
        "/v1/linkage/runs", json={"kind": "full", "threshold": 0.05}, headers=api.operator()
    )
    assert absurd.status_code == 422
    assert "under the disclosure floor 0.65" in absurd.json()["detail"]
    # Once the hub has fitted the scores, a threshold whose estimated precision is under
    # the minimum is refused too, naming the lowest one that meets it.
    assert run(api, kind="full")["status"] == "succeeded"
    from hub.services.policy import latest_fit

    fit = latest_fit(api.session)
    assert fit is not None
    strict = api.hub.settings.model_copy(update={"disclosure_min_precision": 1.0})
    api.hub.linkage.settings = strict  # as if the hub ran with this setting
    weak = next(
        t
        for t in np.arange(0.65, 0.99, 0.005)
        if estimate(fit, np.array([t]))["precision"][0] < 1.0
    )
    refused = api.client.post(
        "/v1/linkage/runs",
        json={"kind": "full", "threshold": round(float(weak), 3)},
        headers=api.operator(),
    )
    assert refused.status_code == 422, refused.text
    assert "under the policy's minimum 1.00" in refused.json()["detail"]
    assert "the lowest threshold meeting it is" in refused.json()["detail"]


def test_after_a_restart_the_state_is_rebuilt_with_the_same_ids(two_agencies: Api) -> None:
    api = two_agencies
    run(api, kind="full", threshold=0.8)
    before = clusters(api)
    api.hub.linkage._held = None  # what a restart loses
    sync(api, "DCFS", "d-2", {"d105": 105})
    result = run(api)
    assert result["counts"]["mode"] == "rebuilt"
    assert result["threshold"] == 0.8
    after = clusters(api)
    assert {r: after[r] for r in before} == before
    assert after[ref("d105")] == after[ref("c105")]
    assert after[ref("d105")] not in before.values()


def test_a_failed_run_says_why_and_changes_nothing(
    two_agencies: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = two_agencies
    run(api, kind="full", threshold=0.8)
    before = clusters(api)

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(linkage_store, "save_all", broken)
    failed = run(api, kind="full", threshold=0.9)
    assert failed["status"] == "failed"
    assert failed["error"] == "RuntimeError: disk full"
    assert clusters(api) == before
    monkeypatch.undo()
    sync(api, "DOC", "c-2", {"c30": 30})
    recovered = run(api)  # the state was dropped with the failure: rebuilt, at 0.8
    assert recovered["status"] == "succeeded"
    assert recovered["counts"]["mode"] == "rebuilt"
    assert clusters(api)[ref("c30")] == clusters(api)[ref("d30")]


def test_nothing_to_link_is_a_clear_failure(api: Api) -> None:
    result = run(api, kind="full")
    assert result["status"] == "failed"
    assert "no encodings are stored yet" in result["error"]


def test_one_run_at_a_time_and_incremental_runs_keep_their_threshold(two_agencies: Api) -> None:
    api = two_agencies
    refused = api.client.post(
        "/v1/linkage/runs", json={"kind": "incremental", "threshold": 0.7}, headers=api.operator()
    )
    assert refused.status_code == 409
    assert "start a full run" in refused.json()["detail"]
    queued = api.hub.linkage.request(api.session, kind="full", threshold=None, requested_by="x")
    api.session.commit()  # as the route does
    busy = api.client.post("/v1/linkage/runs", json={}, headers=api.operator())
    assert busy.status_code == 409
    assert f"linkage run {queued.run_id} is still in progress" in busy.json()["detail"]
    # A restart abandons it, and says so.
    assert api.hub.linkage.abandon_interrupted() == 1
    stored = api.session.get(LinkageRun, queued.run_id)
    assert stored is not None
    assert stored.status == "failed"
    assert stored.error is not None
    assert "interrupted" in stored.error
    listed = api.client.get("/v1/linkage/runs", headers=api.operator()).json()
    assert [r["run_id"] for r in listed] == [queued.run_id]


@pytest.mark.parametrize(
    "body", [{"kind": "sometimes"}, {"threshold": 1.5}, {"threshold": 0}, {"extra": 1}]
)
def test_bad_requests_are_refused(api: Api, body: dict[str, Any]) -> None:
    response = api.client.post("/v1/linkage/runs", json=body, headers=api.operator())
    assert response.status_code == 422


def test_runs_are_for_operators_only(two_agencies: Api) -> None:
    api = two_agencies
    for headers in (api.as_("DCFS"), api.as_("DCFS", "cm-1", Role.CASE_MANAGER)):
        assert api.client.post("/v1/linkage/runs", json={}, headers=headers).status_code == 403
    assert api.client.get("/v1/linkage/runs/999", headers=api.operator()).status_code == 404
