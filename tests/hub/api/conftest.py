"""An API under test: a hub app on the test database, inside the test's transaction."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from consent import LogKey
from hub.app import create_app
from hub.context import HubContext
from hub.deps import get_session
from hub.settings import HubSettings
from keys import AgencyIdentity, LocalIssuer, Role, issue_token
from tests.conftest import database_url
from tests.factories import PROGRAMS

OPERATOR_ISSUER = "https://idp.test/realms/pprl"
FINGERPRINT = "ab" * 32
EPOCH = "2026-11"


@dataclass
class Api:
    client: TestClient
    session: Session
    settings: HubSettings
    log: LogKey
    operators: LocalIssuer
    identities: dict[str, AgencyIdentity] = field(default_factory=dict)

    @property
    def hub(self) -> HubContext:
        hub: HubContext = self.client.app.state.hub  # type: ignore[attr-defined]
        return hub

    def checkpoint(self) -> str | None:
        """Sign a checkpoint now, as the hub's schedule would."""
        ledger = self.hub.ledger
        assert ledger is not None
        return ledger.issue_checkpoint(self.session)

    def operator(self, role: Role = Role.HUB_OPERATOR) -> dict[str, str]:
        token = self.operators.issue(subject="op-1", audience="pprl-hub", roles=[role])
        return {"Authorization": f"Bearer {token}"}

    def as_(self, agency: str, subject: str = "node-1", *roles: Role) -> dict[str, str]:
        token = issue_token(
            self.identities[agency],
            subject=subject,
            audience="pprl-hub",
            roles=roles or (Role.AGENCY_NODE,),
        )
        return {"Authorization": f"Bearer {token}"}

    def register(self, *names: str) -> None:
        for name in names:
            identity = AgencyIdentity.create(name, (PROGRAMS.get(name, name.lower()),))
            response = self.client.post(
                "/v1/agencies", json=identity.public_keys().model_dump(), headers=self.operator()
            )
            assert response.status_code == 201, response.text
            self.identities[name] = identity

    def post(self, path: str, body: Any, headers: dict[str, str], key: str | None = None) -> Any:
        if key is not None:
            headers = {**headers, "Idempotency-Key": key}
        return self.client.post(path, json=body, headers=headers)


def make_settings(tmp: Path, url: str, **overrides: Any) -> tuple[HubSettings, LogKey, LocalIssuer]:
    log = LogKey.generate("hub.test/consent-ledger")
    log.save(tmp / "log.key")
    data_key = tmp / "data.key"
    data_key.write_bytes(os.urandom(32))
    data_key.chmod(0o600)
    operators = LocalIssuer.create(OPERATOR_ISSUER)
    operators.save(tmp / "idp")
    values: dict[str, Any] = {
        "database_url": url,
        "log_key_file": tmp / "log.key",
        "data_key_file": data_key,
        "operator_issuer": OPERATOR_ISSUER,
        "operator_jwks_file": tmp / "idp" / "jwks.json",
        "schema_fingerprint": FINGERPRINT,
        "secret_epoch": EPOCH,
        "max_batch_records": 500,
        "max_request_bytes": 2 * 1024 * 1024,
    }
    values.update(overrides)
    return HubSettings(**values), log, operators


@pytest.fixture
def api(db_engine: Engine, session: Session, tmp_path: Path) -> Iterator[Api]:
    settings, log, operators = make_settings(tmp_path, database_url(db_engine))
    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: session
    # Linkage runs, executed after the response, work in the test's transaction too.
    app.state.hub.linkage.sessions = lambda: nullcontext(session)
    with TestClient(app, raise_server_exceptions=True) as client:
        yield Api(client, session, settings, log, operators)
