"""`pprl node witness`: a round against a live hub, its cosignature, and exit status 4
when the hub's ledger is then truncated as a restore from an older backup would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from hub.services.ledger import HubLedger
from pprl.cli import app
from tests.conftest import BACKENDS, database_url
from tests.hub.live import LiveHub, live_hub

pytestmark = pytest.mark.live


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(request.param, tmp_path / "hub") as live:
        live.register("DCFS", tmp_path / "keys" / "DCFS")
        live.register("DOC")
        yield live


def _checkpoint(hub: LiveHub) -> None:
    with Session(hub.engine) as session:
        HubLedger(hub.log).issue_checkpoint(session)
        session.commit()


def _witness(tmp: Path, hub: LiveHub, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["node", "witness", *args, "--agency", "DCFS", "--state-dir", str(tmp / "node")],
        env={"COLUMNS": "250"},
    )
    return result.exit_code, result.stdout + result.stderr


def test_a_round_cosigns_and_a_truncated_ledger_exits_4(hub: LiveHub, tmp_path: Path) -> None:
    vkey = tmp_path / "hub-log.vkey"
    vkey.write_text(hub.log.verifier.vkey())
    keys = str(tmp_path / "keys" / "DCFS")
    code, out = _witness(
        tmp_path, hub, "run", "--hub", hub.url, "--key-dir", keys, "--log-public-key", str(vkey)
    )
    assert code == 0, out
    assert "the hub has not signed a checkpoint yet" in out
    _checkpoint(hub)
    code, out = _witness(tmp_path, hub, "run", "--hub", hub.url, "--key-dir", keys)
    assert code == 0, out  # the pinned key is used without --log-public-key
    assert "ledger witnessed at size 2 and cosigned" in out
    with hub.engine.connect() as conn:
        cosigned = conn.execute(text("SELECT agency_id FROM ledger_cosignature")).all()
    assert cosigned == [("DCFS",)]
    hub.register("DJJ")  # the ledger grows to 3 ...
    _checkpoint(hub)
    assert _witness(tmp_path, hub, "run", "--hub", hub.url, "--key-dir", keys)[0] == 0

    # ... and is then put back to 2 entries, as restoring yesterday's backup would.
    with hub.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("ledger_entry", "ledger_checkpoint"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for name in ("entry", "checkpoint"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS ledger_{name}_no_delete"))
        conn.execute(text("DELETE FROM ledger_cosignature WHERE size > 2"))
        conn.execute(text("DELETE FROM ledger_entry WHERE entry_index >= 2"))
        conn.execute(text("DELETE FROM ledger_checkpoint WHERE size > 2"))
        conn.execute(text("UPDATE ledger_head SET size = 2"))
    code, out = _witness(tmp_path, hub, "run", "--hub", hub.url, "--key-dir", keys)
    assert code == 4, out
    assert "rollback" in out
    assert "send the evidence" in out
    code, out = _witness(tmp_path, hub, "status")
    assert code == 0, out
    assert "witnessed size 3" in out
    assert "1 alarms" in out
    code, out = _witness(tmp_path, hub, "checkpoint")
    assert code == 0
    assert out.split("\n")[1] == "3"
    # An auditor given the node's state finds the ledger shorter than what it witnessed.
    audit = CliRunner().invoke(
        app,
        [
            "consent",
            "verify",
            "--database-url",
            database_url(hub.engine),
            "--log-public-key",
            str(vkey),
            "--witnessed",
            str(tmp_path / "node"),
        ],
        env={"COLUMNS": "250"},
    )
    assert audit.exit_code == 1, audit.stderr
    assert "restored from an older backup" in audit.stderr
