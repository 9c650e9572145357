"""Schemathesis against the hub's own OpenAPI schema, over loopback: no 5xx, no status
or content type the schema does not declare, responses that match their schemas; with
no token, an agency node's token and an operator's token; 1,000+ requests in all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keys import Role, issue_token
from tests.hub.live import LiveHub, live_hub

pytestmark = pytest.mark.live

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub("sqlite", tmp_path_factory.mktemp("schemathesis")) as hub:
        hub.register("DCFS")
        yield hub


def _headers(live: LiveHub, who: str) -> dict[str, str]:
    if who == "node":
        token = issue_token(
            live.identities["DCFS"], subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
        )
        return {"Authorization": f"Bearer {token}"}
    if who == "operator":
        return live.operator_headers()
    return {}


def _fuzz_operation(strategy: Any, live: LiveHub, headers: dict[str, str]) -> int:
    calls = 0

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        nonlocal calls
        case: Any = data.draw(strategy)
        case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
        calls += 1

    check()
    return calls


def _fuzz(live: LiveHub, who: str) -> int:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    headers = _headers(live, who)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 12
    return sum(_fuzz_operation(op.as_strategy(), live, headers) for op in operations)


@pytest.mark.parametrize("who", ["anonymous", "node", "operator"])
def test_every_operation_conforms_to_its_schema(live: LiveHub, who: str) -> None:
    calls = _fuzz(live, who)
    # Three callers x every operation x EXAMPLES: well over 1,000 requests in the run.
    assert calls >= 12 * EXAMPLES
