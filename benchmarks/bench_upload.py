"""Uploading 200,000 encodings (PPRL_BENCH_UPLOAD_SIZE) to a hub on SQLite, in batches.

A real hub process (`pprl hub serve`) on loopback with a SQLite file; a real node job
encodes a synthetic roster; the timed part is `sync`, the same code as `pprl node sync`:
HTTP, JSON, validation, idempotency records and the database writes. Target: 30 s.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks._hub import bench_hub
from contract.client import HubClient
from hub.db import create_db_engine
from hub.migrate import upgrade
from keys import AgencyIdentity, Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import sync
from linkage_node.synthetic import synthetic_roster

BATCH = 10_000


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
            agency_id="BENCH",
            schema=schema,
            secret=secret,
            roster_path=roster,
            output=tmp / "out.jsonl",
            state_dir=tmp / "node",
        )

        url = f"sqlite:///{tmp / 'hub.db'}"
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        settings = {
            "schema_fingerprint": schema.fingerprint,
            "secret_epoch": secret.epoch,
            "max_batch_records": str(BATCH),
            "max_request_bytes": str(64 * 1024 * 1024),
        }
        with bench_hub(tmp, url, **settings) as hub:
            hub.register(identity)
            state = NodeState(tmp / "node" / STATE_FILE, "BENCH")
            client = HubClient(
                hub.base,
                lambda: issue_token(
                    identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
                ),
            )
            started = time.perf_counter()
            report = sync(state, "BENCH", client, batch_size=BATCH)
            seconds = time.perf_counter() - started
            client.close()
            state.close()

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
