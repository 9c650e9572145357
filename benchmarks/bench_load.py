"""A bounded load test on loopback: case managers' questions from several threads while
an agency syncs new records and the hub runs a linkage run (PPRL_BENCH_LOAD_SECONDS,
default 20). Reports requests served, errors (target: zero) and latency percentiles.

A real `pprl hub serve` on SQLite; three agencies of 2,000 records linked first; then
the measured window: 4 threads asking "is this client shared?" about random clients of
child welfare, one node syncing 500 new records, and an incremental linkage run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.bench_upload import ISSUER, _free_port, _wait
from consent import LogKey
from hub.db import create_db_engine
from hub.migrate import upgrade
from keys import AgencyIdentity, LocalIssuer, Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import HubClient, sync
from linkage_node.synthetic import linked_rosters, write_roster

AGENCIES = {"DCFS": "child_welfare", "DOC": "corrections", "DWD": "family_employment"}
SIZE = 2000
THREADS = 4


def run() -> None:
    """Measure and print."""
    seconds = float(os.environ.get("PPRL_BENCH_LOAD_SECONDS", "20"))
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        schema = load_schema()
        secret = new_linkage_secret("2026-11")
        identities = {a: AgencyIdentity.create(a, (p,)) for a, p in AGENCIES.items()}
        rosters = linked_rosters(list(AGENCIES), SIZE + 500, shared=0.3, seed=9)
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
        }
        server = subprocess.Popen(  # noqa: S603  (our own entry point)
            [str(Path(sys.executable).parent / "pprl"), "hub", "serve", "--port", str(port)],
            env=env,
            stderr=(tmp / "hub.log").open("wb"),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base)
            operator = issuer.issue(
                subject="op-0001", audience="pprl-hub", roles=[Role.HUB_OPERATOR]
            )
            op = {"Authorization": f"Bearer {operator}"}
            for identity in identities.values():
                httpx.post(
                    f"{base}/v1/agencies", json=identity.public_keys().model_dump(), headers=op
                ).raise_for_status()
            for agency in AGENCIES:
                rows = rosters.rows[agency][:SIZE]
                _encode_sync(tmp, base, identities[agency], rows, schema=schema, secret=secret)
            _link(base, op, {"kind": "full"})
            state = NodeState(tmp / "DCFS" / STATE_FILE, "DCFS")
            clients = [(ref, cm) for ref, _, _, _, cm in state.directory()]
            state.close()
            result = _window(
                base,
                identities,
                clients,
                seconds=seconds,
                tmp=tmp,
                rosters=rosters,
                schema=schema,
                secret=secret,
                op=op,
            )
        except Exception:
            console.print((tmp / "hub.log").read_text()[-3000:])
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies = sorted(result["latencies"])
    p50, p95, p99 = (latencies[int(q * (len(latencies) - 1))] * 1000 for q in (0.5, 0.95, 0.99))
    table = Table("measure", "result", "target", title="load on loopback (SQLite)")
    table.add_row(
        f"{THREADS} threads of case-manager questions for {seconds:.0f} s, while DOC syncs "
        "500 new records and an incremental linkage run goes",
        f"{len(latencies):,} answered, {result['errors']} errors; p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms",
        "0 errors " + ("[green]met[/]" if result["errors"] == 0 else "[red]missed[/]"),
    )
    table.add_row("sync and linkage during the load", result["background"], "completed")
    console.print(table)


def _encode_sync(
    tmp: Path,
    base: str,
    identity: AgencyIdentity,
    rows: list[dict[str, str]],
    *,
    schema: Any,
    secret: Any,
) -> None:
    agency = identity.agency_id
    write_roster(tmp / f"{agency}.csv", rows)
    run_encoding_job(
        agency_id=agency,
        schema=schema,
        secret=secret,
        roster_path=tmp / f"{agency}.csv",
        output=tmp / f"{agency}.jsonl",
        state_dir=tmp / agency,
    )
    client = HubClient(
        base,
        lambda: issue_token(
            identity, subject="node-0001", audience="pprl-hub", roles=[Role.AGENCY_NODE]
        ),
    )
    state = NodeState(tmp / agency / STATE_FILE, agency)
    try:
        sync(state, agency, client)
    finally:
        state.close()
        client.close()


def _link(base: str, op: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    started = httpx.post(f"{base}/v1/linkage/runs", json=body, headers=op)
    started.raise_for_status()
    while True:
        run: dict[str, Any] = httpx.get(f"{base}{started.headers['Location']}", headers=op).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        time.sleep(0.2)


def _window(
    base: str,
    identities: dict[str, AgencyIdentity],
    clients: list[tuple[str, str]],
    *,
    seconds: float,
    tmp: Path,
    rosters: Any,
    schema: Any,
    secret: Any,
    op: dict[str, str],
) -> dict[str, Any]:
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def ask(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311  (which client, not a secret)
        tokens: dict[str, str] = {}
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.monotonic() < stop:
                ref, cm = rng.choice(clients)
                token = tokens.get(cm) or issue_token(
                    identities["DCFS"], subject=cm, audience="pprl-hub", roles=[Role.CASE_MANAGER]
                )
                tokens[cm] = token
                started = time.perf_counter()
                try:
                    response = client.get(
                        f"/v1/clients/{ref}/shared", headers={"Authorization": f"Bearer {token}"}
                    )
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors[0] += 1

    workers = [threading.Thread(target=ask, args=(n,)) for n in range(THREADS)]
    for worker in workers:
        worker.start()
    time.sleep(1)
    _encode_sync(tmp, base, identities["DOC"], rosters.rows["DOC"], schema=schema, secret=secret)
    run = _link(base, op, {"kind": "incremental"})
    for worker in workers:
        worker.join()
    background = f"500 records synced; linkage run {run['run_id']} {run['status']}"
    return {"latencies": latencies, "errors": errors[0], "background": background}
