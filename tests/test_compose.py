"""docker-compose.yml: valid (Debian's docker-compose checks it offline), PostgreSQL with a
health check, a one-off migration before the hub, the five agencies' nodes each with its
nightly job and its pages, secrets as files (the database password too), the Dockerfile
in two stages with no compiler in the image that runs, and required variables that stop
it with a message instead of starting half-configured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.processes import clean_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = "/usr/bin/docker-compose"
AGENCIES = ("DCFS", "DJJ", "DWD", "DVR", "DOC")
REQUIRED = {
    "PPRL_SECRET_EPOCH": "2026-11",
    "PPRL_SCHEMA_FINGERPRINT": "ab" * 32,
    "PPRL_OPERATOR_ISSUER": "https://idp.example.gov/realms/pprl",
    **{f"PPRL_{agency}_ROSTERS": "./examples" for agency in AGENCIES},
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
    for agency in AGENCIES:
        node, pages = services[f"node-{agency.lower()}"], services[f"pages-{agency.lower()}"]
        for service in (node, pages):
            assert service["depends_on"]["hub"]["condition"] == "service_healthy"
        run = node["command"]
        assert run[:3] == ["pprl", "node", "run"]
        assert run[run.index("--agency") + 1] == agency
        assert run[run.index("--every") + 1] == "24h"
        # The integrated sync report lands outside the container, for the agency's CMIS.
        assert run[run.index("--report-dir") + 1] == "/reports"
        assert f"/cmis/{agency.lower()}:/reports" in node["volumes"][2]
        assert pages["command"][:3] == ["pprl", "node", "serve"]
        # The pages read the state the nightly job writes.
        assert node["volumes"][1].split(":")[0] == pages["volumes"][0].split(":")[0]
        assert all(p.startswith("127.0.0.1:") for p in pages["ports"])
    # Key material, the database password included, comes from secret files, never from
    # the environment.
    for name in ("migrate", "hub"):
        environment = services[name]["environment"]
        assert "PPRL_DATABASE_URL" not in environment
        assert environment["PPRL_SECRETS_DIR"] == "/run/secrets"
        secrets = [s["source"] if isinstance(s, dict) else s for s in services[name]["secrets"]]
        assert "pprl_database_url" in secrets
    assert hub["environment"]["PPRL_LOG_KEY_FILE"].startswith("/run/secrets/")
    assert hub["environment"]["PPRL_DATA_KEY_FILE"].startswith("/run/secrets/")
    assert hub["environment"]["PPRL_ENVIRONMENT"] == "production"
    every = [str(v) for svc in services.values() for v in (svc.get("environment") or {}).values()]
    assert not any("KEY=" in v or "PASSWORD" in v or "postgresql" in v for v in every)
    assert services["db"]["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")


def test_the_image_is_built_in_two_stages_and_runs_without_a_compiler() -> None:
    stages = (ROOT / "Dockerfile").read_text().split("\nFROM ")[1:]
    build, runtime = stages[0], stages[-1]
    assert len(stages) == 2
    assert "gcc" in build
    assert "npm" in build  # htmx and Swagger UI come from the npm registry at build time
    assert "make setup" in build
    assert "COPY --from=build /app /app" in runtime
    assert "gcc" not in runtime
    assert "make" not in runtime.replace("make setup", "")
    assert "USER pprl" in runtime


def test_a_missing_required_variable_stops_compose_with_a_message() -> None:
    for name in REQUIRED:
        partial = {k: v for k, v in REQUIRED.items() if k != name}
        result = _config("-q", **partial)
        assert result.returncode != 0, name
        assert f"set {name}" in result.stderr, (name, result.stderr)
