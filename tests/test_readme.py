"""Every command the README shows is run here, in order, as a reader would run them."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.processes import clean_env, free_port, start_ready, stop

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BASH = shutil.which("bash") or "/bin/bash"


def _console_commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_readme_shows_the_two_commands_first() -> None:
    commands = _console_commands()
    assert commands[:2] == ["make demo", "make test"]


def test_make_test_is_what_ci_runs_on_both_databases() -> None:
    # `make test` cannot run inside itself; CI runs it through .ci/run, with PostgreSQL.
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "PPRL_TEST_DATABASE_URL=" in ci
    readme = README.read_text()
    assert "PPRL_TEST_DATABASE_URL=postgresql+psycopg://" in readme


def _on_free_ports(commands: list[str]) -> list[str]:
    """The README's commands with its ports (8765 for the hub, 8780 for the node's pages)
    moved to free ones, so a hub a reader left running never answers this test."""
    ports = {"8765": str(free_port()), "8780": str(free_port())}
    moved = []
    for command in commands:
        line = command
        for usual, free in ports.items():
            line = line.replace(f"--port {usual}", f"--port {free}")
            line = line.replace(f"127.0.0.1:{usual}", f"127.0.0.1:{free}")
        moved.append(line)
    return moved


@pytest.mark.e2e
def test_every_readme_command_runs_and_succeeds(tmp_path: Path) -> None:
    env = {
        **clean_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)  # the compose check reads it
    servers: list[subprocess.Popen[bytes]] = []
    ran = 0
    try:
        for command in _on_free_ports(_console_commands()):
            if command == "make test":
                continue
            cwd = ROOT if command.startswith("make ") else tmp_path
            if " pprl hub serve " in f" {command} " or " pprl node serve " in f" {command} ":
                server, url = _start_server(command, cwd, env, tmp_path / "server.log")
                servers.append(server)
                if " node serve " in command:
                    # The node's pages answer, and the README's account can sign in.
                    with httpx.Client(base_url=url, follow_redirects=True) as pages:
                        form = pages.get("/sign-in").text
                        token = form.split('name="csrf" value="')[1].split('"')[0]
                        signed_in = pages.post(
                            "/sign-in",
                            data={
                                "username": "rreyes",
                                "csrf": token,
                                "password": "correct horse battery staple",
                            },
                        )
                    assert signed_in.status_code == 200, signed_in.text
                    assert "My caseload" in signed_in.text
                ran += 1
                continue
            result = subprocess.run(  # noqa: S603  (commands are the README's own)
                [BASH, "-c", command],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            ran += 1
    finally:
        for server in servers:
            stop(server)
    assert ran >= 20
    # And they did what the README says they do.
    assert (tmp_path / "pprl-keys" / "DOC" / "linkage-secret.json").exists()
    assert (tmp_path / "hub.db").exists()
    assert (tmp_path / "token.txt").read_text().count(".") == 2
    # Tokens and encodings are readable by their owner only.
    for private in (
        "token.txt",
        "operator-token.txt",
        "doc-encodings.jsonl",
        "doc-state.backup",
        "doc-consents.fhir.json",
        "cmis/DOC/sync-report.json",
        "cmis/DOC/shared-clients.csv",
    ):
        assert (tmp_path / private).stat().st_mode & 0o077 == 0, private
    # The refused exports wrote nothing; the backup restored elsewhere is the same state.
    assert not (tmp_path / "doc-today.jsonl").exists()
    assert (tmp_path / "restore-check" / "DOC" / "record-ref.key").read_bytes() == (
        tmp_path / "pprl-node" / "DOC" / "record-ref.key"
    ).read_bytes()
    assert (tmp_path / "grant-proof.json").exists()
    assert (tmp_path / "hub-log.key.vkey").exists()
    assert (tmp_path / "doc-encodings.jsonl").read_text().count("\n") == 201
    clusters = (tmp_path / "clusters.csv").read_text().splitlines()[1:]
    assert len({row.split(",")[0] for row in clusters}) == 40  # the 40 shared clients
    mine = (tmp_path / "doc-clusters.csv").read_text()
    assert mine.count(",DOC,DOC-") == 40
    assert ",DCFS,DCFS-" not in mine  # the other agency's rows stay opaque
    # The steward's consent walk-through: three releases recorded at DOC (one by import),
    # one revoked by the id `grant` printed; one scan kept at the node, owner-readable
    # only. At DCFS a parent's form for herself and her two children: three grants, the
    # children's signed by her as their parent.
    assert re.fullmatch(r"G-[0-9A-Z]{5}-[0-9A-Z]{5}\n", (tmp_path / "grant-id.txt").read_text())
    scans = list((tmp_path / "pprl-node" / "DOC" / "consent-forms").iterdir())
    assert len(scans) == 1
    assert scans[0].stat().st_mode & 0o077 == 0
    with sqlite3.connect(tmp_path / "hub.db") as db:
        leaves = [bytes(row[0]) for row in db.execute("SELECT leaf FROM ledger_entry")]
        assert sum(b'"type":"GRANT"' in leaf for leaf in leaves) == 6
        assert sum(b'"signer_type":"parent_or_guardian"' in leaf for leaf in leaves) == 2
        assert sum(b'"type":"REVOKE"' in leaf for leaf in leaves) == 1
        assert not any(b"DOC-000000" in leaf for leaf in leaves)  # case numbers stay home
        fhir = (tmp_path / "doc-consents.fhir.json").read_text()
        assert fhir.count('"resourceType": "Consent"') == 3
        assert (
            db.execute("SELECT count(*) FROM encoding WHERE agency_id = 'DOC'").fetchone()[0] == 200
        )
        runs = db.execute("SELECT kind, status FROM linkage_run ORDER BY run_id").fetchall()
        assert runs == [("full", "succeeded"), ("incremental", "succeeded")]
        assert (
            db.execute("SELECT count(DISTINCT cluster_id) FROM record_cluster").fetchone()[0] == 40
        )
        # DOC's witness cosigned the checkpoint it printed to doc-witnessed.txt.
        witnessed = (tmp_path / "doc-witnessed.txt").read_text()
        size = int(witnessed.split("\n")[1])
        cosigners = db.execute(
            "SELECT agency_id FROM ledger_cosignature WHERE size = ?", (size,)
        ).fetchall()
        assert cosigners == [("DOC",)]
        # The runbook rotated DOC's keys, revoked the new ones as compromised and re-keyed
        # DOC under the incident; its node then witnessed and cosigned with the new key.
        keys = db.execute(
            "SELECT count(*), count(revoked_at) FROM agency_key WHERE agency_id = 'DOC'"
        ).fetchone()
        assert keys == (6, 4)
        leaves = [bytes(r[0]) for r in db.execute("SELECT leaf FROM ledger_entry")]
        assert any(b'"action":"recover_agency"' in leaf for leaf in leaves)
        assert any(b'"action":"add_key"' in leaf for leaf in leaves)


def _start_server(
    command: str, cwd: Path, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """The README's serve command, once it answers; and its base URL."""
    port = re.search(r"--port (\d+)", command)
    assert port is not None, "the README's serve command names its port"
    url = f"http://127.0.0.1:{port.group(1)}"
    probe = "/sign-in" if " node serve " in command else "/readyz"
    server = start_ready([BASH, "-c", command], cwd=cwd, env=env, log=log, ready=f"{url}{probe}")
    return server, url


def test_the_configuration_reference_is_generated_from_the_settings() -> None:
    from hub.settings import settings_reference

    text = README.read_text()
    embedded = text.split("<!-- settings-reference:start -->\n")[1].split(
        "<!-- settings-reference:end -->"
    )[0]
    assert embedded == settings_reference()
