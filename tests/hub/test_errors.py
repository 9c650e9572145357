"""How the hub answers its own faults: an integrity fault is the hub's, never the caller's
(500 or 503, logged at CRITICAL, no internals in the answer); a refusal keeps its 4xx."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent import LedgerTampered, WitnessAlarm
from hub.crypto import DataCipher, DataKeyError, SealedValueAltered
from hub.errors import NotFound, install
from hub.failures import HubError, IntegrityFault
from hub.linkage.files import EncodingsFileError
from hub.linkage.refs import StateError
from hub.setup_checks import HubSetupError
from keys import MalformedDocument

FAULTS: dict[str, Exception] = {
    "tampered": LedgerTampered(7, "leaf bytes do not match the stored leaf hash"),
    "split-view": WitnessAlarm("a second history at size 9", None),
    "altered": SealedValueAltered("a sealed value was altered or moved to another row"),
    "state": StateError("pairs within an agency, but this state does not link them"),
    "not-found": NotFound(),
    "malformed": MalformedDocument("agency.json", "not JSON"),
}


def _raising(exc: Exception) -> Callable[[], None]:
    def route() -> None:
        raise exc

    return route


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install(app)
    for name, exc in FAULTS.items():
        app.add_api_route(f"/{name}", _raising(exc))
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("name", "status"), [("tampered", 503), ("split-view", 503), ("altered", 500)]
)
def test_an_integrity_fault_is_the_hubs_logged_and_says_nothing_inside(
    client: TestClient, name: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="pprl.hub"):
        response = client.get(f"/{name}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    # What was damaged (which entry, which row) is for the operators' log only.
    for internal in ("leaf", "size 9", "altered"):
        assert internal not in response.text
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert [type(FAULTS[name]).__name__ in r.getMessage() for r in critical] == [True]


def test_a_hub_error_no_route_answered_is_a_bare_500_not_the_callers_fault(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="pprl.hub"):
        response = client.get("/state")
    assert response.status_code == 500
    assert "detail" not in response.json()
    assert any(r.exc_info and r.exc_info[0] is StateError for r in caplog.records)


@pytest.mark.parametrize(("name", "status"), [("not-found", 404), ("malformed", 422)])
def test_refusals_keep_their_4xx(client: TestClient, name: str, status: int) -> None:
    assert client.get(f"/{name}").status_code == status


@pytest.mark.parametrize(
    "error",
    [DataKeyError, SealedValueAltered, EncodingsFileError, StateError, HubSetupError, NotFound],
)
def test_every_hub_error_has_one_base(error: type[Exception]) -> None:
    assert issubclass(error, HubError)


def test_a_sealed_value_that_does_not_open_is_an_integrity_fault() -> None:
    cipher = DataCipher(bytes(32))
    sealed = bytearray(cipher.seal(b"{}", b"row-1"))
    sealed[-1] ^= 1
    with pytest.raises(IntegrityFault, match="altered or moved"):
        cipher.open(bytes(sealed), b"row-1")
    with pytest.raises(IntegrityFault):
        cipher.open(cipher.seal(b"{}", b"row-1"), b"row-2")
