"""`pprl hub init-log-key`, `pprl hub checkpoint`, `pprl consent prove / check-proof`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from consent import LogKey
from hub.migrate import upgrade
from hub.services.ledger import HubLedger
from pprl.cli import app
from tests.conftest import database_url, empty_database
from tests.factories import LOG_NAME, LedgerBuilder


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_prove_and_check_an_entry_offline(tmp_path: Path) -> None:
    key_path = tmp_path / "log.key"
    code, vkey, _ = run("hub", "init-log-key", "--output", str(key_path), "--name", LOG_NAME)
    assert code == 0
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    vkey_path = tmp_path / "log.key.vkey"
    assert vkey_path.read_text().strip() == vkey.strip()

    b = LedgerBuilder(log=LogKey.load(key_path))
    with empty_database("sqlite", tmp_path) as engine:
        upgrade(engine)
        url = database_url(engine)
        ledger = HubLedger(b.log)
        with Session(engine) as session:
            for leaf in b.leaves:
                ledger.append(session, leaf)
            session.commit()
        code, note, err = run(
            "hub", "checkpoint", "--log-key", str(key_path), "--database-url", url
        )
        assert code == 0, err
        assert note.startswith(f"{LOG_NAME}\n3\n")
        code, _, err = run("hub", "checkpoint", "--log-key", str(key_path), "--database-url", url)
        assert "none issued" in err
        proof = tmp_path / "p.json"
        code, _, err = run(
            "consent", "prove", "--database-url", url, "--index", "1", "--output", str(proof)
        )
        assert code == 0, err

    check = ("consent", "check-proof", "--log-public-key", str(vkey_path), "--input")
    code, out, err = run(*check, str(proof))
    assert code == 0, err
    assert json.loads(out)["index"] == 1
    assert json.loads(out)["type"] == "KEY"

    bundle = json.loads(proof.read_text())
    bundle["index"] = 2
    (tmp_path / "bad.json").write_text(json.dumps(bundle))
    code, out, err = run(*check, str(tmp_path / "bad.json"))
    assert code == 1
    assert out == ""
    assert "is not in the log at size 3" in err

    other = LogKey.generate(LOG_NAME).verifier.vkey()
    (tmp_path / "other.vkey").write_text(other)
    code, _, err = run(
        "consent",
        "check-proof",
        "--log-public-key",
        str(tmp_path / "other.vkey"),
        "--input",
        str(proof),
    )
    assert code == 1
    assert f"not signed by log key {LOG_NAME}" in err
