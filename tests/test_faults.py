"""Faults: the hub process is killed (SIGKILL) while a linkage run is under way, then
restarted. The interrupted run is recorded as failed, a new run completes, nothing is
lost or duplicated: every encoding is still there once, every record is in at most one
cluster, and the ledger holds every entry once and still verifies. (Killing the hub in
the middle of a sync is covered by the upload tests of the hub.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from consent import LogKey, verify_ledger
from hub.models import Encoding, LedgerEntry, Link, RecordCluster
from hub.services.ledger import stored_checkpoints, stored_rows
from linkage_node.synthetic import linked_rosters, write_roster
from tests.hub.live import free_port
from tests.test_end_to_end import PPRL, _run, _wait, database  # noqa: F401  (fixture)


def _start(work: Path, env: dict[str, str], port: int, log: Any) -> subprocess.Popen[bytes]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PPRL_")}
    return subprocess.Popen(  # noqa: S603
        [PPRL, "hub", "serve", "--port", str(port)],
        cwd=work,
        env={**base_env, **env},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            name: int(session.execute(select(func.count()).select_from(model)).scalar_one())
            for name, model in (
                ("encodings", Encoding),
                ("ledger", LedgerEntry),
                ("clustered", RecordCluster),
                ("links", Link),
            )
        }


def test_a_hub_killed_during_a_linkage_run_loses_and_duplicates_nothing(
    database: Engine,  # noqa: F811
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    rosters = linked_rosters(["DCFS", "DOC"], 1500, shared=0.3, seed=43)
    for agency, program in (("DCFS", "child_welfare"), ("DOC", "corrections")):
        write_roster(work / f"{agency}.csv", rosters.rows[agency])
        _run(
            work,
            "keys",
            "init-agency",
            "--agency",
            agency,
            "--programs",
            program,
            "--key-dir",
            f"keys/{agency}",
        )
        _run(
            work,
            "keys",
            "registry",
            "add",
            "--registry",
            "registry.json",
            "--public",
            f"keys/{agency}/agency.json",
        )
    _run(
        work,
        "keys",
        "new-linkage-secret",
        "--key-dir",
        "keys/DCFS",
        "--registry",
        "registry.json",
        "--epoch",
        "2026-11",
        "--output",
        "sealed.json",
    )
    url = database.url.render_as_string(hide_password=False)
    _run(work, "hub", "migrate", "--database-url", url)
    _run(work, "hub", "init-log-key", "--output", "hub-log.key", "--name", "hub.test/ledger")
    (work / "hub-data.key").write_bytes(os.urandom(32))
    (work / "hub-data.key").chmod(0o600)
    _run(work, "keys", "init-issuer", "--issuer", "https://idp.test", "--out", "idp")
    env = {
        "PPRL_DATABASE_URL": url,
        "PPRL_LOG_KEY_FILE": str(work / "hub-log.key"),
        "PPRL_DATA_KEY_FILE": str(work / "hub-data.key"),
        "PPRL_OPERATOR_ISSUER": "https://idp.test",
        "PPRL_OPERATOR_JWKS_FILE": str(work / "idp" / "jwks.json"),
        "PPRL_SECRET_EPOCH": "2026-11",
        "PPRL_CHECKPOINT_INTERVAL_SECONDS": "0.5",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "hub.log").open("wb")
    hub = _start(work, env, port, log)
    try:
        _wait(f"{base}/readyz")
        operator = (
            _run(
                work, "keys", "issue-operator-token", "--issuer-dir", "idp", "--subject", "op-0001"
            )
            .strip()
            .splitlines()[0]
        )
        (work / "op.txt").write_text(operator)
        headers = {"Authorization": f"Bearer {operator}"}
        for agency in ("DCFS", "DOC"):
            _run(
                work,
                "keys",
                "unseal",
                "--key-dir",
                f"keys/{agency}",
                "--registry",
                "registry.json",
                "--input",
                "sealed.json",
                "--output",
                f"keys/{agency}/linkage-secret.json",
            )
            _run(
                work,
                "hub",
                "register-agency",
                "--hub",
                base,
                "--token-file",
                "op.txt",
                "--public",
                f"keys/{agency}/agency.json",
            )
            _run(
                work,
                "node",
                "encode",
                "--agency",
                agency,
                "--secret-file",
                f"keys/{agency}/linkage-secret.json",
                "--input",
                f"{agency}.csv",
                "--output",
                f"{agency}.jsonl",
            )
            _run(
                work,
                "node",
                "sync",
                "--agency",
                agency,
                "--hub",
                base,
                "--key-dir",
                f"keys/{agency}",
            )
        time.sleep(1)  # a checkpoint of the registrations
        before = _counts(database)
        started = httpx.post(f"{base}/v1/linkage/runs", json={"kind": "full"}, headers=headers)
        assert started.status_code == 202, started.text
        time.sleep(0.05)
        os.killpg(hub.pid, signal.SIGKILL)  # mid-run (or just after: both must hold)
        hub.wait(timeout=30)

        hub = _start(work, env, port, log)
        _wait(f"{base}/readyz")
        first = httpx.get(f"{base}/v1/linkage/runs/1", headers=headers).json()
        assert first["status"] in ("failed", "succeeded"), first
        if first["status"] == "failed":
            assert "interrupted" in first["error"]
        again = httpx.post(f"{base}/v1/linkage/runs", json={"kind": "full"}, headers=headers)
        assert again.status_code == 202, again.text
        location = f"{base}{again.headers['Location']}"
        deadline = time.monotonic() + 120
        while (run := httpx.get(location, headers=headers).json())["status"] not in (
            "succeeded",
            "failed",
        ) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert run["status"] == "succeeded", run
    finally:
        os.killpg(hub.pid, signal.SIGTERM)
        hub.wait(timeout=30)
        log.close()

    after = _counts(database)
    assert after["encodings"] == before["encodings"] == 3000  # nothing lost or doubled
    assert after["ledger"] >= before["ledger"]  # nothing lost from the ledger
    assert after["clustered"] == 2 * after["links"]  # two agencies: each link, one pair
    with Session(database) as session:
        refs = session.execute(select(RecordCluster.agency_id, RecordCluster.ref)).all()  # type: ignore[call-overload]
        assert len(refs) == len(set(refs))
        verified = verify_ledger(
            stored_rows(session),
            stored_checkpoints(session),
            LogKey.load(work / "hub-log.key").verifier,
        )
    assert verified.size == after["ledger"]
