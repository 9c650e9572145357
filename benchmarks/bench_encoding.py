"""Encoding 200,000 default-schema records (PPRL_BENCH_ENCODE_SIZE to change it).

Plain clkhash on one process and this project's encoder on every core get the same
normalised records in the same run; the CLKs are compared byte for byte. Then the whole
nightly job (CSV in, validated, normalised, encoded, file and state written) is timed,
and timed again on the unchanged roster, where only the diff is computed.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from clkhash import clk
from rich.console import Console
from rich.table import Table

from keys import new_linkage_secret
from linkage_node import encode_all, load_schema, run_encoding_job, validate_roster
from linkage_node.features import feature_values
from linkage_node.synthetic import synthetic_roster


def run() -> None:
    """Measure and print."""
    size = int(os.environ.get("PPRL_BENCH_ENCODE_SIZE", "200000"))
    cores = os.cpu_count() or 1
    console = Console(width=120)
    schema = load_schema()
    secret = new_linkage_secret("bench")
    with tempfile.TemporaryDirectory(prefix="pprl-bench-encode-") as tmp:
        roster = Path(tmp) / "roster.csv"
        synthetic_roster(roster, size, seed=11)
        values = [feature_values(schema, r) for r in validate_roster(roster).records]

        started = time.perf_counter()
        reference = clk.generate_clks(values, schema.schema, secret.secret, max_workers=1)
        clkhash_seconds = time.perf_counter() - started

        started = time.perf_counter()
        ours = encode_all(schema, secret.secret, values, workers=cores)
        our_seconds = time.perf_counter() - started
        identical = [c.tobytes() for c in reference] == ours

        started = time.perf_counter()
        job = run_encoding_job(
            agency_id="BENCH",
            schema=schema,
            secret=secret,
            roster_path=roster,
            output=Path(tmp) / "out.jsonl",
            state_dir=Path(tmp) / "state",
        )
        job_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = run_encoding_job(
            agency_id="BENCH",
            schema=schema,
            secret=secret,
            roster_path=roster,
            output=Path(tmp) / "out.jsonl",
            state_dir=Path(tmp) / "state",
        )
        again_seconds = time.perf_counter() - started

    popcount = statistics.mean(int.from_bytes(c, "big").bit_count() for c in ours) / schema.bits
    ratio = (size / our_seconds) / (size / clkhash_seconds)
    table = Table("measure", "result", "target", title=f"encoding {size:,} records, default schema")
    table.add_row(
        "clkhash 0.18.3, one process", f"{size / clkhash_seconds:,.0f} records/s", "reference"
    )
    table.add_row(
        f"pprl encoder, {cores} processes",
        f"{size / our_seconds:,.0f} records/s = {ratio:.1f}x clkhash",
        ">= 1.8x " + ("[green]met[/]" if ratio >= 1.8 else "[red]missed[/]"),
    )
    table.add_row("CLKs byte-identical to clkhash", "yes" if identical else "[red]NO[/]", "yes")
    table.add_row(
        "mean popcount",
        f"{popcount:.1%} of {schema.bits} bits",
        "40-60% " + ("[green]met[/]" if 0.4 <= popcount <= 0.6 else "[red]missed[/]"),
    )
    table.add_row(
        "whole job, first run (CSV -> validated, encoded, file + state)",
        f"{job_seconds:.1f} s = {size / job_seconds:,.0f} records/s "
        f"({size / job_seconds / (size / clkhash_seconds):.1f}x clkhash encoding alone)",
        "",
    )
    table.add_row(
        "whole job, unchanged roster (diff only)",
        f"{again_seconds:.1f} s, {again.encoded} re-encoded, diff empty: {again.diff.empty}",
        "",
    )
    console.print(table)
    if job.roster.rejected:
        console.print(f"[yellow]{job.roster.rejected} synthetic rows were rejected[/]")
