"""The hub's process-wide pieces, built once by `create_app` from the settings."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine

from consent import LogKey
from hub.crypto import DataCipher
from hub.db import create_db_engine
from hub.observability import Metrics
from hub.services.ledger import HubLedger
from hub.services.linkage import LinkageRunner
from hub.settings import HubSettings
from keys import JwksTokenVerifier


@dataclass
class HubContext:
    """Settings, database engine, keys and the in-memory ledger of one hub process."""

    settings: HubSettings
    engine: Engine
    metrics: Metrics
    ledger: HubLedger | None
    cipher: DataCipher | None
    operator_verifier: JwksTokenVerifier | None
    linkage: LinkageRunner

    @classmethod
    def build(cls, settings: HubSettings) -> HubContext:
        """Load what the settings name; missing optional keys leave features off."""
        log_key = LogKey.load(settings.log_key_file) if settings.log_key_file else None
        cipher = DataCipher.from_file(settings.data_key_file) if settings.data_key_file else None
        verifier = None
        if settings.operator_issuer and settings.operator_jwks_file:
            verifier = JwksTokenVerifier(
                issuer=settings.operator_issuer,
                audience=settings.audience,
                jwks=json.loads(settings.operator_jwks_file.read_text()),
            )
        engine = create_db_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            linkage=LinkageRunner(settings, engine),
            metrics=Metrics(),
            ledger=HubLedger(log_key) if log_key else None,
            cipher=cipher,
            operator_verifier=verifier,
        )
