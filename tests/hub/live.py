"""A real hub on loopback, for tests that need HTTP end to end, and the nodes' steps
against it (encode and sync, ask for a linkage run)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from consent import LogKey
from contract.client import HubClient
from hub.app import create_app
from hub.migrate import upgrade
from hub.settings import HubSettings
from keys import AgencyIdentity, LocalIssuer, Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.job import STATE_FILE
from linkage_node.staff_file import StaffFile
from linkage_node.state import NodeState
from linkage_node.sync import SyncReport, sync
from linkage_node.synthetic import write_roster
from tests.conftest import database_url, empty_database
from tests.factories import PROGRAMS
from tests.hub.api.factories import EPOCH, make_settings
from tests.processes import deadline, serve_in_thread


@dataclass
class LiveHub:
    url: str
    engine: Engine
    settings: HubSettings
    log: LogKey
    operators: LocalIssuer
    identities: dict[str, AgencyIdentity] = field(default_factory=dict)

    def operator_headers(self, role: Role = Role.HUB_OPERATOR) -> dict[str, str]:
        token = self.operators.issue(subject="op-1", audience="pprl-hub", roles=[role])
        return {"Authorization": f"Bearer {token}"}

    def register(self, name: str, key_dir: Path | None = None) -> AgencyIdentity:
        identity = AgencyIdentity.create(name, (PROGRAMS.get(name, name.lower()),))
        if key_dir is not None:
            identity.save(key_dir)
        response = httpx.post(
            f"{self.url}/v1/agencies",
            json=identity.public_keys().model_dump(),
            headers=self.operator_headers(),
        )
        assert response.status_code == 201, response.text
        self.identities[name] = identity
        return identity


@contextmanager
def live_hub(backend: str, tmp: Path, **overrides: Any) -> Iterator[LiveHub]:
    """A migrated database of its own and a hub serving it."""
    tmp.mkdir(parents=True, exist_ok=True)
    with empty_database(backend, tmp) as engine:
        upgrade(engine)
        settings, log, operators = make_settings(tmp, database_url(engine), **overrides)
        with serve_in_thread(create_app(settings)) as url:
            yield LiveHub(url, engine, settings, log, operators)


# The secret the live tests' nodes encode under (every agency shares it, as in a deployment).
NODE_SECRET = new_linkage_secret(EPOCH)


def encode_and_sync(hub: LiveHub, tmp: Path, agency: str, rows: list[dict[str, str]]) -> None:
    """Encode `rows` as `agency`'s roster under NODE_SECRET and sync them to `hub`."""
    write_roster(tmp / f"{agency}.csv", rows)
    run_encoding_job(
        agency_id=agency,
        schema=load_schema(),
        secret=NODE_SECRET,
        roster_path=tmp / f"{agency}.csv",
        output=tmp / f"{agency}.jsonl",
        state_dir=tmp / agency,
        workers=1,
    )
    identity = hub.identities[agency]
    client = HubClient(
        hub.url,
        lambda: issue_token(
            identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
        ),
    )
    try:
        sync(NodeState(tmp / agency / STATE_FILE, agency), agency, client, batch_size=200)
    finally:
        client.close()


def run_linkage(hub: LiveHub, **body: Any) -> dict[str, Any]:
    """Ask `hub` for a linkage run (`body`: its request) and wait for it to end."""
    headers = hub.operator_headers()
    started = httpx.post(f"{hub.url}/v1/linkage/runs", json=body, headers=headers)
    assert started.status_code == 202, started.text
    location = f"{hub.url}{started.headers['Location']}"
    end = deadline(60)
    while time.monotonic() < end:
        run: dict[str, Any] = httpx.get(location, headers=headers).json()
        if run["status"] in {"succeeded", "failed"}:
            return run
        time.sleep(0.05)
    raise AssertionError("the linkage run did not finish")


def node_sync(
    hub: LiveHub,
    tmp: Path,
    agency: str = "DCFS",
    batch_size: int = 100,
    *,
    reset: bool = False,
    staff: StaffFile | None = None,
) -> SyncReport:
    """`agency`'s node state under `tmp` synced to `hub`, as `pprl node sync` does."""
    identity = hub.identities[agency]

    state = NodeState(tmp / agency / STATE_FILE, agency)
    client = HubClient(
        hub.url,
        lambda: issue_token(
            identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
        ),
        retry_for=1,
    )
    try:
        return sync(state, agency, client, batch_size=batch_size, reset=reset, staff=staff)
    finally:
        client.close()
        state.close()
