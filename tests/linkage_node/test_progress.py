"""Progress of the long steps: plain lines in a log (no bars, no blank lines, no
wrapping), and every step of a job reported up to its total."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.progress import _Lines
from linkage_node.synthetic import synthetic_roster


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_every_tenth_and_one_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    lines = _Lines(out, clock)
    for done in range(0, 100_001, 1000):
        clock.now += 0.1
        lines.report("encoding", done, 100_000)
    lines.finish()
    written = out.getvalue().splitlines()
    assert 9 <= len(written) <= 12
    assert all(line.startswith("encoding: ") for line in written)
    assert "about" in written[3]
    assert "records/s" in written[3]
    assert written[-1].startswith("encoding: 100,000 of 100,000 (100%)")
    assert "done in 10.0 s" in written[-1]


def test_a_slow_step_without_a_total_still_says_it_is_alive() -> None:
    out, clock = io.StringIO(), Clock()
    lines = _Lines(out, clock)
    for done in range(0, 50):
        clock.now += 1
        lines.report("reading", done * 100, 0)
    lines.finish()
    written = out.getvalue().splitlines()
    assert len(written) == 4  # every 15 s, and the end
    assert written[-1] == "reading: 4,900, 100 rows/s, done in 49.0 s"


@pytest.mark.e2e
def test_validate_without_a_terminal_writes_plain_progress_lines(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 12_000)
    pprl = str(Path(sys.executable).parent / "pprl")
    result = subprocess.run(  # noqa: S603  (our own entry point)
        [pprl, "node", "validate", str(roster)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("validating: 12,000 of 12,000 (100%)") for line in lines)
    assert "" not in lines
    assert "\x1b" not in result.stderr  # no terminal control codes in a log


def test_every_step_of_a_job_reaches_its_total(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 300)
    seen: dict[str, tuple[int, int]] = {}
    run_encoding_job(
        agency_id="DCFS",
        schema=load_schema(),
        secret=new_linkage_secret("2026-11"),
        roster_path=roster,
        output=tmp_path / "out.jsonl",
        state_dir=tmp_path / "state",
        workers=1,
        progress=lambda step, done, total: seen.__setitem__(step, (done, total)),
    )
    assert seen["validating and encoding"] == (300, 300)
    assert seen["writing encodings"] == (300, 300)
    done, total = seen["saving state"]
    assert done == total > 0
