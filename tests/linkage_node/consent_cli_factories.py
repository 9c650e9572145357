"""Builders for the `pprl node consent` command tests: the command run against a live
hub as DOC's steward, a grant recorded through it, and the ledger's size."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from pprl.cli import app
from tests.hub.live import LiveHub

TODAY = datetime.now(UTC).date()


def run_consent(
    tmp: Path, hub: LiveHub, command: str, *args: str, columns: int = 250
) -> tuple[int, str, str]:
    base = [
        "node",
        "consent",
        command,
        "--agency",
        "DOC",
        "--hub",
        hub.url,
        "--key-dir",
        str(tmp / "keys"),
        "--state-dir",
        str(tmp / "node"),
    ]
    result = CliRunner().invoke(app, [*base, *args], env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def grant_by_cli(
    tmp: Path,
    hub: LiveHub,
    record: str,
    *extra: str,
    to: str = "child_welfare",
    classes: str = "existence,contact,plan",
) -> dict[str, object]:
    code, out, err = run_consent(
        tmp,
        hub,
        "grant",
        "--record-id",
        record,
        "--to",
        to,
        "--classes",
        classes,
        "--signed-on",
        TODAY.isoformat(),
        "--form",
        str(tmp / "form.pdf"),
        "--json",
        "--log-public-key",
        str(tmp / "hub.vkey"),
        *extra,
    )
    assert code == 0, err
    found: dict[str, object] = json.loads(out)
    return found


def ledger_size(hub: LiveHub) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(text("SELECT size FROM ledger_head")).scalar_one())
