"""Peak memory and time of the steward's commands on a large roster (issue 15's target:
under ~300 MB for a 1M-row roster). PPRL_BENCH_STEWARD_ROWS sets the size (default
200,000). Each command runs in its own process (`pprl node validate`, then `encode` twice:
a first run and an unchanged re-run), measured by the kernel's peak resident size; the
ratio column is the peak projected linearly to 1M rows over the 300 MB target (above 1.0:
not met). The projection overstates: the interpreter's own ~60 MB does not grow with the
roster; run with PPRL_BENCH_STEWARD_ROWS=1000000 for the real figure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from keys import new_linkage_secret
from linkage_node.synthetic import synthetic_roster

TARGET_MB_PER_MILLION = 300.0


# A fresh interpreter runs each command, so RUSAGE_CHILDREN is that command's own peak.
_PEAK = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _measure(args: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and peak MB of one command."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  (our own entry point)
        [sys.executable, "-c", _PEAK, *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    return time.perf_counter() - started, int(done.stdout.strip()) / 1024


def run() -> None:
    """Measure and print."""
    rows = int(os.environ.get("PPRL_BENCH_STEWARD_ROWS", "200000"))
    pprl = str(Path(sys.executable).parent / "pprl")
    console = Console(width=120)
    table = Table(title=f"steward's commands on {rows:,} rows (one process each)")
    for column in ("command", "seconds", "rows/s", "peak MB", "KB/row", "1M-row ratio"):
        table.add_column(column, justify="right" if column != "command" else "left")
    with tempfile.TemporaryDirectory(prefix="pprl-bench-steward-") as tmp:
        work = Path(tmp)
        synthetic_roster(work / "roster.csv", rows, seed=5)
        new_linkage_secret("bench").save(work / "secret.json")
        encode = [
            pprl,
            "node",
            "encode",
            "--agency",
            "BENCH",
            "--secret-file",
            "secret.json",
            "--input",
            "roster.csv",
            "--output",
            "out.jsonl",
        ]
        for label, args in (
            ("validate", [pprl, "node", "validate", "roster.csv"]),
            ("encode (first run)", encode),
            ("encode (unchanged)", encode),
        ):
            seconds, peak = _measure(args, work)
            projected = peak / rows * 1_000_000
            table.add_row(
                label,
                f"{seconds:.1f}",
                f"{rows / seconds:,.0f}",
                f"{peak:,.0f}",
                f"{peak * 1024 / rows:.2f}",
                f"{projected / TARGET_MB_PER_MILLION:.2f}",
            )
    console.print(table)
