"""Faults: the hub process is killed (SIGKILL) in the middle of an agency's sync and again
while a linkage run is under way, and restarted each time.

The node's sync rides through the restart (it retries with the same idempotency keys)
with every record stored once and no batch applied twice; the interrupted linkage run is
recorded as failed and a new run completes; every record is in at most one cluster; the
ledger holds every entry once and still verifies.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from consent import LogKey, verify_ledger
from hub.models import Encoding, LedgerEntry, Link, RecordCluster, UploadBatch
from hub.services.ledger import stored_checkpoints, stored_rows
from linkage_node.synthetic import linked_rosters, write_roster
from tests.processes import (
    PPRL,
    clean_env,
    deadline,
    free_port,
    run_pprl,
    seconds,
    start_hub,
    stop,
)

pytestmark = pytest.mark.e2e

SIZE = 1500
SYNC_BATCH = 100
AGENCIES = {"DCFS": "child_welfare", "DOC": "corrections"}


def _pprl(work: Path, command: str) -> str:
    return run_pprl(work, *command.split())


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(session.execute(query).scalar_one())


def _counts(engine: Engine) -> dict[str, int]:
    models = {"encodings": Encoding, "ledger": LedgerEntry, "clustered": RecordCluster}
    return {name: _count(engine, model) for name, model in {**models, "links": Link}.items()}


def _leaf_hashes(engine: Engine) -> list[bytes]:
    with Session(engine) as session:
        return [stored for _, _, stored in stored_rows(session)]


def _prepare(work: Path, url: str) -> dict[str, str]:
    """Agencies' keys and rosters, the hub's keys and database; the hub's environment."""
    rosters = linked_rosters(list(AGENCIES), SIZE, shared=0.3, seed=43)
    for agency, program in AGENCIES.items():
        write_roster(work / f"{agency}.csv", rosters.rows[agency])
        _pprl(
            work, f"keys init-agency --agency {agency} --programs {program} --key-dir keys/{agency}"
        )
        _pprl(
            work, f"keys registry add --registry registry.json --public keys/{agency}/agency.json"
        )
    _pprl(
        work,
        "keys new-linkage-secret --key-dir keys/DCFS --registry registry.json "
        "--epoch 2026-11 --output sealed.json",
    )
    for agency in AGENCIES:
        _pprl(
            work,
            f"keys unseal --key-dir keys/{agency} --registry registry.json "
            f"--input sealed.json --output keys/{agency}/linkage-secret.json",
        )
        _pprl(
            work,
            f"node encode --agency {agency} --input {agency}.csv --output "
            f"{agency}.jsonl --secret-file keys/{agency}/linkage-secret.json",
        )
    _pprl(work, f"hub migrate --database-url {url}")
    _pprl(work, "hub init-log-key --output hub-log.key --name hub.test/ledger")
    (work / "hub-data.key").write_bytes(os.urandom(32))
    (work / "hub-data.key").chmod(0o600)
    _pprl(work, "keys init-issuer --issuer https://idp.test --out idp")
    return {
        "PPRL_DATABASE_URL": url,
        "PPRL_LOG_KEY_FILE": str(work / "hub-log.key"),
        "PPRL_DATA_KEY_FILE": str(work / "hub-data.key"),
        "PPRL_OPERATOR_ISSUER": "https://idp.test",
        "PPRL_OPERATOR_JWKS_FILE": str(work / "idp" / "jwks.json"),
        "PPRL_SECRET_EPOCH": "2026-11",
        "PPRL_CHECKPOINT_INTERVAL_SECONDS": "0.5",
    }


