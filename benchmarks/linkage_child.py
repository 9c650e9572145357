"""The measured side of the linkage benchmark, run in a fresh process so its peak memory
is its own: `python -m benchmarks.linkage_child link|incremental ...` writes a JSON
report. Memory is the peak resident set minus the resident set after imports."""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from hub.linkage.engine import LinkParams, link
from hub.linkage.files import read_compatible, write_clusters
from hub.linkage.kernel import load_kernel
from hub.linkage.state import LinkageState


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def _peak() -> int:
    # VmHWM, not ru_maxrss: ru_maxrss counts the parent's memory from before the exec.
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _link(args: argparse.Namespace, report: dict[str, Any]) -> None:
    started = time.perf_counter()
    datasets = read_compatible(args.files)
    report["read_seconds"] = time.perf_counter() - started
    result = link(datasets, LinkParams(dedupe_within=True))  # as `pprl hub link` does
    report["link_seconds"] = result.seconds
    report["records"] = sum(result.records.values())
    report["threshold"] = result.threshold
    report["proposal"] = result.proposal.summary() if result.proposal else ""
    report["comparisons"] = result.comparisons
    report["candidates_scored"] = result.candidates_scored
    report["config"] = result.state.config.describe()
    report["peak_rss"] = _peak()
    write_clusters(args.output, result.state)


def _incremental(args: argparse.Namespace, report: dict[str, Any]) -> None:
    kernel = load_kernel()
    full = link(read_compatible(args.existing), LinkParams(), kernel=kernel)
    state = full.state
    report["records"] = state.records()
    report["full_seconds"] = full.seconds
    report["threshold"] = full.threshold
    del full  # what a hub keeps is the state
    report["peak_after_full"] = _peak()
    report["rss_after_full"] = _rss()
    new = read_compatible(args.new)
    update = state.update({d.agency: (d.refs, d.clks) for d in new}, kernel=kernel)
    report["update"] = update.as_dict()
    report["peak_rss"] = _peak()
    report["rss_after_update"] = _rss()
    report["stored"] = state.records()
    if args.check:
        # A full re-link of the same records at the same settings, from nothing.
        again = LinkageState(state.config)
        everything = {}
        for rec in state.agencies:
            live = np.nonzero(rec.alive[: rec.size])[0]
            everything[rec.name] = (rec.refs[live], rec.clks[live])
        started = time.perf_counter()
        again.update(everything, kernel=kernel)
        report["relink_seconds"] = time.perf_counter() - started
        report["relink_equal"] = (
            state.partition() == again.partition() and state.links() == again.links()
        )
        report["clusters"] = len(again.partition())


def main() -> None:
    """Parse, measure, write the report."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    one = sub.add_parser("link")
    one.add_argument("files", nargs="+", type=Path)
    one.add_argument("--output", type=Path, required=True)
    one.add_argument("--report", type=Path, required=True)
    inc = sub.add_parser("incremental")
    inc.add_argument("--existing", nargs="+", type=Path, required=True)
    inc.add_argument("--new", nargs="+", type=Path, required=True)
    inc.add_argument("--report", type=Path, required=True)
    inc.add_argument("--check", action="store_true")
    args = parser.parse_args()
    load_kernel()
    report: dict[str, Any] = {"baseline_rss": _rss()}
    if args.mode == "link":
        _link(args, report)
    else:
        _incremental(args, report)
    args.report.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
