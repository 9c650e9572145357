"""Fixtures for the agency node's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from linkage_node import load_schema
from tests.conftest import BACKENDS
from tests.hub.live import LiveHub, live_hub


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveHub]:
    """A live hub on each backend, for the bundled schema, with no agency registered."""
    schema = load_schema()
    with live_hub(request.param, tmp_path / "hub", schema_fingerprint=schema.fingerprint) as live:
        yield live
