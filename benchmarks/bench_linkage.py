"""The linkage engine against its targets, each ratio measured in this run.

1. All-pairs Dice scoring on every core: anonlink 0.15.3 (one process per core) against
   our kernel (one thread per core), on the same encodings; the pairs must be identical.
2. 2 x 200,000 realistic records: `pprl hub link`'s engine, in a fresh process, from
   encodings files; time, peak memory, F1 at the threshold it picks, and pair
   completeness of blocking against all pairs (all pairs for a 20,000-record sample).
3. FEBRL4 with 1,000 records dropped from each side: F1 at the picked threshold.
4. Five agencies x 20,000 records: pairwise F1.
5. 1,000 new records against 1,000,000 stored: the incremental update, its peak memory
   per stored encoding, and a full re-link of the result for equality.
6. The same chunked all-pairs job on a local Dask cluster against threads.

PPRL_BENCH_LINK_SCALE (default 1.0) shrinks sections 2 and 5 for a quick look.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.linkage_data import Encoded, encode_linked, febrl4_partial, write_files
from hub.linkage.engine import Dataset, link
from hub.linkage.executors import DaskExecutor, ThreadExecutor
from hub.linkage.kernel import Matrix, Pairs, load_kernel
from hub.linkage.refs import as_refs
from hub.linkage.scoring import Candidates, score_between
from hub.linkage.state import LinkageState

_THRESHOLD = 0.7


def _met(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]missed[/]"


def _f1(found: set[Any], truth: set[Any]) -> tuple[float, float, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def _linked_pairs(state: LinkageState) -> set[frozenset[tuple[str, str]]]:
    """Every pair of records in one cluster (what disclosure acts on)."""
    groups: dict[int, list[tuple[str, str]]] = {}
    for row in state.clusters():
        groups.setdefault(row.cluster_id, []).append((row.agency, row.ref))
    return {frozenset(p) for g in groups.values() for p in combinations(g, 2)}


def _anonlink_part(a: list[bytes], b: list[bytes], threshold: float) -> tuple[float, Any]:
    from anonlink.similarities import dice_coefficient_accelerated
    from bitarray import bitarray

    def bits(data: bytes) -> bitarray:
        x = bitarray()
        x.frombytes(data)
        return x

    left, right = [bits(x) for x in a], [bits(x) for x in b]
    started = time.perf_counter()
    sims, (i, j) = dice_coefficient_accelerated([left, right], threshold=threshold)
    return time.perf_counter() - started, (list(sims), list(i), list(j))


def _scoring_rate(a: Matrix, b: Matrix, cores: int) -> tuple[list[tuple[str, str, str]], float]:
    rows_a = [r.tobytes() for r in a]
    rows_b = [r.tobytes() for r in b]
    shares = np.array_split(np.arange(len(rows_a)), cores)
    with ProcessPoolExecutor(cores) as pool:
        started = time.perf_counter()
        parts = list(
            pool.map(
                _anonlink_part,
                [[rows_a[k] for k in s] for s in shares],
                [rows_b] * cores,
                [_THRESHOLD] * cores,
            )
        )
        anonlink_wall = time.perf_counter() - started
    # The pool's start-up and copying are not anonlink's: take its slowest worker's time.
    anonlink_seconds = max(seconds for seconds, _ in parts)
    reference: dict[tuple[int, int], float] = {}
    for share, (_, (sims, i, j)) in zip(shares, parts, strict=True):
        reference.update(
            {(int(share[x]), int(y)): float(s) for s, x, y in zip(sims, i, j, strict=True)}
        )
    kernel = load_kernel()
    executor = ThreadExecutor(kernel, threads=cores)
    started = time.perf_counter()
    ours, _ = score_between(a, b, _THRESHOLD, kernel=kernel, executor=executor)
    our_seconds = time.perf_counter() - started
    mine = dict(
        zip(
            zip(ours.left.tolist(), ours.right.tolist(), strict=True),
            ours.scores.tolist(),
            strict=True,
        )
    )
    comparisons = len(a) * len(b)
    ratio = anonlink_seconds / our_seconds
    rows = [
        (
            f"anonlink 0.15.3, {cores} processes, all pairs {len(a):,} x {len(b):,}",
            f"{comparisons / anonlink_seconds / 1e6:,.0f} M/s "
            f"({anonlink_wall:.1f} s with pool start-up)",
            "reference",
        ),
        (
            f"pprl kernel ({kernel.name}), {cores} threads",
            f"{comparisons / our_seconds / 1e6:,.0f} M/s = {ratio:.2f}x anonlink",
            f">= 1.5x {_met(ratio >= 1.5)}",
        ),
        (
            "same pairs, same scores (bit for bit)",
            f"{'yes' if mine == reference else '[red]NO[/]'} ({len(mine):,} pairs >= {_THRESHOLD})",
            "yes",
        ),
    ]
    return rows, comparisons / anonlink_seconds


def _child(*args: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run(  # noqa: S603  (this interpreter, this package)
            [sys.executable, "-m", "benchmarks.linkage_child", *args, "--report", report.name],
            check=True,
        )
        result: dict[str, Any] = json.loads(Path(report.name).read_text())
        return result


def _two_agencies(size: int, anonlink_rate: float, tmp: Path) -> list[tuple[str, str, str]]:
    encoded = encode_linked(["A", "B"], size, shared=0.5, seed=21)
    files = write_files(encoded, tmp)
    report = _child("link", *map(str, files), "--output", str(tmp / "clusters.csv"))
    clusters: dict[str, dict[str, str]] = {}
    with (tmp / "clusters.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            clusters.setdefault(row["cluster_id"], {})[row["agency"]] = row["record_id"]
    found = {(c["A"], c["B"]) for c in clusters.values() if len(c) == 2}
    precision, recall, f1 = _f1(found, encoded.true_pairs("A", "B"))
    completeness, sample = _completeness(encoded, report, report["threshold"])
    per_encoding = (report["peak_rss"] - report["baseline_rss"]) / report["records"]
    estimate = report["comparisons"] / anonlink_rate
    return [
        (
            f"2 x {size:,}: link from files (read {report['read_seconds']:.1f} s, not counted)",
            f"{report['link_seconds']:.1f} s (anonlink all pairs: about {estimate:.0f} s)",
            f"< 30 s {_met(report['link_seconds'] < 30)}",
        ),
        (
            "  threshold picked without labels",
            f"{report['threshold']:.3f}: {report['proposal']}",
            "",
        ),
        (
            "  F1 at that threshold (against the generator's truth)",
            f"{f1:.4f} (precision {precision:.4f}, recall {recall:.4f})",
            f">= 0.995 {_met(f1 >= 0.995)}",
        ),
        (
            f"  pair completeness vs all pairs ({sample:,} of A against all of B)",
            f"{completeness:.4%}; reduction ratio "
            f"{1 - report['candidates_scored'] / report['comparisons']:.4%}",
            f">= 99.5% {_met(completeness >= 0.995)}",
        ),
        (
            "  peak memory of the linking process, per encoding",
            f"{per_encoding:.0f} bytes ({(report['peak_rss'] - report['baseline_rss']) / 1e6:.0f}"
            " MB over the interpreter)",
            f"< 300 {_met(per_encoding < 300)}",
        ),
    ]


def _completeness(encoded: Encoded, report: dict[str, Any], threshold: float) -> tuple[float, int]:
    kernel = load_kernel()
    sample = encoded.clks["A"][: min(20_000, len(encoded.clks["A"]))]
    exact, _ = score_between(sample, encoded.clks["B"], threshold, kernel=kernel)
    blocked, _ = score_between(
        sample,
        encoded.clks["B"],
        threshold,
        candidates=Candidates.from_description(report["config"]["candidates"]),
        kernel=kernel,
    )
    codes = lambda p: set((p.left * len(encoded.clks["B"]) + p.right).tolist())  # noqa: E731
    return len(codes(blocked) & codes(exact)) / max(1, len(exact)), len(sample)


def _febrl() -> list[tuple[str, str, str]]:
    encoded, overlap = febrl4_partial()
    datasets = [Dataset(a, as_refs(encoded.refs[a]), encoded.clks[a]) for a in ("A", "B")]
    result = link(datasets)
    found = {(r.ref_a, r.ref_b) for r in result.state.links()}
    precision, recall, f1 = _f1(found, encoded.true_pairs("A", "B"))
    return [
        (
            f"FEBRL4, 4,000 a side, {overlap:,} shared; threshold {result.threshold:.3f} picked",
            f"F1 {f1:.4f} (precision {precision:.4f}, recall {recall:.4f})",
            f">= 0.993 {_met(f1 >= 0.993)}",
        )
    ]


def _five_agencies() -> tuple[list[tuple[str, str, str]], Encoded]:
    agencies = ["cw", "dj", "emp", "voc", "doc"]
    encoded = encode_linked(agencies, 20_000, shared=0.2, seed=8)
    datasets = [Dataset(a, as_refs(encoded.refs[a]), encoded.clks[a]) for a in agencies]
    result = link(datasets)
    found = _linked_pairs(result.state)
    truth = encoded.all_true_pairs()
    _, _, overall = _f1(found, truth)
    worst = min(
        _f1(
            {p for p in found if {n[0] for n in p} == {a, b}},
            {p for p in truth if {n[0] for n in p} == {a, b}},
        )[2]
        for a, b in combinations(agencies, 2)
    )
    return [
        (
            f"5 agencies x 20,000 (threshold {result.threshold:.3f} picked, "
            f"{result.seconds:.1f} s)",
            f"pairwise F1 {overall:.4f}; worst agency pair {worst:.4f}",
            f">= 0.99 {_met(overall >= 0.99 and worst >= 0.99)}",
        )
    ], encoded


def _incremental(per_agency: int, tmp: Path) -> list[tuple[str, str, str]]:
    agencies = ["cw", "dj", "emp", "voc", "doc"]
    new_each = 200
    encoded = encode_linked(agencies, per_agency + new_each, shared=0.2, seed=13)
    # The generator puts shared people first: shuffle so the new records are a mix.
    rng = np.random.default_rng(2)
    for agency in agencies:
        order = rng.permutation(len(encoded.refs[agency]))
        encoded.refs[agency] = [encoded.refs[agency][i] for i in order]
        encoded.clks[agency] = encoded.clks[agency][order]
    existing = write_files(encoded, tmp, slice(0, per_agency))
    new = write_files(encoded, tmp, slice(per_agency, None))
    check = os.environ.get("PPRL_BENCH_SKIP_RELINK") != "1"
    report = _child(
        "incremental",
        "--existing",
        *map(str, existing),
        "--new",
        *map(str, new),
        *(["--check"] if check else []),
    )
    update = report["update"]
    per_encoding = (report["peak_rss"] - report["baseline_rss"]) / report["stored"]
    held = (report["rss_after_update"] - report["baseline_rss"]) / report["stored"]
    rows = [
        (
            f"incremental: {update['added']:,} new against {report['records']:,} stored",
            f"{update['seconds']:.2f} s ({update['comparisons']:,} comparisons, "
            f"{update['records_resolved']} records re-solved); "
            f"full link of the stored: {report['full_seconds']:.1f} s",
            f"< 10 s {_met(update['seconds'] < 10)}",
        ),
        (
            "  peak memory per stored encoding (full link, then update)",
            f"{per_encoding:.0f} bytes; held after the update: {held:.0f} bytes",
            f"< 300 {_met(per_encoding < 300)}",
        ),
    ]
    if check:
        rows.append(
            (
                "  full re-link of the updated records gives the same clusters and links",
                f"{'yes' if report['relink_equal'] else '[red]NO[/]'} "
                f"({report['clusters']:,} clusters, re-link {report['relink_seconds']:.1f} s)",
                "yes",
            )
        )
    return rows


def _dask_overhead(a: Matrix, b: Matrix, cores: int) -> list[tuple[str, str, str]]:
    from distributed import Client, LocalCluster

    kernel = load_kernel()
    started = time.perf_counter()
    on_threads, _ = score_between(
        a, b, _THRESHOLD, kernel=kernel, executor=ThreadExecutor(kernel, cores)
    )
    threads_seconds = time.perf_counter() - started
    with (
        LocalCluster(
            n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        executor = DaskExecutor(client)
        score_between(a[:512], b, _THRESHOLD, executor=executor)  # workers load the kernel
        started = time.perf_counter()
        on_dask, _ = score_between(a, b, _THRESHOLD, executor=executor)
        dask_seconds = time.perf_counter() - started
    same = all(
        np.array_equal(getattr(on_threads, f), getattr(on_dask, f))
        for f in Pairs.__dataclass_fields__
    )
    return [
        (
            f"all pairs on a local Dask cluster ({cores} worker processes) vs {cores} threads",
            f"{dask_seconds:.2f} s vs {threads_seconds:.2f} s = "
            f"{dask_seconds / threads_seconds:.2f}x the time; same pairs: "
            f"{'yes' if same else '[red]NO[/]'}",
            "measured",
        )
    ]


def run() -> None:
    """Measure and print."""
    console = Console(width=160)
    scale = float(os.environ.get("PPRL_BENCH_LINK_SCALE", "1.0"))
    cores = os.cpu_count() or 1
    table = Table("measure", "result", "target", title="linkage engine", show_lines=False)

    def add(rows: list[tuple[str, str, str]]) -> None:
        for row in rows:
            table.add_row(*row)
        console.print(f"  {rows[0][0]} ... done", highlight=False)

    five, encoded = _five_agencies()
    a, b = encoded.clks["cw"], encoded.clks["dj"]
    rate_rows, anonlink_rate = _scoring_rate(a, b, cores)
    add(rate_rows)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-link-") as tmp:
        add(_two_agencies(int(200_000 * scale), anonlink_rate, Path(tmp)))
    add(_febrl())
    add(five)
    with tempfile.TemporaryDirectory(prefix="pprl-bench-inc-") as tmp:
        add(_incremental(int(200_000 * scale), Path(tmp)))
    add(_dask_overhead(a, b, cores))
    console.print(table)
