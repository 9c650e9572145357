"""The one hub client: typed answers, plain errors for a wrong URL, an unreachable or a
refusing hub, and tokens reused until near expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contract import LinkageRunIn
from contract.client import HubClient
from contract.errors import HubRefused, HubUnreachable, NotAHub
from contract.tokens import CachedToken
from tests.processes import free_port

PROBLEM = {"content-type": "application/problem+json"}


def _hub(handle: Callable[[httpx.Request], httpx.Response]) -> HubClient:
    return HubClient("http://hub.test", lambda: "t0k", transport=httpx.MockTransport(handle))


def _run(**fields: object) -> dict[str, object]:
    run: dict[str, object] = {
        "run_id": 7,
        "kind": "full",
        "status": "queued",
        "requested_by": "op-1",
        "requested_threshold": None,
        "threshold": None,
        "threshold_source": None,
        "progress": 0.0,
        "stage": "queued",
        "error": None,
        "params": None,
        "counts": None,
        "proposal": None,
        "epoch": None,
        "schema_fingerprint": None,
        "through_seq": None,
        "created_at": "2026-12-05T10:00:00Z",
        "started_at": None,
        "finished_at": None,
    }
    return {**run, **fields}


def test_answers_are_read_into_the_contracts_models_with_the_token_sent() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=_run())

    run = _hub(handle).start_linkage(LinkageRunIn(kind="full"))
    assert (run.run_id, run.status) == (7, "queued")
    assert seen[0].headers["Authorization"] == "Bearer t0k"


def test_a_wrong_url_is_named_as_not_a_hub() -> None:
    def handle(_: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>Not Found</html>")  # some other web server

    with pytest.raises(NotAHub, match="is not a pprl hub address") as raised:
        _hub(handle).caseload()
    assert "give its root" in raised.value.advice()


def test_an_answer_in_another_shape_is_not_a_hub() -> None:
    with pytest.raises(NotAHub, match="does not read"):
        _hub(lambda _: httpx.Response(200, json={"hello": "world"})).caseload()


def test_the_hubs_refusal_says_what_and_why() -> None:
    def handle(_: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"detail": "not your client"}, headers=PROBLEM)

    with pytest.raises(HubRefused, match="the hub refused the answer: 403 not your client") as r:
        _hub(handle).shared("ab" * 32)
    assert (r.value.status, r.value.detail) == (403, "not your client")


def test_an_unreachable_hub_is_said_plainly() -> None:
    client = HubClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(HubUnreachable, match=r"cannot reach the hub at http://127\.0\.0\.1") as r:
        client.caseload()
    assert "Check --hub" in r.value.advice()
    assert r.value.cause == "ConnectError"


def test_waiting_for_a_run_polls_until_it_ends_and_reports_progress() -> None:
    answers = iter([_run(status="running", stage="scoring"), _run(status="succeeded")])
    slept: list[float] = []
    client = HubClient(
        "http://hub.test",
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=next(answers))),
        sleep=slept.append,
    )
    stages: list[str] = []
    run = client.wait_for_run(7, timeout=60, poll=0.5, progress=lambda r: stages.append(r.stage))
    assert run.status == "succeeded"
    assert (stages, slept) == (["scoring"], [0.5])


def test_a_cached_token_is_reused_until_a_fifth_of_its_life_is_left() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    minted: list[datetime] = []

    def mint(at: datetime, lifetime: timedelta) -> str:
        minted.append(at)
        return f"token-{len(minted)}"

    clock = [now]
    token = CachedToken(mint, timedelta(minutes=10), now=lambda: clock[0])
    assert token() == token() == "token-1"
    clock[0] = now + timedelta(minutes=7, seconds=59)
    assert token() == "token-1"
    clock[0] = now + timedelta(minutes=8)
    assert token() == "token-2"
    assert minted == [now, now + timedelta(minutes=8)]
