"""Operators' commands with tokens from the operators' provider (a real one,
tests/openid_provider.py) against a real hub: `pprl hub sign-in` by device code, the
tokens it saved renewed by themselves, and a scheduled job's client credentials."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keys import AgencyIdentity
from sso import StoredTokens
from tests.hub.live import LiveHub, live_hub
from tests.openid_provider import (
    OpenIdProvider,
    approve_device,
    device_client,
    job_client,
    running,
)
from tests.processes import PPRL, clean_env, run_pprl, seconds

pytestmark = pytest.mark.e2e

JOB_SECRET = "nightly-linker-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    yield from running(
        OpenIdProvider(
            tmp_path_factory.mktemp("provider"),
            clients=[device_client("pprl-cli"), job_client("nightly-linker", JOB_SECRET)],
            accounts={"olu.ops": {"roles": ["hub_operator"]}},
            client_roles={"nightly-linker": ["hub_operator"]},
            hub_clients=["pprl-cli", "nightly-linker"],
        )
    )


@pytest.fixture
def hub(provider: OpenIdProvider, tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(
        "sqlite", tmp_path / "hub", operator_issuer=provider.issuer, operator_jwks_file=None
    ) as live:
        yield live


def agency_file(tmp_path: Path, name: str) -> Path:
    identity = AgencyIdentity.create(name, (name.lower(),))
    identity.save(tmp_path / name)
    return tmp_path / name / "agency.json"


def test_an_operator_signs_in_at_the_terminal_and_the_saved_tokens_renew(
    provider: OpenIdProvider, hub: LiveHub, tmp_path: Path
) -> None:
    with subprocess.Popen(  # noqa: S603  (our own entry point)
        [
            PPRL,
            "hub",
            "sign-in",
            "--hub",
            hub.url,
            "--issuer",
            provider.issuer,
            "--token-file",
            "operator-token.json",
        ],
        cwd=tmp_path,
        env=clean_env(),
        stderr=subprocess.PIPE,
        text=True,
    ) as command:
        assert command.stderr is not None
        shown = command.stderr.readline()
        assert "enter the code" in shown
        address = shown.split("Open ")[1].split(" in a browser")[0]
        with httpx.Client() as browser:
            title = approve_device(browser, address, "olu.ops", provider.issuer)
        assert title == "Sign-in Success"
        assert command.wait(timeout=seconds(60)) == 0
        said = command.stderr.read()
    assert "signed in; tokens saved to operator-token.json (renewed by itself)" in said
    saved = tmp_path / "operator-token.json"
    assert saved.stat().st_mode & 0o077 == 0

    run_pprl(
        tmp_path,
        "hub",
        "register-agency",
        "--hub",
        hub.url,
        "--token-file",
        "operator-token.json",
        "--public",
        str(agency_file(tmp_path, "DOC")),
    )

    # Past its access token's end, the file's refresh token gets a new one (and the
    # rotated refresh token is written back), and the hub takes it.
    before = json.loads(saved.read_text())
    tokens = StoredTokens(saved, clock=lambda: before["expires_at"] + 1)
    renewed = tokens()
    after = json.loads(saved.read_text())
    assert renewed != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    answer = httpx.get(f"{hub.url}/v1/linkage/runs", headers={"Authorization": f"Bearer {renewed}"})
    assert answer.status_code == 200, answer.text


def test_a_scheduled_job_uses_its_own_client_credentials(
    provider: OpenIdProvider, hub: LiveHub, tmp_path: Path
) -> None:
    secret = tmp_path / "job-secret"
    secret.write_text(JOB_SECRET)
    secret.chmod(0o600)
    env = {
        "PPRL_OPERATOR_ISSUER": provider.issuer,
        "PPRL_OPERATOR_JOB_CLIENT_ID": "nightly-linker",
        "PPRL_OPERATOR_JOB_CLIENT_SECRET_FILE": str(secret),
    }
    run_pprl(
        tmp_path,
        "hub",
        "register-agency",
        "--hub",
        hub.url,
        "--public",
        str(agency_file(tmp_path, "DOC")),
        env=env,
    )
    out = run_pprl(
        tmp_path,
        "hub",
        "run-linkage",
        "--hub",
        hub.url,
        "--full",
        "--no-wait",
        env=env,
        stderr=False,
    )
    assert json.loads(out)["requested_by"] == "nightly-linker"

    secret.chmod(0o644)
    refused = refused_run(hub, tmp_path, env)
    assert "readable by other users" in refused
    assert "PPRL_OPERATOR_JOB_CLIENT_ID" in refused_run(hub, tmp_path, {})


def refused_run(hub: LiveHub, cwd: Path, env: dict[str, str]) -> str:
    """`pprl hub run-linkage` that must stop at its settings (status 2): what it said."""
    result = subprocess.run(  # noqa: S603  (our own entry point)
        [PPRL, "hub", "run-linkage", "--hub", hub.url],
        cwd=cwd,
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    return result.stderr
