"""One encoding run of an agency's roster, as the node's tests make it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import JobResult

SECRET = new_linkage_secret("2026-11")
TODAY = date(2026, 12, 1)


def encode(
    tmp: Path, roster: Path, *, agency: str = "DOC", today: date = TODAY, **options: Any
) -> JobResult:
    """Encode `roster` as `agency` on `today`, its state in `tmp/agency`."""
    return run_encoding_job(
        agency_id=agency,
        schema=load_schema(),
        secret=SECRET,
        roster_path=roster,
        output=tmp / "out.jsonl",
        state_dir=tmp / agency,
        workers=1,
        today=today,
        **options,
    )
