"""Hub configuration: environment variables with the `PPRL_` prefix, secrets from files.

Key material is never an environment value: settings name files (`PPRL_LOG_KEY_FILE`,
`PPRL_DATA_KEY_FILE`), which a deployment mounts as secrets. Outside development the
hub refuses to start without them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    """Everything the hub reads from its environment.

    Each field `x` is read from `PPRL_X`, or from a file named `PPRL_X` in the directory
    named by `PPRL_SECRETS_DIR` (the Docker/Kubernetes secrets convention).
    """

    model_config = SettingsConfigDict(env_prefix="PPRL_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///pprl-hub.db"
    audience: str = "pprl-hub"
    # The ledger's signing key (`pprl hub init-log-key`); its .vkey is what agencies pin.
    log_key_file: Path | None = None
    # 32 random bytes: AES-256-GCM key for case-manager contacts and plans at rest.
    data_key_file: Path | None = None
    # The operators' identity provider: tokens for hub_operator and auditor roles.
    operator_issuer: str | None = None
    operator_jwks_file: Path | None = None
    # What every upload must match: the agencies' linkage schema and secret epoch.
    schema_fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    secret_epoch: str | None = None
    max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_records: int = Field(default=10_000, ge=1)
    checkpoint_interval_seconds: float = Field(default=60.0, gt=0)
    # Linkage scoring: threads of the hub process (default: one per core), or an existing
    # Dask cluster's scheduler (tcp://host:8786; needs the `dask` extra on hub and workers).
    linkage_threads: int | None = Field(default=None, ge=1)
    linkage_dask_scheduler: str | None = None
    # Whether the inter-agency agreement alone lets a case manager learn that another
    # program serves their client ("agreement"), or that too needs the client's consent.
    existence_policy: Literal["agreement", "consent"] = "agreement"
    conflict_deadline_window_days: int = Field(default=14, ge=0, le=365)
    stuck_after_days: int = Field(default=30, ge=1, le=3650)
    # Notifications: where a case manager's caseload lives ("{agency}" is replaced by
    # the agency id), and the SMTP server that delivers email (none: in-app feed only).
    caseload_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_from: str = "pprl-hub@localhost"
    smtp_domain: str = "pprl-hub.local"
    notify_interval_seconds: float = Field(default=30.0, gt=0)
    # Mark the operators' page cookies Secure (set it behind TLS, as in production).
    cookie_secure: bool = False

    @model_validator(mode="after")
    def _production_needs_its_keys(self) -> Self:
        if self.environment == "production":
            missing = [
                name
                for name in ("log_key_file", "data_key_file", "schema_fingerprint", "secret_epoch")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    "production needs " + ", ".join(f"PPRL_{m.upper()}" for m in missing)
                )
            if self.database_url.startswith("sqlite") and ":memory:" in self.database_url:
                raise ValueError("production cannot run on an in-memory database")
        if (self.operator_issuer is None) != (self.operator_jwks_file is None):
            raise ValueError("set PPRL_OPERATOR_ISSUER and PPRL_OPERATOR_JWKS_FILE together")
        return self


@lru_cache
def get_settings() -> HubSettings:
    """The process's settings, read once."""
    secrets_dir = os.environ.get("PPRL_SECRETS_DIR")
    return HubSettings(_secrets_dir=secrets_dir)
