"""A real hub on loopback, for tests that need HTTP end to end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from consent import LogKey
from hub.app import create_app
from hub.migrate import upgrade
from hub.settings import HubSettings
from keys import AgencyIdentity, LocalIssuer, Role
from tests.conftest import database_url, empty_database
from tests.factories import PROGRAMS
from tests.hub.api.conftest import make_settings
from tests.processes import serve_in_thread


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
