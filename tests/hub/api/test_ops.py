from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from consent import open_checkpoint
from hub.app import create_app
from hub.settings import HubSettings
from hub.web.operator_sign_in import TOKEN_COOKIE
from keys import Role
from tests.conftest import database_url
from tests.hub.api.factories import Api
from tests.hub.live import live_hub
from tests.processes import deadline


def test_health_ready_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    api.client.get("/healthz")
    metrics = api.client.get("/metrics").text
    assert 'pprl_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


def test_not_ready_without_keys_names_what_is_missing(db_engine: Engine, tmp_path: Path) -> None:
    app = create_app(HubSettings(database_url=database_url(db_engine)))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "log_key_loaded" in response.json()["detail"]


def test_errors_are_problem_documents_with_the_request_id(api: Api) -> None:
    response = api.client.get("/v1/agencies", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["x-request-id"] == "req-123"
    body = response.json()
    assert (body["status"], body["title"]) == (401, "Authentication required")


def test_oversized_request_is_refused_before_it_is_read(api: Api) -> None:
    big = b"{" + b" " * (api.settings.max_request_bytes + 10) + b"}"
    response = api.client.post(
        "/v1/ledger/entries",
        content=big,
        headers={**api.operator(), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_validation_errors_never_echo_the_submitted_value(api: Api) -> None:
    api.register("DCFS")
    response = api.post(
        "/v1/agencies/DCFS/encodings/batches",
        {
            "epoch": "2026-11",
            "schema_fingerprint": "Jane Doe 1984-02-29",
            "canary_digest": "",
            "upserts": [],
        },
        api.as_("DCFS"),
        key="batch-0001",
    )
    assert response.status_code == 422
    assert "Jane Doe" not in response.text
    assert "schema_fingerprint" in response.json()["detail"]


def test_every_route_declares_its_error_statuses(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if not path.startswith("/v1/"):
                continue
            declared = set(operation["responses"])
            assert {"401", "403", "404", "409", "413", "422"} <= declared, (method, path)
            assert "application/problem+json" in operation["responses"]["422"]["content"], (
                method,
                path,
            )


@pytest.mark.live
def test_checkpoints_are_signed_on_a_schedule(tmp_path: Path) -> None:
    with live_hub("sqlite", tmp_path / "hub", checkpoint_interval_seconds=0.2) as hub:
        hub.register("DCFS")  # one ledger entry, and no checkpoint asked for
        end = deadline(10)
        response = httpx.get(f"{hub.url}/v1/ledger/checkpoint", headers=hub.operator_headers())
        while response.status_code == 404 and time.monotonic() < end:
            time.sleep(0.1)
            response = httpx.get(f"{hub.url}/v1/ledger/checkpoint", headers=hub.operator_headers())
        assert response.status_code == 200
        assert open_checkpoint(response.json()["note"], hub.log.verifier).size == 1


def test_a_wrong_method_says_which_ones_are_allowed(api: Api) -> None:
    response = api.client.delete("/v1/agencies")
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_is_a_problem_document_and_the_connection_stays_open(
    db_engine: Engine, tmp_path: Path
) -> None:
    import http.client

    from tests.hub.api.factories import make_settings
    from tests.processes import serve_in_thread

    settings, _, operators = make_settings(tmp_path, database_url(db_engine))
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with serve_in_thread(app) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/broken")
        first = conn.getresponse()
        body = first.read()
        assert first.status == 500
        assert first.getheader("content-type") == "application/problem+json"
        assert b"a bug" not in body
        assert first.getheader("connection") != "close"
        sock = conn.sock
        conn.request("GET", "/healthz")  # on the same connection
        second = conn.getresponse()
        second.read()
        assert second.status == 200
        assert conn.sock is sock
        conn.close()
    token = operators.issue(subject="op-1", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
    signed_in = TestClient(app, cookies={TOKEN_COOKIE: token}, follow_redirects=False)
    huge = signed_in.get("/operator/runs/999999999999999999999")
    assert huge.status_code in (404, 422)  # not a database overflow


def test_metrics_need_the_scrapers_token_when_one_is_set(db_engine: Engine, tmp_path: Path) -> None:
    from tests.hub.api.factories import make_settings

    token_file = tmp_path / "metrics.token"
    token_file.write_text("scrape-me-please-0123456789\n")
    token_file.chmod(0o600)
    settings, _, _ = make_settings(tmp_path, database_url(db_engine), metrics_token_file=token_file)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        good = client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-me-please-0123456789"}
        )
        assert good.status_code == 200
    production = settings.model_copy(
        update={"metrics_token_file": None, "environment": "production"}
    )
    with TestClient(create_app(production)) as client:
        assert client.get("/metrics").status_code == 404


def test_the_api_docs_come_from_the_hub_itself_under_a_strict_policy(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # no inline script: the policy would block it
    for asset in ("vendor/swagger-ui/swagger-ui-bundle.js", "docs-init.js"):
        assert api.client.get(f"/operator/static/{asset}").status_code == 200
    assert api.client.get("/redoc").status_code == 404


def test_the_hubs_address_leads_to_the_operators_pages(api: Api) -> None:
    response = api.client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/operator"
