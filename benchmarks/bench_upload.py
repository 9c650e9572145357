"""Uploading 200,000 encodings (PPRL_BENCH_UPLOAD_SIZE) to a hub on SQLite, in batches.

A real hub process (`pprl hub serve`) on loopback with a SQLite file; a real node job
encodes a synthetic roster; the timed part is `sync`, the same code as `pprl node sync`:
HTTP, JSON, validation, idempotency records and the database writes. Target: 30 s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from consent import LogKey
from hub.db import create_db_engine
from hub.migrate import upgrade
from keys import AgencyIdentity, LocalIssuer, Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import HubClient, sync
from linkage_node.synthetic import synthetic_roster

ISSUER = "https://bench.idp.local"
BATCH = 10_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run() -> None:
    """Measure and print."""
    size = int(os.environ.get("PPRL_BENCH_UPLOAD_SIZE", "200000"))
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-upload-") as tmp_name:
        tmp = Path(tmp_name)
        schema = load_schema()
        secret = new_linkage_secret("bench")
        identity = AgencyIdentity.create("BENCH", ("bench_program",))
        roster = tmp / "roster.csv"
        synthetic_roster(roster, size, seed=5)
        run_encoding_job(
            agency_id="BENCH", schema=schema, secret=secret, roster_path=roster,
            output=tmp / "out.jsonl", state_dir=tmp / "node",
        )  # fmt: skip

        url = f"sqlite:///{tmp / 'hub.db'}"
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        log = LogKey.generate("bench.hub/ledger")
        log.save(tmp / "log.key")
        (tmp / "data.key").write_bytes(os.urandom(32))
        (tmp / "data.key").chmod(0o600)
        issuer = LocalIssuer.create(ISSUER)
        issuer.save(tmp / "idp")
        port = _free_port()
        env = {
            **os.environ,
            "PPRL_DATABASE_URL": url,
            "PPRL_LOG_KEY_FILE": str(tmp / "log.key"),
            "PPRL_DATA_KEY_FILE": str(tmp / "data.key"),
            "PPRL_OPERATOR_ISSUER": ISSUER,
            "PPRL_OPERATOR_JWKS_FILE": str(tmp / "idp" / "jwks.json"),
            "PPRL_SCHEMA_FINGERPRINT": schema.fingerprint,
            "PPRL_SECRET_EPOCH": secret.epoch,
            "PPRL_MAX_BATCH_RECORDS": str(BATCH),
            "PPRL_MAX_REQUEST_BYTES": str(64 * 1024 * 1024),
        }
        pprl = str(Path(sys.executable).parent / "pprl")
        server = subprocess.Popen(  # noqa: S603  (our own entry point)
            [pprl, "hub", "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            operator = issuer.issue(subject="op", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
            httpx.post(
                f"{base}/v1/agencies",
                json=identity.public_keys().model_dump(),
                headers={"Authorization": f"Bearer {operator}"},
            ).raise_for_status()
            state = NodeState(tmp / "node" / STATE_FILE, "BENCH")
            client = HubClient(
                base,
                lambda: issue_token(
                    identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
                ),
            )
            started = time.perf_counter()
            report = sync(state, "BENCH", client, batch_size=BATCH)
            seconds = time.perf_counter() - started
            client.close()
            state.close()
        finally:
            server.terminate()
            server.wait(timeout=30)

    table = Table(
        "measure", "result", "target", title=f"uploading {size:,} encodings to a hub on SQLite"
    )
    table.add_row(
        f"pprl node sync, batches of {BATCH:,} "
        f"(plus {report.records['assignments']:,} assignments)",
        f"{seconds:.1f} s = {size / seconds:,.0f} encodings/s ({report.batches_sent} batches)",
        "< 30 s " + ("[green]met[/]" if seconds < 30 else "[red]missed[/]"),
    )
    console.print(table)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the benchmark hub did not start")
