"""`pprl node sync` against a real hub on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from contract.errors import HubRefused
from hub.db import table_of
from hub.models import Encoding
from keys import LinkageSecret, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.backup import create_backup, restore_backup
from linkage_node.job import STATE_FILE, JobResult
from linkage_node.state import NodeState
from linkage_node.synthetic import synthetic_roster, write_roster
from tests.hub.api.factories import EPOCH
from tests.hub.live import LiveHub, node_sync

pytestmark = pytest.mark.live

SECRET = new_linkage_secret(EPOCH)


def _encode(
    tmp: Path, roster: Path, agency: str = "DCFS", secret: LinkageSecret = SECRET
) -> JobResult:
    return run_encoding_job(
        agency_id=agency,
        schema=load_schema(),
        secret=secret,
        roster_path=roster,
        output=tmp / f"{agency}.jsonl",
        state_dir=tmp / agency,
        workers=1,
    )


def _stored(hub: LiveHub, agency: str) -> int:
    with hub.engine.connect() as conn:
        table = table_of(Encoding)
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.agency_id == agency)
            ).scalar_one()
        )


def test_sync_sends_everything_once_and_then_only_changes(hub: LiveHub, tmp_path: Path) -> None:
    hub.register("DCFS")
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 250)
    _encode(tmp_path, roster)
    report = node_sync(hub, tmp_path)
    assert (report.runs, report.batches_sent, report.records["encodings"]) == (1, 6, 250)
    assert _stored(hub, "DCFS") == 250
    assert node_sync(hub, tmp_path).batches_sent == 0
    rows[10]["family_name"] += "-Ortiz"
    write_roster(roster, rows[:-1])
    _encode(tmp_path, roster)
    report = node_sync(hub, tmp_path)
    assert report.records["encodings"] == 2  # one change, one exit
    assert _stored(hub, "DCFS") == 250  # the client who left stays as history
    with hub.engine.connect() as conn:
        exited = conn.execute(text("SELECT count(*) FROM encoding WHERE exited_on IS NOT NULL"))
        assert exited.scalar_one() == 1


def test_a_batch_the_hub_applied_but_the_node_did_not_record_is_a_replay(
    hub: LiveHub, tmp_path: Path
) -> None:
    hub.register("DCFS")
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 150)
    _encode(tmp_path, roster)
    node_sync(hub, tmp_path)
    # As if the node died after the hub answered but before it wrote that down.
    state = NodeState(tmp_path / "DCFS" / STATE_FILE, "DCFS")
    state._db.execute("DELETE FROM sent_batch WHERE batch_no = 1 AND kind = 'encodings'")
    state._db.execute("UPDATE run SET synced_at = NULL")
    state.close()
    report = node_sync(hub, tmp_path)
    assert (report.batches_sent, report.batches_replayed) == (1, 1)
    assert _stored(hub, "DCFS") == 150
    with hub.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM upload_batch")).scalar_one() == 4


def test_a_node_with_another_secret_is_refused_and_stores_nothing(
    hub: LiveHub, tmp_path: Path
) -> None:
    hub.register("DCFS")
    hub.register("DOC")
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 30)
    _encode(tmp_path, roster, "DCFS")
    node_sync(hub, tmp_path, "DCFS")
    _encode(tmp_path, roster, "DOC", secret=new_linkage_secret(EPOCH))
    with pytest.raises(HubRefused, match="differently here than at DCFS") as info:
        node_sync(hub, tmp_path, "DOC")
    assert "run the same command again" in info.value.advice()
    assert _stored(hub, "DOC") == 0


def _refs(hub: LiveHub, agency: str) -> set[str]:
    with hub.engine.connect() as conn:
        table = table_of(Encoding)
        return set(conn.execute(select(table.c.ref).where(table.c.agency_id == agency)).scalars())


def test_a_lost_state_is_refused_until_restored_or_reset(hub: LiveHub, tmp_path: Path) -> None:
    hub.register("DCFS")
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 120)
    _encode(tmp_path, roster)
    node_sync(hub, tmp_path)
    before = _refs(hub, "DCFS")
    # The state directory is lost (no backup); the next run makes a new one, with a new
    # record-reference key: every client would be uploaded a second time.
    shutil.rmtree(tmp_path / "DCFS")
    _encode(tmp_path, roster)
    with pytest.raises(HubRefused, match="this node's state was reset") as refused:
        node_sync(hub, tmp_path)
    assert "pprl node state restore" in refused.value.advice()
    assert "--reset" in refused.value.advice()
    assert _refs(hub, "DCFS") == before
    # The steward chooses to replace: the hub drops the old records and keeps the new.
    report = node_sync(hub, tmp_path, reset=True)
    assert report.replaced == 120
    after = _refs(hub, "DCFS")
    assert len(after) == 120
    assert not after & before
    assert node_sync(hub, tmp_path).batches_sent == 0


def test_a_restored_state_syncs_without_reusing_an_idempotency_key(
    hub: LiveHub, tmp_path: Path
) -> None:
    hub.register("DCFS")
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 60)
    _encode(tmp_path, roster)
    node_sync(hub, tmp_path)
    backup = tmp_path / "dcfs.backup"
    create_backup(tmp_path / "DCFS", "DCFS", backup, "a long enough passphrase")
    # Run 2 after the backup, synced; then the machine dies and the backup comes back.
    write_roster(roster, rows[:-5])
    _encode(tmp_path, roster)
    node_sync(hub, tmp_path)
    restore_backup(backup, tmp_path / "DCFS", "DCFS", "a long enough passphrase", replace=True)
    # The restored state's next run is number 2 again, with different changes.
    rows[0]["family_name"] += "-Reyes"
    write_roster(roster, rows[:-2])
    _encode(tmp_path, roster)
    report = node_sync(hub, tmp_path)
    assert report.batches_replayed == 0
    assert report.records["encodings"] == 58 + 2  # everything again, and two exits
    # The 3 who left after the backup are current again; the 2 missing now are history.
    assert _stored(hub, "DCFS") == 60
    with hub.engine.connect() as conn:
        exited = conn.execute(text("SELECT count(*) FROM encoding WHERE exited_on IS NOT NULL"))
        assert exited.scalar_one() == 2
