"""A bounded load test on loopback: case managers' questions from several threads while
an agency syncs new records and the hub runs a linkage run. Reports requests answered,
errors (target: zero) and latency percentiles.

A real `pprl hub serve` (SQLite, or the empty PostgreSQL database named by
PPRL_BENCH_LOAD_DATABASE_URL); three agencies of 2,000 records linked first; then the
measured window (PPRL_BENCH_LOAD_SECONDS, default 20, longer if the sync and the run are
not done by then): PPRL_BENCH_LOAD_THREADS (default 8)
threads of case managers of child welfare opening random clients ("is this client
shared?", eight in ten), their caseloads and their notifications, while corrections syncs
500 new records and an incremental linkage run goes.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks._hub import BenchHub, bench_hub
from contract.client import HubClient
from hub.db import create_db_engine
from hub.migrate import upgrade
from keys import AgencyIdentity, Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import SyncReport, sync
from linkage_node.synthetic import linked_rosters, write_roster

AGENCIES = {"DCFS": "child_welfare", "DOC": "corrections", "DWD": "family_employment"}


@dataclass
class LoadResult:
    """What the window measured."""

    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    synced: int = 0
    run: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0  # the window: at least what was asked, and the sync and run in it

    def percentile(self, q: float, kind: str | None = None) -> float:
        """The q-quantile of the latencies (of one kind of request), in milliseconds."""
        ordered = sorted(self.latencies if kind is None else self.by_kind[kind])
        return ordered[int(q * (len(ordered) - 1))] * 1000


def measure(
    tmp: Path, url: str, *, size: int, new: int, seconds: float, threads: int
) -> LoadResult:
    """Link three agencies of `size`, then load the hub while one of them syncs `new`
    more records and an incremental run links them: for `seconds`, or until the sync and
    the run are done if that takes longer (the questions always overlap both)."""
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    schema = load_schema()
    secret = new_linkage_secret("2026-11")
    identities = {a: AgencyIdentity.create(a, (p,)) for a, p in AGENCIES.items()}
    rosters = linked_rosters(list(AGENCIES), size + new, shared=0.3, seed=9)
    settings = {"schema_fingerprint": schema.fingerprint, "secret_epoch": secret.epoch}
    with bench_hub(tmp, url, **settings) as hub:
        hub.register(*identities.values())
        for agency, identity in identities.items():
            rows = rosters.rows[agency][:size]
            _encode_sync(tmp, hub.base, identity, rows, schema=schema, secret=secret)
        _link(hub, {"kind": "full"})
        state = NodeState(tmp / "DCFS" / STATE_FILE, "DCFS")
        clients = [(e.ref, e.case_manager_id) for e in state.directory()]
        state.close()
        result = LoadResult()
        started = time.monotonic()
        stop = threading.Event()
        common = {
            "base": hub.base,
            "dcfs": identities["DCFS"],
            "clients": clients,
            "stop": stop,
            "result": result,
            "lock": threading.Lock(),
        }
        workers = [threading.Thread(target=_ask, args=(n,), kwargs=common) for n in range(threads)]
        for worker in workers:
            worker.start()
        time.sleep(min(1.0, seconds / 4))
        doc = rosters.rows["DOC"]
        report = _encode_sync(tmp, hub.base, identities["DOC"], doc, schema=schema, secret=secret)
        result.synced = report.records["encodings"]
        result.run = _link(hub, {"kind": "incremental"})
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        stop.set()
        for worker in workers:
            worker.join()
        result.seconds = time.monotonic() - started
    return result


def run() -> None:
    """Measure and print."""
    seconds = float(os.environ.get("PPRL_BENCH_LOAD_SECONDS", "20"))
    threads = int(os.environ.get("PPRL_BENCH_LOAD_THREADS", "8"))
    url = os.environ.get("PPRL_BENCH_LOAD_DATABASE_URL", "")
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-load-") as tmp_name:
        tmp = Path(tmp_name)
        database = url or f"sqlite:///{tmp / 'hub.db'}"
        result = measure(tmp, database, size=2000, new=500, seconds=seconds, threads=threads)
    where = "PostgreSQL" if url else "SQLite"
    errors = sum(result.errors.values())
    mix = ", ".join(
        f"{n:,} {kind} (p95 {result.percentile(0.95, kind):.0f} ms)"
        for kind, n in sorted(result.answered.items())
    )
    table = Table("measure", "result", "target", title=f"load on loopback ({where})")
    table.add_row(
        f"{threads} threads of case managers for {result.seconds:.0f} s, while corrections syncs "
        f"{result.synced} new records and an incremental linkage run goes",
        f"{len(result.latencies):,} answered ({mix}), {errors} errors"
        f"{' ' + str(dict(result.errors)) if errors else ''}; p50 {result.percentile(0.5):.1f} ms, "
        f"p95 {result.percentile(0.95):.1f} ms, p99 {result.percentile(0.99):.1f} ms",
        "0 errors " + ("[green]met[/]" if errors == 0 else "[red]missed[/]"),
    )
    table.add_row(
        "sync and linkage during the load",
        f"{result.synced} records synced; linkage run {result.run['run_id']} "
        f"{result.run['status']}",
        "completed",
    )
    console.print(table)


def _ask(
    seed: int,
    *,
    base: str,
    dcfs: AgencyIdentity,
    clients: list[tuple[str, str]],
    stop: threading.Event,
    result: LoadResult,
    lock: threading.Lock,
) -> None:
    rng = random.Random(seed)  # noqa: S311  (which client, not a secret)
    tokens: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            ref, cm = rng.choice(clients)
            token = tokens.get(cm) or issue_token(
                dcfs, subject=cm, audience="pprl-hub", roles=[Role.CASE_MANAGER]
            )
            tokens[cm] = token
            roll = rng.random()
            kind, path = (
                ("shared", f"/v1/clients/{ref}/shared")
                if roll < 0.8
                else ("caseload", "/v1/caseload")
                if roll < 0.9
                else ("notifications", "/v1/notifications")
            )
            started = time.perf_counter()
            try:
                response = client.get(path, headers={"Authorization": f"Bearer {token}"})
                outcome = "" if response.status_code == 200 else str(response.status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            with lock:
                if outcome:
                    result.errors[outcome] += 1
                else:
                    took = time.perf_counter() - started
                    result.latencies.append(took)
                    result.by_kind.setdefault(kind, []).append(took)
                    result.answered[kind] += 1


def _encode_sync(
    tmp: Path,
    base: str,
    identity: AgencyIdentity,
    rows: list[dict[str, str]],
    *,
    schema: Any,
    secret: Any,
) -> SyncReport:
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
        return sync(state, agency, client)
    finally:
        state.close()
        client.close()


def _link(hub: BenchHub, body: dict[str, Any]) -> dict[str, Any]:
    headers = hub.operator()
    started = httpx.post(f"{hub.base}/v1/linkage/runs", json=body, headers=headers)
    started.raise_for_status()
    location = f"{hub.base}{started.headers['Location']}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        run: dict[str, Any] = httpx.get(location, headers=headers, timeout=30).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        time.sleep(0.2)
    raise RuntimeError(f"linkage run {location} did not finish in 10 minutes")
