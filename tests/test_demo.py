from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keys import KeyRegistry, LinkageSecret
from pprl.cli import app
from pprl.demo import DEMO_AGENCIES
from tests.conftest import BACKENDS, database_url, empty_database


def _number(pattern: str, text: str) -> str:
    """The first group of `pattern` in the demo's output, commas dropped."""
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in the demo's output"
    return found.group(1).replace(",", "")


@pytest.mark.e2e
@pytest.mark.parametrize("backend", BACKENDS)
def test_demo_does_what_it_reports(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as engine:
        url = database_url(engine) if backend != "sqlite" else None
        args = [
            "demo",
            "--workdir",
            str(tmp_path / "demo"),
            *(["--database-url", url] if url else []),
        ]
        result = CliRunner().invoke(app, args)
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
        text = result.stderr
        assert "refused" in text
        # The story: encoded, synced, linked, a consented and a non-consented answer, the
        # revocation, the overlap table and the verified ledger.
        assert text.count("1,000 encodings, 1,000") == 3
        # Child welfare and corrections each list a family member they do not serve.
        assert text.count("1,001 encodings, 1,000") == 2
        clusters = int(_number(r"run 1: ([\d,]+) clusters", text))
        assert clusters > 150
        consented = text.split("consented):")[1].split("asks about")[0]
        assert "corrections: contact Case manager" in consented
        assert "2 plan milestones" in consented
        # The case manager's supervisor sees the client on the team, with what needs them.
        team = text.split("opens the team:")[1].split("9. A client leaves")[0]
        assert re.search(r"of cm-\d+: [1-9]\d* conflicts, 1 stuck", team)
        # The daily sweep tells the case managers of the stuck milestone, naming no one.
        assert re.search(
            r"daily plan alerts .*: \d+ new conflicts, [1-9]\d* milestones stuck", text
        )
        # Stuck reasons travel as shared codes and are shown in words.
        assert "stuck for at least 45 days at corrections: no way to get there" in consented
        assert "consent verified" in consented
        assert "no consent on record from corrections for contact details" in text
        assert "withheld (the client's consent to corrections was revoked)" in text
        # The demo ends with a client still consented: what the case manager's page shows.
        still = text.split("still consented):")[1].split("9. A client leaves")[0]
        assert "corrections: contact Case manager" in still
        assert "consent verified" in still
        # A client leaves corrections: an exit kept as history, not a deletion.
        left = text.split("9. A client leaves")[1].split("10. Families")[0]
        assert "recorded 1 exit" in left
        assert re.search(r"exited from corrections on \d{4}-\d{2}-\d{2}", left)
        assert "notification: A client on your caseload left another program" in left
        assert "served before: corrections until" in left
        # Families: the mother is named to her child's case manager once she consents.
        family = text.split("10. Families")[1].split("11. Tonight's integrated")[0]
        assert "(parent or guardian, listed as family only: DCFS does not serve her): no" in family
        assert re.search(r"is also served by corrections \((high|moderate) match", family)
        assert "consent verified by DCFS's node" in family
        assert "families report (cells under 11 suppressed)" in family
        # Tonight's report for child welfare's CMIS holds the consented client's contact.
        report = text.split("11. Tonight's integrated")[1].split("12. Quality summary")[0]
        assert re.search(
            r"integrated sync report for DCFS's CMIS: [1-9][\d,]* of [\d,]+ clients shared", report
        )
        assert re.search(
            r"\S+ \(cm-\d+\): corrections, contact Case manager .*, plan shared: "
            r"yes, consent verified: yes",
            report,
        )
        assert (root / "cmis" / "DCFS" / "shared-clients.csv").stat().st_mode & 0o777 == 0o600
        assert "overlap (cells under 11 suppressed)" in text
        entries = int(_number(r"(\d+) entries, \d+ signed checkpoints", text))
        assert result.stdout == ""  # human output goes to stderr
        # The commands the demo prints: the ledger re-check, and the page sign-in it set up.
        verify = CliRunner().invoke(
            app,
            [
                "consent",
                "verify",
                "--database-url",
                url or f"sqlite:///{root / 'hub.db'}",
                "--log-public-key",
                str(root / "hub-log.key.vkey"),
            ],
        )
        assert verify.exit_code == 0, verify.stderr
        assert f"ledger ok: {entries} entries" in verify.stderr
        assert (root / "nodes" / "DCFS-demo-password.txt").stat().st_mode & 0o777 == 0o600


def test_demo_refuses_a_non_empty_workdir(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
