"""Fixtures for the agency node's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.synthetic import synthetic_roster
from tests.conftest import BACKENDS
from tests.hub.api.factories import EPOCH
from tests.hub.live import LiveHub, live_hub


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveHub]:
    """A live hub on each backend, for the bundled schema, with no agency registered."""
    schema = load_schema()
    with live_hub(request.param, tmp_path / "hub", schema_fingerprint=schema.fingerprint) as live:
        yield live


@pytest.fixture(params=BACKENDS)
def consent_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveHub]:
    """A live hub with DOC (keys in tmp_path/keys, five clients encoded in tmp_path/node),
    DCFS and DWD registered, and its log key in tmp_path/hub.vkey."""
    schema = load_schema()
    with live_hub(request.param, tmp_path / "hub", schema_fingerprint=schema.fingerprint) as live:
        live.register("DOC", tmp_path / "keys")
        live.register("DCFS")
        live.register("DWD")
        roster = tmp_path / "roster.csv"
        synthetic_roster(roster, 5, prefix="C")
        run_encoding_job(
            agency_id="DOC",
            schema=schema,
            secret=new_linkage_secret(EPOCH),
            roster_path=roster,
            output=tmp_path / "doc.jsonl",
            state_dir=tmp_path / "node",
            workers=1,
        )
        (tmp_path / "hub.vkey").write_text(live.log.verifier.vkey())
        yield live
