"""How the node retries a batch: transient failures (the hub unreachable or restarting,
429, 5xx) until `retry_for` runs out, the hub's Retry-After honoured, anything else at
once; the same idempotency key every time."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from contract.client import HubClient
from contract.errors import HubRefused, HubUnreachable


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _client(
    answers: list[Callable[[httpx.Request], httpx.Response]],
    clock: FakeClock,
    retry_for: float,
    notice: Callable[[str], None] | None = None,
) -> tuple[HubClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1](request)

    client = HubClient(
        "http://hub.test",
        lambda: "token",
        retry_for=retry_for,
        transport=httpx.MockTransport(handle),
        sleep=clock.sleep,
        clock=lambda: clock.now,
        notice=notice,
    )
    return client, seen


def _refused(_: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused")


def _status(code: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    body = {"batch_id": "b1", "kind": "encodings", "accepted": 1, "removed": 0, "replayed": False}
    return lambda _: httpx.Response(
        code, json=body if code < 300 else {"detail": "x"}, headers=headers
    )


def test_a_hub_back_within_the_window_gets_the_batch() -> None:
    clock = FakeClock()
    ok = _status(200)
    client, seen = _client([_refused, _refused, _status(503), ok], clock, retry_for=60)
    assert client.post_batch("/b", {}, "DCFS.r1.encodings.0").accepted == 1
    # Exponential backoff from half a second, with up to a quarter second of jitter.
    assert [int(s * 2) / 2 for s in clock.slept] == [0.5, 1.0, 2.0]
    assert all(0 <= s - base <= 0.25 for s, base in zip(clock.slept, [0.5, 1, 2], strict=True))
    assert {r.headers["Idempotency-Key"] for r in seen} == {"DCFS.r1.encodings.0"}


def test_each_retry_is_announced() -> None:
    clock = FakeClock()
    notices: list[str] = []
    client, _ = _client([_refused, _status(200)], clock, retry_for=60, notice=notices.append)
    client.post_batch("/b", {}, "DCFS.r1.encodings.0")
    assert len(notices) == 1
    assert notices[0].startswith(
        "cannot reach the hub at http://hub.test (ConnectError); "
        "trying batch DCFS.r1.encodings.0 again in 0."
    )
    assert notices[0].endswith(" s (giving up in 60 s)")


def test_the_hubs_retry_after_is_honoured() -> None:
    clock = FakeClock()
    client, _ = _client([_status(429, **{"Retry-After": "7"}), _status(200)], clock, retry_for=60)
    client.post_batch("/b", {}, "k")
    assert clock.slept == [7.0]


def test_gives_up_when_the_window_is_spent_with_advice() -> None:
    clock = FakeClock()
    client, seen = _client([_refused], clock, retry_for=20)
    with pytest.raises(HubUnreachable, match="cannot reach") as raised:
        client.post_batch("/b", {}, "k")
    assert "Check --hub" in raised.value.advice()
    assert sum(clock.slept) == pytest.approx(20)
    assert max(clock.slept) <= 8.0  # backoff is capped
    assert len(seen) == len(clock.slept) + 1


@pytest.mark.parametrize("code", [400, 401, 403, 409, 413, 422])
def test_a_refusal_is_not_retried(code: int) -> None:
    clock = FakeClock()
    client, seen = _client([_status(code)], clock, retry_for=60)
    with pytest.raises(HubRefused, match=f"refused batch k: {code}"):
        client.post_batch("/b", {}, "k")
    assert (len(seen), clock.slept) == (1, [])
