"""docker-compose.yml: valid (Debian's docker-compose checks it offline), PostgreSQL with a
health check, a one-off migration before the hub, secrets as files, and required
variables that stop it with a message instead of starting half-configured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.processes import clean_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = "/usr/bin/docker-compose"
REQUIRED = {
    "PPRL_DATABASE_URL": "postgresql+psycopg://pprl:PASSWORD@db:5432/pprl",
    "PPRL_SECRET_EPOCH": "2026-11",
    "PPRL_SCHEMA_FINGERPRINT": "ab" * 32,
    "PPRL_OPERATOR_ISSUER": "https://idp.example.gov/realms/pprl",
    "PPRL_DCFS_ROSTERS": "./examples",
    "PPRL_DOC_ROSTERS": "./examples",
}


def _config(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    assert Path(COMPOSE).exists(), "make test installs Debian's docker-compose"
    base = clean_env()
    return subprocess.run(  # noqa: S603  (a fixed binary and our own file)
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_compose_file_is_valid_and_wired_as_documented() -> None:
    assert _config("-q", **REQUIRED).returncode == 0
    config = yaml.safe_load(_config(**REQUIRED).stdout)
    services = config["services"]
    assert "healthcheck" in services["db"]
    assert services["migrate"]["command"] == ["pprl", "hub", "migrate"]
    hub = services["hub"]
    assert hub["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert hub["depends_on"]["db"]["condition"] == "service_healthy"
    for node in ("node-dcfs", "node-doc"):
        assert services[node]["depends_on"]["hub"]["condition"] == "service_healthy"
        assert "pprl node encode" in " ".join(services[node]["command"])
        assert "pprl node sync" in " ".join(services[node]["command"])
    # Key material comes from secret files, never from the environment.
    assert hub["environment"]["PPRL_LOG_KEY_FILE"].startswith("/run/secrets/")
    assert hub["environment"]["PPRL_DATA_KEY_FILE"].startswith("/run/secrets/")
    assert not any("KEY=" in str(v) for v in hub["environment"].values())


def test_a_missing_required_variable_stops_compose_with_a_message() -> None:
    for name in REQUIRED:
        partial = {k: v for k, v in REQUIRED.items() if k != name}
        result = _config("-q", **partial)
        assert result.returncode != 0, name
        assert f"set {name}" in result.stderr, (name, result.stderr)
