"""The review loop end to end: a live hub, two agency nodes encoding and syncing real
rosters, a borderline pair in the review band, each agency's steward answering with
`pprl node review` while seeing only their own record, and the link becoming disclosable
to the case manager once both said "same"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from hub.models import Link
from keys import Role, issue_token
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.synthetic import linked_rosters
from tests.hub.live import LiveHub, encode_and_sync, run_linkage
from tests.processes import clean_env

pytestmark = [pytest.mark.e2e, pytest.mark.live]


def _node(tmp: Path, hub_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    return subprocess.run(  # noqa: S603  (our own entry point)
        [str(Path(sys.executable).parent / "pprl"), "node", "review", *args, "--hub", hub_url],
        env={**env, "COLUMNS": "250"},
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_both_stewards_confirm_a_borderline_pair_and_it_becomes_disclosable(
    hub: LiveHub,
    tmp_path: Path,
) -> None:
    rosters = linked_rosters(["DCFS", "DOC"], 60, shared=0.5, seed=23)
    for agency in ("DCFS", "DOC"):
        encode_and_sync(hub, tmp_path, agency, rosters.rows[agency])
        hub.identities[agency].save(tmp_path / "keys" / agency)
    assert run_linkage(hub, kind="full", threshold=0.8)["status"] == "succeeded"
    with hub.engine.connect() as db:
        scores = sorted(s for (s,) in db.execute(select(col(Link.score))))
    # Re-link so that the weakest link sits in the review band [threshold, +0.05).
    assert run_linkage(hub, kind="full", threshold=scores[0] - 0.01)["status"] == "succeeded"
    with hub.engine.connect() as db:
        link = db.execute(select(Link).where(col(Link.review) == True)).first()  # noqa: E712
    assert link is not None
    dcfs_ref = link.ref_a if link.agency_a == "DCFS" else link.ref_b
    doc_ref = link.ref_b if link.agency_a == "DCFS" else link.ref_a

    state = {a: ["--state-dir", str(tmp_path / a)] for a in ("DCFS", "DOC")}
    common = {
        a: ["--agency", a, "--key-dir", str(tmp_path / "keys" / a), "--steward", "st-0001"]
        for a in ("DCFS", "DOC")
    }
    listed = _node(tmp_path, hub.url, "list", *common["DCFS"], *state["DCFS"])
    assert listed.returncode == 0, listed.stderr
    # The steward sees their own record by case number, and never the other agency's.
    directory = NodeState(tmp_path / "DCFS" / STATE_FILE, "DCFS")
    record_id, name, _ = directory.clients_by_ref([dcfs_ref])[dcfs_ref]
    directory.close()
    line = next(line for line in listed.stdout.splitlines() if record_id in line)
    assert name in line
    assert doc_ref not in listed.stdout
    item = line.split()[1]
    case_manager = next(
        r["case_manager_id"] for r in rosters.rows["DCFS"] if r["record_id"] == record_id
    )
    token = issue_token(
        hub.identities["DCFS"], subject=case_manager, audience="pprl-hub", roles=[Role.CASE_MANAGER]
    )

    def shared() -> bool:
        answer = httpx.get(
            f"{hub.url}/v1/clients/{dcfs_ref}/shared", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["shared"])

    assert shared() is False  # in the review band: not disclosed
    said = _node(tmp_path, hub.url, "answer", *common["DCFS"], "--item", item, "--answer", "same")
    assert said.returncode == 0, said.stderr
    assert shared() is False  # one side is not enough
    other = _node(tmp_path, hub.url, "list", *common["DOC"], *state["DOC"])
    assert item in other.stdout
    assert dcfs_ref not in other.stdout
    said = _node(tmp_path, hub.url, "answer", *common["DOC"], "--item", item, "--answer", "same")
    assert said.returncode == 0, said.stderr
    assert "answered too" in said.stderr
    assert shared() is True  # confirmed by both stewards: disclosable
