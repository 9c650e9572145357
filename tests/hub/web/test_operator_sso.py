"""Operators sign in to the hub with their identity provider, and their commands get
renewing tokens from it: a real provider (`oidc-provider` on Node.js,
tests/openid_provider.py) and the hub's own pages and API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from contract.client import HubClient
from hub.app import create_app
from hub.deps import get_session
from hub.operator_idp import OperatorTokens
from hub.web import operator_sign_in
from keys import Role
from sso import ClientCredentials, OpenIdProvider
from tests.conftest import database_url
from tests.hub.api.factories import make_settings
from tests.openid_provider import (
    OpenIdProvider as ProviderProcess,
)
from tests.openid_provider import (
    confirm_sign_out,
    job_client,
    moved_on_to,
    running,
    sign_in_at_provider,
    web_client,
)

pytestmark = pytest.mark.live

HUB = "https://hub.test"
PAGES_SECRET = "hub-operators-pages-secret-0123456789"
JOB_SECRET = "nightly-linker-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderProcess]:
    yield from running(
        ProviderProcess(
            tmp_path_factory.mktemp("provider"),
            clients=[
                web_client(
                    "hub-operators",
                    PAGES_SECRET,
                    f"{HUB}/operator/sign-in/callback",
                    f"{HUB}/operator/sign-in?signed_out=1",
                ),
                job_client("nightly-linker", JOB_SECRET),
            ],
            accounts={
                "olu.ops": {"name": "Olu", "roles": ["hub_operator"]},
                "ada.audit": {"name": "Ada", "roles": ["auditor"]},
                "cam.worker": {"name": "Cam", "roles": ["case_manager"]},
            },
            client_roles={"nightly-linker": ["hub_operator"]},
            hub_clients=["nightly-linker"],
        )
    )


@pytest.fixture
def hub(
    provider: ProviderProcess, db_engine: Engine, session: Session, tmp_path: Path
) -> Iterator[TestClient]:
    secret = tmp_path / "pages-secret"
    secret.write_text(PAGES_SECRET)
    secret.chmod(0o600)
    settings, _, _ = make_settings(
        tmp_path,
        database_url(db_engine),
        operator_issuer=provider.issuer,
        operator_jwks_file=None,  # fetched from the provider, and again on rotation
        operator_client_id="hub-operators",
        operator_client_secret_file=secret,
        operator_scope="openid profile staff",
        public_url=HUB,
    )
    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: session
    app.state.hub.linkage.sessions = lambda: nullcontext(session)
    with TestClient(app, base_url=HUB) as client:
        yield client


def sign_in(hub: TestClient, provider: ProviderProcess, login: str, page: str = "") -> Any:
    start = hub.get(
        "/operator/sign-in/sso", params={"next": page} if page else None, follow_redirects=False
    )
    assert start.status_code == 303, start.text
    with httpx.Client() as browser:
        back = sign_in_at_provider(browser, start.headers["location"], login, provider.issuer)
    location = back.headers["location"]
    assert location.startswith(f"{HUB}/operator/sign-in/callback?")
    return hub.get(location.removeprefix(HUB), follow_redirects=False)


def test_an_operator_signs_in_at_the_provider_and_returns_to_the_page(
    hub: TestClient, provider: ProviderProcess
) -> None:
    asked = hub.get("/operator/health", follow_redirects=False)
    assert asked.headers["location"] == "/operator/sign-in?next=%2Foperator%2Fhealth"
    form = hub.get(asked.headers["location"])
    assert "Sign in with your state account" in form.text
    assert 'name="token"' in form.text  # pasting a token stays as the fallback
    landed = sign_in(hub, provider, "olu.ops", page="/operator/health")
    assert moved_on_to(landed) == "/operator/health"
    health = hub.get("/operator/health")
    assert health.status_code == 200
    assert "Sign out (olu.ops)" in health.text


def test_hub_roles_come_from_the_provider_claims(
    hub: TestClient, provider: ProviderProcess
) -> None:
    assert moved_on_to(sign_in(hub, provider, "ada.audit")) == "/operator"
    assert "Sign out (ada.audit)" in hub.get("/operator/health").text
    hub.cookies.clear()
    refused = sign_in(hub, provider, "cam.worker")
    assert refused.status_code == 403
    assert "your account has no role on the hub" in refused.text
    assert hub.get("/operator/health", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_provider_session_too(
    hub: TestClient, provider: ProviderProcess
) -> None:
    sign_in(hub, provider, "olu.ops")
    page = hub.get("/operator/health")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    out = hub.post("/operator/sign-out", data={"csrf": csrf}, follow_redirects=False)
    end_session = moved_on_to(out)
    assert end_session.startswith(f"{provider.issuer}/session/end?")
    assert hub.get("/operator/health", follow_redirects=False).status_code == 303
    with httpx.Client() as browser:
        back = confirm_sign_out(browser, end_session, provider.issuer)
    assert back.headers["location"] == f"{HUB}/operator/sign-in?signed_out=1"
    assert "You are signed out." in hub.get("/operator/sign-in?signed_out=1").text


def test_an_expired_session_says_so(
    hub: TestClient, provider: ProviderProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operator_sign_in, "SESSION_SECONDS", -1)
    sign_in(hub, provider, "olu.ops")
    asked = hub.get("/operator/health", follow_redirects=False)
    assert asked.headers["location"] == "/operator/sign-in?next=%2Foperator%2Fhealth"
    assert "Your session expired" in hub.get(asked.headers["location"]).text


def job_tokens(provider: ProviderProcess, clock: Any = None) -> ClientCredentials:
    source = OpenIdProvider(provider.issuer)
    if clock is None:
        return ClientCredentials(source, "nightly-linker", JOB_SECRET, resource=HUB)
    return ClientCredentials(source, "nightly-linker", JOB_SECRET, resource=HUB, clock=clock)


def test_a_jobs_client_credentials_work_at_the_api_across_a_key_rotation(
    hub: TestClient, provider: ProviderProcess
) -> None:
    token = job_tokens(provider)()
    assert (
        hub.get("/v1/linkage/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    provider.rotate()
    rotated = job_tokens(provider)()
    assert rotated != token
    answer = hub.get("/v1/linkage/runs", headers={"Authorization": f"Bearer {rotated}"})
    assert answer.status_code == 200, answer.text
    # A token of this provider for another purpose (its ID tokens, no hub audience) fails.
    refused = hub.get("/v1/linkage/runs", headers={"Authorization": f"Bearer {token}x"})
    assert refused.status_code == 401


def test_a_long_wait_renews_its_token_before_it_expires(provider: ProviderProcess) -> None:
    """`run-linkage --wait` polls with a token source that fetches a new token from the
    provider as the old one nears its end: every poll carries a token the hub accepts."""
    now = [1_000_000.0]
    tokens = job_tokens(provider, clock=lambda: now[0])
    seen: list[str] = []
    polls = iter(["running", "running", "running", "succeeded"])

    def hub_answers(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"].removeprefix("Bearer "))
        status = next(polls)
        return httpx.Response(
            200,
            json={
                "run_id": 7,
                "kind": "full",
                "status": status,
                "stage": "scoring",
                "progress": 0.5,
                "requested_by": "nightly-linker",
                "created_at": "2026-12-06T01:00:00Z",
                **dict.fromkeys(
                    (
                        "requested_threshold",
                        "threshold",
                        "threshold_source",
                        "error",
                        "params",
                        "counts",
                        "proposal",
                        "epoch",
                        "schema_fingerprint",
                        "through_seq",
                        "started_at",
                        "finished_at",
                    ),
                ),
            },
        )

    def sleep(seconds: float) -> None:
        now[0] += 700  # each poll lands after the last token's ten minutes ran out

    client = HubClient(
        HUB,
        tokens,
        transport=httpx.MockTransport(hub_answers),
        sleep=sleep,
    )
    run = client.wait_for_run(7, timeout=10_000)
    assert run.status == "succeeded"
    assert len(set(seen)) == 4  # renewed every time, never used past its end
    verifier = OperatorTokens(provider.issuer, "pprl-hub", OpenIdProvider(provider.issuer))
    for token in seen:
        assert Role.HUB_OPERATOR in verifier.verify(token).roles
