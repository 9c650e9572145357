"""Linkage runs on a real hub over loopback, fed by real nodes, on each database: a full
run, a sync of changes, an incremental run, and the result against a full re-link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select
from sqlmodel import col

from hub.linkage.results import LinkConfig
from hub.linkage.state import LinkageState
from hub.models import Encoding, RecordCluster
from keys import Role, issue_token
from linkage_node import load_schema
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.synthetic import linked_rosters
from tests.conftest import BACKENDS
from tests.hub.live import LiveHub, encode_and_sync, live_hub, run_linkage

pytestmark = pytest.mark.live

AGENCIES = ("DCFS", "DOC")


def _stored_partition(hub: LiveHub) -> set[frozenset[tuple[str, str]]]:
    with hub.engine.connect() as connection:
        rows = connection.execute(
            select(
                col(RecordCluster.agency_id), col(RecordCluster.ref), col(RecordCluster.cluster_id)
            )
        ).all()
    groups: dict[int, set[tuple[str, str]]] = {}
    for agency, ref, cluster in rows:
        groups.setdefault(cluster, set()).add((agency, ref))
    return {frozenset(g) for g in groups.values()}


def _relinked(hub: LiveHub, params: dict[str, Any]) -> set[frozenset[tuple[str, str]]]:
    """A full re-link, in this process, of what the hub stores, at the run's settings."""
    with hub.engine.connect() as connection:
        rows = connection.execute(
            select(col(Encoding.agency_id), col(Encoding.ref), col(Encoding.clk))
        ).all()
    upserts: dict[str, tuple[list[str], list[bytes]]] = {}
    for agency, ref, clk in rows:
        upserts.setdefault(agency, ([], []))[0].append(ref)
        upserts[agency][1].append(bytes(clk))
    state = LinkageState(LinkConfig.from_description(params))
    state.update(
        {
            a: (refs, np.frombuffer(b"".join(clks), np.uint64).reshape(-1, 16))
            for a, (refs, clks) in upserts.items()
        }
    )
    return state.partition()


def test_full_then_incremental_runs_over_http_equal_a_full_relink(
    hub: LiveHub, tmp_path: Path
) -> None:
    rosters = linked_rosters(list(AGENCIES), 300, shared=0.3, seed=17)
    for agency in AGENCIES:
        encode_and_sync(hub, tmp_path, agency, rosters.rows[agency])
    first = run_linkage(hub, kind="full")
    assert first["status"] == "succeeded", first
    assert first["counts"]["clusters"] >= 80
    assert first["through_seq"] >= 2

    # DOC's roster changes: ten people leave, five records are corrected, ten arrive.
    doc = rosters.rows["DOC"]
    changed = [dict(r) for r in doc[10:]]
    for row in changed[:5]:
        row["family_name"] = row["family_name"] + "-Lee"
    arrivals = [dict(r, record_id=f"DOC-new-{i}") for i, r in enumerate(rosters.rows["DCFS"][-10:])]
    encode_and_sync(hub, tmp_path, "DOC", changed + arrivals)
    second = run_linkage(hub)
    assert second["status"] == "succeeded", second
    counts = second["counts"]
    assert counts["mode"] == "incremental"
    # The ten who left stay as history: sent again with their exit date and the same
    # encoding, so they stay linked and nothing about them is scored again.
    assert (counts["added"], counts["changed"], counts["removed"]) == (10, 5, 0)
    # (The API leaves LSH positions out; a run this small scores all pairs and has none.)
    assert second["params"]["candidates"] == {"method": "all-pairs"}
    assert _stored_partition(hub) == _relinked(hub, second["params"])


def test_an_agencys_duplicate_joins_the_cluster_when_the_hub_scores_within_agencies(
    tmp_path: Path,
) -> None:
    """With PPRL_LINKAGE_DEDUPE_WITHIN the hub scores pairs within each agency too: a
    person DCFS holds under two case numbers is one cluster with DOC's record, and the
    second case number's case manager is told corrections serves the client too."""
    schema = load_schema()
    with live_hub(
        BACKENDS[0],
        tmp_path / "hub",
        schema_fingerprint=schema.fingerprint,
        linkage_dedupe_within=True,
    ) as hub:
        for agency in AGENCIES:
            hub.register(agency)
        rosters = linked_rosters(list(AGENCIES), 200, shared=0.3, seed=5)
        shared = sorted(rosters.true_pairs("DCFS", "DOC"))[0][0]
        original = next(r for r in rosters.rows["DCFS"] if r["record_id"] == shared)
        twin = dict(original, record_id="DCFS-again", case_manager_id="cm-0077")
        encode_and_sync(hub, tmp_path, "DCFS", [*rosters.rows["DCFS"], twin])
        encode_and_sync(hub, tmp_path, "DOC", rosters.rows["DOC"])
        run = run_linkage(hub, kind="full")
        assert run["status"] == "succeeded", run
        state = NodeState(tmp_path / "DCFS" / STATE_FILE, "DCFS")
        ref_of = {r[1]: r[0] for r in state.directory()}  # case number -> reference
        state.close()
        with hub.engine.connect() as connection:
            placed: dict[str, int] = dict(
                connection.execute(
                    select(col(RecordCluster.ref), col(RecordCluster.cluster_id))
                ).all()
            )
        assert placed[ref_of[shared]] == placed[ref_of["DCFS-again"]]
        token = issue_token(
            hub.identities["DCFS"],
            subject="cm-0077",
            audience="pprl-hub",
            roles=[Role.CASE_MANAGER],
        )
        answer = httpx.get(
            f"{hub.url}/v1/clients/{ref_of['DCFS-again']}/shared",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert [p["program"] for p in answer["programs"]] == ["corrections"]
