"""The hub's process-wide pieces, built once by `create_app` from the settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from consent import LogKey
from hub.crypto import DataCipher
from hub.db import create_db_engine
from hub.observability import Metrics
from hub.operator_idp import OperatorTokens, operator_sign_in, operator_tokens, page_session_key
from hub.services.intake_index import IntakeIndex
from hub.services.ledger import HubLedger
from hub.services.linkage import LinkageRunner
from hub.services.ratelimit import QuestionLimiter
from hub.settings import HubSettings
from keys import KeyFileError
from keys.files import read_private
from sso import RelyingParty, RoleMap


@dataclass
class HubContext:
    """Settings, database engine, keys and the in-memory ledger of one hub process."""

    settings: HubSettings
    engine: Engine
    metrics: Metrics
    ledger: HubLedger | None
    cipher: DataCipher | None
    operator_verifier: OperatorTokens | None
    linkage: LinkageRunner
    metrics_token: bytes | None = None
    questions: QuestionLimiter = field(default_factory=lambda: QuestionLimiter(60))
    intake: IntakeIndex = field(default_factory=IntakeIndex)
    operator_sign_in: RelyingParty | None = None  # the operators' pages at their provider
    operator_roles: RoleMap | None = None
    page_session_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @classmethod
    def build(cls, settings: HubSettings) -> HubContext:
        """Load what the settings name; missing optional keys leave features off."""
        log_key = LogKey.load(settings.log_key_file) if settings.log_key_file else None
        cipher = DataCipher.from_file(settings.data_key_file) if settings.data_key_file else None
        verifier, provider = operator_tokens(settings)
        sign_in, roles = operator_sign_in(settings, provider)
        engine = create_db_engine(settings.database_url)
        token = _read_token(settings.metrics_token_file) if settings.metrics_token_file else None
        return cls(
            settings=settings,
            engine=engine,
            linkage=LinkageRunner(settings, engine),
            metrics=Metrics(),
            ledger=HubLedger(log_key) if log_key else None,
            cipher=cipher,
            operator_verifier=verifier,
            metrics_token=token,
            questions=QuestionLimiter(settings.questions_per_minute),
            operator_sign_in=sign_in,
            operator_roles=roles,
            page_session_key=page_session_key(settings),
        )


def _read_token(path: Path) -> bytes:
    """A secret token from a file: owner-readable only, at least 16 characters."""
    token = read_private(path).strip()
    if len(token) < 16:
        raise KeyFileError(
            str(path), "holds a token shorter than 16 characters", "Make a longer one."
        )
    return token
