from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from keys import KeyRegistry, LinkageSecret
from pprl.cli import app
from pprl.demo import DEMO_AGENCIES


def test_demo_does_what_it_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "demo"
    registry = KeyRegistry.load(root / "registry.json")
    assert [r.agency_id for r in registry] == sorted(a for a, _, _ in DEMO_AGENCIES)
    secrets = {
        agency: LinkageSecret.load(root / "keys" / agency / "linkage-secret-epoch-1.json")
        for agency, _, _ in DEMO_AGENCIES
    }
    assert len({s.secret for s in secrets.values()}) == 1
    bundle = json.loads((root / "sealed-epoch-1.json").read_text())
    assert {c["agency_id"] for c in bundle["copies"]} == set(secrets)
    assert "refused" in result.stderr
    assert "withheld (the client's consent to child_welfare was revoked)" in result.stderr
    assert result.stdout == ""  # human output goes to stderr
    # The command the demo prints to re-check its ledger works.
    verify = CliRunner().invoke(
        app,
        [
            "consent", "verify", "--database-url", f"sqlite:///{root / 'hub.db'}",
            "--log-public-key", str(root / "hub-log.key.vkey"),
        ],
    )  # fmt: skip
    assert verify.exit_code == 0, verify.stderr
    assert "ledger ok: 8 entries" in verify.stderr


def test_demo_refuses_a_non_empty_workdir(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
