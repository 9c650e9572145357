"""The hub killed in the middle of a batch upload loses nothing and half-writes nothing;
running the same `pprl node sync` again completes the upload without duplicates."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from consent import LogKey
from hub.migrate import upgrade
from keys import AgencyIdentity, LocalIssuer, Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import _encodings_body
from linkage_node.synthetic import synthetic_roster
from tests.conftest import BACKENDS, database_url, empty_database
from tests.processes import PPRL, clean_env, free_port, running, stop

pytestmark = pytest.mark.e2e

ISSUER = "https://idp.test/realms/pprl"
BATCH = 10_000


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        encodings = conn.execute(text("SELECT count(*) FROM encoding")).scalar_one()
        batches = conn.execute(
            text("SELECT count(*) FROM upload_batch WHERE kind = 'encodings'")
        ).scalar_one()
    return int(encodings), int(batches)


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_mid_upload_then_the_same_sync_completes_it(backend: str, tmp_path: Path) -> None:
    if shutil.which(PPRL) is None:  # pragma: no cover - the venv always has it
        raise RuntimeError("pprl entry point missing")
    schema = load_schema()
    secret = new_linkage_secret("2026-11")
    log = LogKey.generate("hub.test/ledger")
    log.save(tmp_path / "log.key")
    (tmp_path / "data.key").write_bytes(os.urandom(32))
    (tmp_path / "data.key").chmod(0o600)
    issuer = LocalIssuer.create(ISSUER)
    issuer.save(tmp_path / "idp")
    identity = AgencyIdentity.create("DCFS", ("child_welfare",))
    identity.save(tmp_path / "keys")
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 2 * BATCH)
    run_encoding_job(
        agency_id="DCFS",
        schema=schema,
        secret=secret,
        roster_path=roster,
        output=tmp_path / "out.jsonl",
        state_dir=tmp_path / "node",
        workers=2,
    )

    with empty_database(backend, tmp_path) as engine:
        upgrade(engine)
        env = {
            **clean_env(),
            "PPRL_DATABASE_URL": database_url(engine),
            "PPRL_LOG_KEY_FILE": str(tmp_path / "log.key"),
            "PPRL_DATA_KEY_FILE": str(tmp_path / "data.key"),
            "PPRL_OPERATOR_ISSUER": ISSUER,
            "PPRL_OPERATOR_JWKS_FILE": str(tmp_path / "idp" / "jwks.json"),
            "PPRL_SCHEMA_FINGERPRINT": schema.fingerprint,
            "PPRL_SECRET_EPOCH": secret.epoch,
            "PPRL_MAX_BATCH_RECORDS": str(BATCH),
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        hub = [PPRL, "hub", "serve", "--port", str(port)]
        operator = issuer.issue(subject="op-1", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
        with running(hub, env=env, ready=f"{url}/healthz", log=tmp_path / "hub.log"):
            registered = httpx.post(
                f"{url}/v1/agencies",
                json=identity.public_keys().model_dump(),
                headers={"Authorization": f"Bearer {operator}"},
            )
            assert registered.status_code == 201, registered.text

        # The exact first batch `pprl node sync` will send, with its idempotency key.
        state = NodeState(tmp_path / "node" / STATE_FILE, "DCFS")
        run = state.pending_runs()[0]
        changes = [c for c in state.changes(run.run_id) if c.op in ("upsert", "remove")]
        body = json.dumps(_encodings_body(run, changes[:BATCH])).encode()
        state.close()
        token = issue_token(
            identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
        )
        head = (
            f"POST /v1/agencies/DCFS/encodings/batches HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: DCFS.r{run.run_id}.encodings.0\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()

        for sent in (len(body) // 2, len(body)):  # halfway through the body; all of it
            with (
                running(hub, env=env, ready=f"{url}/healthz", log=tmp_path / "hub.log") as process,
                socket.create_connection(("127.0.0.1", port)) as sock,
            ):
                sock.sendall(head + body[:sent])
                time.sleep(0.05)
                stop(process, kill=True)  # no shutdown, no clean-up
            encodings, batches = _counts(engine)
            assert (encodings, batches) in ((0, 0), (BATCH, 1)), "a batch was half-written"

        with running(hub, env=env, ready=f"{url}/healthz", log=tmp_path / "hub.log"):
            result = subprocess.run(  # noqa: S603
                [
                    PPRL,
                    "node",
                    "sync",
                    "--agency",
                    "DCFS",
                    "--hub",
                    url,
                    "--key-dir",
                    str(tmp_path / "keys"),
                    "--state-dir",
                    str(tmp_path / "node"),
                    "--batch-size",
                    str(BATCH),
                ],
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        assert result.returncode == 0, result.stderr
        assert _counts(engine) == (2 * BATCH, 2)
        assert "4 batches acknowledged" in result.stderr  # 2 of encodings, 2 of assignments
