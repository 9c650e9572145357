"""Encoding health (the operators' page and `GET /v1/reports/encoding-health`) over
2 x 200,000 stored encodings (PPRL_BENCH_REPORTS_RECORDS per agency), on SQLite.

Reference, measured in the same run on the same database: the direct way, every
encoding loaded at once and every bit unpacked with NumPy. Both must give the same
numbers; the report prints time and peak Python memory of each, and the ratios (the
page also reads epochs, the latest sync, canaries and cluster counts; the reference
computes the shares of bits set only).
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlmodel import Session, col

from hub.db import create_db_engine, table_of
from hub.migrate import upgrade
from hub.models import Agency, Encoding
from hub.services.health import encoding_health


def run() -> None:
    """Measure and print."""
    size = int(os.environ.get("PPRL_BENCH_REPORTS_RECORDS", "200000"))
    console = Console(width=120)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-reports-") as tmp:
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'hub.db'}")
        upgrade(engine)
        _populate(engine, size)
        with Session(engine) as session:
            _reference(session)  # both measured with the database file in the page cache
            ours, ours_s, ours_mb = _measure(lambda: encoding_health(session))
            reference, ref_s, ref_mb = _measure(lambda: _reference(session))
        engine.dispose()
    same = all(
        abs(h.popcount_mean - m) < 1e-12 and abs(h.popcount_sd - sd) < 1e-12
        for h, (m, sd) in zip(ours, reference, strict=True)
    )
    table = Table(
        "measure",
        "result",
        "reference",
        "ratio",
        title=f"encoding health over {2 * size:,} encodings (SQLite)",
    )
    table.add_row(
        "time per page view", f"{ours_s:.2f} s", f"{ref_s:.2f} s", f"{ref_s / ours_s:.2f}x"
    )
    table.add_row(
        "peak Python memory",
        f"{ours_mb:.0f} MB",
        f"{ref_mb:.0f} MB",
        f"{ref_mb / ours_mb:.1f}x less",
    )
    table.add_row("same shares of bits set", "[green]yes[/]" if same else "[red]NO[/]", "", "")
    console.print(table)


def _measure(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak MB): timed on its own, as tracing slows every allocation."""
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return result, seconds, peak


def _reference(session: Session) -> list[tuple[float, float]]:
    out = []
    for agency in ("DCFS", "DOC"):
        rows = session.execute(
            select(col(Encoding.clk)).where(col(Encoding.agency_id) == agency)
        ).all()
        bits = np.array([np.frombuffer(bytes(clk), np.uint8) for (clk,) in rows])
        share = np.unpackbits(bits, axis=1).mean(axis=1)
        out.append((float(share.mean()), float(share.std())))
    return out


def _populate(engine: Any, size: int) -> None:
    rng = np.random.default_rng(3)
    now = datetime.now(UTC)
    with engine.begin() as db:
        for agency in ("DCFS", "DOC"):
            db.execute(table_of(Agency).insert().values(agency_id=agency, registered_at=now))
            for start in range(0, size, 50_000):
                n = min(50_000, size - start)
                clks = np.packbits(rng.random((n, 1024)) < 0.45, axis=1)
                db.execute(
                    table_of(Encoding).insert(),
                    [
                        {
                            "agency_id": agency,
                            "ref": f"{agency}{start + i:060d}",
                            "clk": clks[i].tobytes(),
                            "epoch": "e",
                            "schema_fingerprint": "f",
                            "updated_at": now
                            if start + i >= size * 0.9
                            else now - timedelta(days=1),
                        }
                        for i in range(n)
                    ],
                )
