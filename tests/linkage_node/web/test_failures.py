"""The node's pages when things fail: the hub away, an unknown address, a fault. A person
gets a page they can act on (never a bare 500 or JSON in a browser), and the caseload,
which is local data, is still there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.hub.api.factories import Api
from tests.linkage_node.web.conftest import Node, make_node
from tests.processes import free_port


@pytest.fixture
def hub_away(api: Api, scenario: dict[str, int], tmp_path: Path) -> Node:
    """The DCFS node, its hub not answering (nothing listens on the port)."""
    away = httpx.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    return make_node(api, tmp_path / "away", hub_client=away)


def test_the_caseload_lists_local_clients_while_the_hub_is_away(hub_away: Node) -> None:
    page = hub_away.sign_in().get("/caseload")
    assert page.status_code == 200
    assert "Maria Lopez" in page.text
    assert "Dana Whitfield" in page.text
    assert "Sam Other" not in page.text  # another case manager's client
    assert "The hub is not answering" in page.text
    assert "Unavailable" in page.text


def test_a_page_that_needs_the_hub_says_it_cannot_be_reached(hub_away: Node) -> None:
    page = hub_away.sign_in().get("/clients/DCFS-0001")
    assert page.status_code in (502, 503)
    assert page.headers["content-type"].startswith("text/html")
    assert "hub" in page.text
    assert "Back to my caseload" in page.text


def test_an_unknown_address_is_a_page_for_people_and_json_for_programs(node: Node) -> None:
    page = node.client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    data = node.client.get("/no-such-page", headers={"Accept": "application/json"})
    assert data.status_code == 404
    assert data.json() == {"detail": "Not Found"}


def test_a_fault_is_a_page_without_its_details(node: Node) -> None:
    app: Any = node.client.app

    def broken() -> Any:
        raise RuntimeError("Maria Lopez 1990-04-02")

    node.sign_in()
    app.state.node.state = broken
    quiet = TestClient(app, base_url="https://node.test", raise_server_exceptions=False)
    quiet.cookies = node.client.cookies
    page = quiet.get("/clients/DCFS-0001")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "Maria" not in page.text


def test_health_and_readiness(node: Node, hub_away: Node) -> None:
    assert node.client.get("/healthz").text == "ok\n"
    ready = node.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["state"] == "ok"
    assert ready.json()["hub"] == "ok"
    away = hub_away.client.get("/readyz")
    assert away.status_code == 200  # the caseload can still be served
    assert away.json()["hub"].startswith("unreachable")
