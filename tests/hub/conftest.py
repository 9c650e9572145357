"""Fixtures for the hub's tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from linkage_node import load_schema
from tests.conftest import BACKENDS
from tests.hub.api.factories import Inbox
from tests.hub.live import LiveHub, live_hub


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveHub]:
    """A live hub on each backend, for the bundled schema, with DCFS and DOC registered."""
    schema = load_schema()
    with live_hub(request.param, tmp_path / "hub", schema_fingerprint=schema.fingerprint) as live:
        for agency in ("DCFS", "DOC"):
            live.register(agency)
        yield live