def test_a_hub_killed_during_a_sync_and_a_linkage_run_loses_and_duplicates_nothing(
    database: Engine,
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    url = database.url.render_as_string(hide_password=False)
    env = _prepare(work, url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "hub.log"
    hub = start_hub(work, env, port, log)
    sync = f"node sync --hub {base} --batch-size {SYNC_BATCH} --retry-for 120"
    doc_sync = None
    try:
        operator = _pprl(work, "keys issue-operator-token --issuer-dir idp --subject op-0001")
        (work / "op.txt").write_text(operator.strip().splitlines()[0])
        headers = {"Authorization": f"Bearer {operator.strip().splitlines()[0]}"}
        for agency in AGENCIES:
            _pprl(
                work,
                f"hub register-agency --hub {base} --token-file op.txt "
                f"--public keys/{agency}/agency.json",
            )
        _pprl(work, f"{sync} --agency DCFS --key-dir keys/DCFS")

        # DOC's sync, with the hub killed once some but not all of its batches are in.
        doc_sync = subprocess.Popen(  # noqa: S603
            [PPRL, *f"{sync} --agency DOC --key-dir keys/DOC".split()],
            cwd=work,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        end = deadline(120)
        while (stored := _count(database, Encoding)) <= SIZE and time.monotonic() < end:
            time.sleep(0.002)
        stop(hub, kill=True)  # no shutdown, no clean-up
        assert SIZE < _count(database, Encoding) < 2 * SIZE, "the kill came mid-sync"
        hub = start_hub(work, env, port, log)
        output, _ = doc_sync.communicate(timeout=seconds(120))
        assert doc_sync.returncode == 0, output  # the node kept retrying until the hub was back
        assert stored > SIZE
        doc_batches = (col(UploadBatch.agency_id) == "DOC", col(UploadBatch.kind) == "encodings")
        assert _count(database, UploadBatch, *doc_batches) == SIZE // SYNC_BATCH
        with Session(database) as session:
            accepted = select(func.sum(col(UploadBatch.accepted))).where(*doc_batches)
            assert session.execute(accepted).scalar_one() == SIZE  # no batch applied twice

        # A full linkage run, with the hub killed right after it was asked for.
        time.sleep(1)  # a checkpoint of everything so far
        before = _counts(database)
        ledger_before = _leaf_hashes(database)
        started = httpx.post(f"{base}/v1/linkage/runs", json={"kind": "full"}, headers=headers)
        assert started.status_code == 202, started.text
        time.sleep(0.05)
        stop(hub, kill=True)  # mid-run (or just after: both must hold)
        hub = start_hub(work, env, port, log)
        first = httpx.get(f"{base}/v1/linkage/runs/1", headers=headers).json()
        assert first["status"] in ("failed", "succeeded"), first
        if first["status"] == "failed":
            assert "interrupted" in first["error"]
        again = httpx.post(f"{base}/v1/linkage/runs", json={"kind": "full"}, headers=headers)
        assert again.status_code == 202, again.text
        location = f"{base}{again.headers['Location']}"
        end = deadline(120)
        while (run := httpx.get(location, headers=headers).json())["status"] not in (
            "succeeded",
            "failed",
        ) and time.monotonic() < end:
            time.sleep(0.2)
        assert run["status"] == "succeeded", run
    finally:
        stop(hub)
        if doc_sync is not None:
            stop(doc_sync)

    after = _counts(database)
    assert after["encodings"] == before["encodings"] == 2 * SIZE  # nothing lost or doubled
    ledger_after = _leaf_hashes(database)
    assert ledger_after[: len(ledger_before)] == ledger_before  # nothing lost or rewritten
    assert len(set(ledger_after)) == len(ledger_after) == after["ledger"]  # nothing doubled
    assert after["clustered"] == 2 * after["links"]  # two agencies: each link, one pair
    with Session(database) as session:
        refs = session.execute(select(col(RecordCluster.agency_id), col(RecordCluster.ref))).all()
        assert len(refs) == len(set(refs))
        verified = verify_ledger(
            stored_rows(session),
            stored_checkpoints(session),
            LogKey.load(work / "hub-log.key").verifier,
        )
    assert verified.size == after["ledger"]
