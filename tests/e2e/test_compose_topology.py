"""The compose file's topology, started as processes (Docker cannot run here): the
migration, the hub and every agency's nightly job run with the very commands and
settings `docker-compose config` reads from docker-compose.yml, secrets in a folder
standing for /run/secrets; then one agency's pages. What compose would start works."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text

from keys import new_linkage_secret
from linkage_node.synthetic import linked_rosters, write_roster
from tests.conftest import database_url
from tests.factories import PROGRAMS
from tests.processes import PPRL, clean_env, free_port, run_pprl, running, seconds
from tests.test_compose import AGENCIES, REQUIRED, _config

pytestmark = pytest.mark.e2e


class Topology:
    """Where the compose file's container paths land on this machine."""

    def __init__(self, tmp: Path, hub_url: str = "") -> None:
        self.tmp = tmp
        self.run = tmp / "run-secrets"
        self.hub_url = hub_url

    def path(self, value: str, agency: str = "") -> str:
        """A container path (or URL) as this machine has it."""
        for inside, outside in (
            ("/run/secrets", str(self.run)),
            ("/data", str(self.tmp / "state" / agency)),
            ("/rosters", str(self.tmp / "rosters" / agency)),
            ("/reports", str(self.tmp / "cmis" / agency)),
            ("http://hub:8765", self.hub_url),
        ):
            if value == inside or value.startswith(inside + "/"):
                return outside + value[len(inside) :]
        return value

    def command(self, service: dict[str, Any], agency: str = "", **swap: str) -> list[str]:
        argv = [self.path(arg, agency) for arg in service["command"]]
        argv = [swap.get(arg, arg) for arg in argv]
        return [PPRL if arg == "pprl" else arg for arg in argv]

    def env(self, service: dict[str, Any]) -> dict[str, str]:
        values = {k: self.path(str(v)) for k, v in (service.get("environment") or {}).items()}
        return {**clean_env(), **values}


def _secrets(topology: Topology, engine: Engine) -> None:
    """The files compose would mount, made the way the README says."""
    run = topology.run
    run.mkdir(mode=0o700)
    (run / "pprl_database_url").write_text(database_url(engine))
    run_pprl(run, "hub", "init-log-key", "--output", "hub_log_key", "--name", "hub.test/ledger")
    shutil.copy(run / "hub_log_key.vkey", run / "hub_log_vkey")
    (run / "hub_data_key").write_bytes(os.urandom(32))
    (run / "hub_data_key").chmod(0o600)
    issuer = REQUIRED["PPRL_OPERATOR_ISSUER"]
    run_pprl(topology.tmp, "keys", "init-issuer", "--issuer", issuer, "--output-dir", "idp")
    shutil.copy(topology.tmp / "idp" / "jwks.json", run / "operator_jwks")
    secret = new_linkage_secret(REQUIRED["PPRL_SECRET_EPOCH"])
    rosters = linked_rosters(list(AGENCIES), 40, shared=0.3, seed=5)
    for agency in AGENCIES:
        name = agency.lower()
        run_pprl(
            run,
            "keys",
            "init-agency",
            "--agency",
            agency,
            "--programs",
            PROGRAMS[agency],
            "--key-dir",
            f"{name}_keys",
        )
        secret.save(run / f"{name}_linkage_secret")
        (topology.tmp / "rosters" / agency).mkdir(parents=True)
        write_roster(topology.tmp / "rosters" / agency / "roster.csv", rosters.rows[agency])


def test_the_compose_topology_runs_as_processes(database: Engine, tmp_path: Path) -> None:
    fingerprint = run_pprl(tmp_path, "node", "schema", "--fingerprint").split()[0]
    wanted = {**REQUIRED, "PPRL_SCHEMA_FINGERPRINT": fingerprint}
    services = yaml.safe_load(_config(**wanted).stdout)["services"]
    topology = Topology(tmp_path)
    _secrets(topology, database)

    migrate = subprocess.run(  # noqa: S603  (the compose file's own command)
        topology.command(services["migrate"]),
        env=topology.env(services["migrate"]),
        capture_output=True,
        text=True,
        timeout=seconds(300),
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr

    port = free_port()
    topology.hub_url = f"http://127.0.0.1:{port}"
    hub = services["hub"]
    with running(
        topology.command(hub, **{"0.0.0.0": "127.0.0.1", "8765": str(port)}),  # noqa: S104
        env=topology.env(hub),
        ready=f"{topology.hub_url}/readyz",
        log=tmp_path / "hub.log",
    ):
        operator = run_pprl(
            tmp_path, "keys", "issue-operator-token", "--issuer-dir", "idp", "--subject", "op-1"
        ).split()[0]
        (tmp_path / "operator.txt").write_text(operator)
        for agency in AGENCIES:
            public = topology.run / f"{agency.lower()}_keys" / "agency.json"
            run_pprl(
                tmp_path,
                "hub",
                "register-agency",
                "--hub",
                topology.hub_url,
                "--token-file",
                "operator.txt",
                "--public",
                str(public),
            )
        # Each agency's nightly job, as its service runs it (one round here).
        for agency in AGENCIES:
            node = services[f"node-{agency.lower()}"]
            nightly = subprocess.run(  # noqa: S603
                [*topology.command(node, agency), "--rounds", "1"],
                env=topology.env(node),
                capture_output=True,
                text=True,
                timeout=seconds(300),
                check=False,
            )
            assert nightly.returncode == 0, (agency, nightly.stderr)
            assert (tmp_path / "cmis" / agency / "sync-report.json").exists()
        # One agency's pages, on the state its nightly job wrote.
        pages = services["pages-dcfs"]
        pages_port = free_port()
        with running(
            topology.command(pages, "DCFS", **{"0.0.0.0": "127.0.0.1", "8780": str(pages_port)}),  # noqa: S104
            env=topology.env(pages),
            ready=f"http://127.0.0.1:{pages_port}/sign-in",
            log=tmp_path / "pages.log",
        ):
            pass
    with database.connect() as conn:
        rows = conn.execute(text("SELECT agency_id, count(*) FROM encoding GROUP BY agency_id"))
        held = {str(agency): int(n) for agency, n in rows}
        checked_in = conn.execute(text("SELECT count(*) FROM sync_check_in")).scalar_one()
    assert held == dict.fromkeys(AGENCIES, 40)
    assert checked_in == len(AGENCIES)
