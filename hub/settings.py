"""Hub configuration: environment variables with the `PPRL_` prefix, secrets from files."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

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


@lru_cache
def get_settings() -> HubSettings:
    """The process's settings, read once."""
    secrets_dir = os.environ.get("PPRL_SECRETS_DIR")
    return HubSettings(_secrets_dir=secrets_dir)
