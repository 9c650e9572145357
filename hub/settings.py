"""Hub configuration: environment variables with the `PPRL_` prefix, secrets from files.

Key material is never an environment value: settings name files (`PPRL_LOG_KEY_FILE`,
`PPRL_DATA_KEY_FILE`), which a deployment mounts as secrets. Outside development the
hub refuses to start without them.
"""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sso import RoleMap


class HubSettings(BaseSettings):
    """Everything the hub reads from its environment.

    Each field `x` is read from `PPRL_X`, or from a file named `PPRL_X` in the directory
    named by `PPRL_SECRETS_DIR` (the Docker/Kubernetes secrets convention).
    """

    model_config = SettingsConfigDict(env_prefix="PPRL_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses to start without its keys, schema and epoch.",
    )
    database_url: str = Field(
        default="sqlite:///pprl-hub.db",
        description="SQLAlchemy URL: SQLite by default, `postgresql+psycopg://...` in production.",
    )
    audience: str = Field(default="pprl-hub", description="The `aud` every token must carry.")
    log_key_file: Path | None = Field(
        default=None,
        description="The ledger's signing key (`pprl hub init-log-key`); agencies pin its .vkey.",
    )
    data_key_file: Path | None = Field(
        default=None,
        description="32 random bytes: the AES-256-GCM key sealing contacts and plans at rest.",
    )
    operator_issuer: str | None = Field(
        default=None, description="The operators' identity provider (`iss` of their tokens)."
    )
    operator_jwks_file: Path | None = Field(
        default=None,
        description="That provider's JWKS, as a file. Unset: fetched from the provider "
        "(discovery), and fetched again when a token names a new key (a rotation).",
    )
    operator_client_id: str | None = Field(
        default=None,
        description="The operators' pages' client id at that provider: with a secret file "
        "and PPRL_PUBLIC_URL, operators and auditors sign in there.",
    )
    operator_client_secret_file: Path | None = Field(
        default=None, description="A file (owner-only) holding that client's secret."
    )
    operator_scope: str = Field(default="openid profile", description="Scopes asked at sign-in.")
    operator_staff_id_claim: str = Field(
        default="sub", description="The ID-token claim naming the operator (dotted paths work)."
    )
    operator_role_claim: str = Field(
        default="roles", description="The ID-token claim listing their groups or roles."
    )
    operator_roles: str = Field(
        default='{"hub_operator": ["hub_operator"], "auditor": ["auditor"]}',
        description="Which of those values make a hub operator or an auditor, as JSON.",
    )
    operator_sign_in_label: str = Field(
        default="Sign in with your state account", description="The sign-in button's words."
    )
    public_url: str | None = Field(
        default=None,
        description="The hub's address as browsers reach it; the operators' sign-in "
        "returns to `<public_url>/operator/sign-in/callback`.",
    )
    schema_fingerprint: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="The linkage schema every upload must match (`pprl node schema`).",
    )
    secret_epoch: str | None = Field(
        default=None, description="The linkage secret's epoch every upload must match."
    )
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted."
    )
    max_batch_records: int = Field(
        default=10_000, ge=1, description="Most records (or removals) in one upload batch."
    )
    checkpoint_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often a checkpoint is signed when the ledger grew."
    )
    linkage_threads: int | None = Field(
        default=None, ge=1, description="Scoring threads of the hub (default: one per core)."
    )
    linkage_dedupe_within: bool = Field(
        default=True,
        description="Also score pairs within each agency, so an agency's own records of one "
        "person (two case numbers) scoring at least the disclosure bar join that person's "
        "cluster (reviewed by that agency alone). Off, a large run takes about half the time "
        "and such records are left out of their person's cluster.",
    )
    linkage_dask_scheduler: str | None = Field(
        default=None,
        description="An existing Dask cluster for scoring (`tcp://host:8786`; `dask` extra).",
    )
    existence_policy: Literal["agreement", "consent"] = Field(
        default="agreement",
        description="Whether the inter-agency agreement alone may tell a case manager that "
        "another program serves their client, or that needs consent too.",
    )
    family_existence_policy: Literal["agreement", "consent"] = Field(
        default="consent",
        description="Whether the inter-agency agreement alone may tell a case manager which "
        "other programs serve their client's family members (README: Families), or that "
        "needs each member's own consent (a guardian's for a minor).",
    )
    disclosure_floor: float = Field(
        default=0.65,
        ge=0.6,
        le=0.99,
        description="No link scoring under this is disclosed unless both agencies confirmed it "
        "in review, whatever threshold a run used; runs below it are refused. Recorded on the "
        "ledger as a POLICY entry every agency reads.",
    )
    disclosure_min_precision: float = Field(
        default=0.95,
        ge=0.8,
        le=1.0,
        description="No run links at a threshold whose estimated precision is under this "
        "(proposed thresholds are raised to meet it). Recorded with the floor.",
    )
    access_dedup_seconds: float = Field(
        default=900.0,
        ge=0,
        le=86_400,
        description="The same disclosure shown again to the same staff member within this "
        "is covered by the ACCESS entry of the first view (no new ledger entry).",
    )
    questions_per_minute: int = Field(
        default=60,
        ge=1,
        le=6000,
        description="Questions (client answers, caseloads) one staff member may ask per "
        "minute of each hub process; more are answered 429 with Retry-After.",
    )
    probe_window_days: int = Field(
        default=14,
        ge=0,
        le=365,
        description="An existence answer about a record uploaded or changed this recently "
        "is flagged as possible membership probing (README: Probing).",
    )
    history_retention_days: int = Field(
        default=2557,
        ge=365,
        le=36_500,
        description="Enrollment history (records that exited) is kept this many days after "
        "the exit, then purged by `pprl hub purge-history` (default: seven years).",
    )
    overlap_min_cell: int = Field(
        default=11,
        ge=11,
        le=1000,
        description="The smallest count the overlap report publishes (never under 11; a "
        "reader may ask for a larger limit, not a smaller one).",
    )
    overlap_max_programs: int = Field(
        default=3,
        ge=2,
        le=6,
        description="The largest combination of programs the overlap report counts exactly.",
    )
    conflict_deadline_window_days: int = Field(
        default=14,
        ge=0,
        le=365,
        description="Deadlines this close across programs conflict when both milestones "
        "serve the same need.",
    )
    client_hours_per_week: float = Field(
        default=20.0,
        gt=0,
        le=168,
        description="Hours a week programs may together ask of a client before their "
        "milestones conflict (planned dosage over each milestone's span).",
    )
    auto_link_after_minutes: float | None = Field(
        default=None,
        ge=0,
        le=24 * 60,
        description="Link by itself once no encodings arrived for this many minutes and "
        "some arrived since the last run (an incremental run; the first run is an "
        "operator's). Unset: only operators start runs.",
    )
    auto_link_at: time | None = Field(
        default=None,
        description="Link by itself once a day at this time (HH:MM, in "
        "PPRL_AUTO_LINK_TIMEZONE) when encodings arrived since the last run; with "
        "PPRL_AUTO_LINK_AFTER_MINUTES too, whichever comes first.",
    )
    auto_link_timezone: str = Field(
        default="UTC", description="The time zone of PPRL_AUTO_LINK_AT (e.g. America/Chicago)."
    )
    sync_expected_hours: float = Field(
        default=26.0,
        gt=0,
        le=24 * 31,
        description="How often each agency's node is expected to sync (a nightly job and "
        "some slack); an agency not heard from for longer is flagged stale on the "
        "operators' health page and in /metrics.",
    )
    sync_expected_hours_by_agency: dict[str, float] = Field(
        default_factory=dict,
        description='Agencies that sync on another rhythm, as JSON: {"DVR": 170}.',
    )
    dashboard_targets: dict[str, float] = Field(
        default_factory=dict,
        description="Targets drawn on the management dashboard's monthly charts, as JSON "
        '(`{"newly_stuck": 20}`); a measure without one is drawn against its own median.',
    )
    stuck_after_days: int = Field(
        default=30, ge=1, le=3650, description="A milestone stuck this long is flagged."
    )
    caseload_url: str | None = Field(
        default=None,
        description="The caseload page notifications link to (`{agency}` is replaced).",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for notification email (none: in-app feed only)."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Its port.")
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS.")
    smtp_from: str = Field(default="pprl-hub@localhost", description="The sender address.")
    smtp_domain: str = Field(
        default="pprl-hub.local", description="The domain of the messages' Message-IDs."
    )
    notify_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often the hub delivers queued email."
    )
    metrics_token_file: Path | None = Field(
        default=None,
        description="A file holding the token Prometheus sends as a bearer token for "
        "`/metrics` (without one, `/metrics` is open in development and off in production).",
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark the operators' page cookies Secure (default: in production, yes).",
    )

    @property
    def secure_cookies(self) -> bool:
        """Whether page cookies carry Secure: as set, else in production (behind TLS)."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"

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
        try:
            ZoneInfo(self.auto_link_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "PPRL_AUTO_LINK_TIMEZONE is not a time zone name (e.g. America/Chicago)"
            ) from None
        if self.operator_jwks_file is not None and self.operator_issuer is None:
            raise ValueError("PPRL_OPERATOR_JWKS_FILE needs PPRL_OPERATOR_ISSUER")
        try:
            roles = RoleMap.parse(self.operator_roles, role_claim="-", staff_id_claim="-")
        except ValueError as exc:
            raise ValueError(f"PPRL_OPERATOR_ROLES: {exc}") from None
        if not set(roles.roles) <= {"hub_operator", "auditor"}:
            raise ValueError("PPRL_OPERATOR_ROLES maps hub_operator and auditor only")
        sign_in = (self.operator_client_id, self.operator_client_secret_file, self.public_url)
        if any(sign_in) and not (all(sign_in) and self.operator_issuer):
            raise ValueError(
                "set PPRL_OPERATOR_ISSUER, PPRL_OPERATOR_CLIENT_ID, "
                "PPRL_OPERATOR_CLIENT_SECRET_FILE and PPRL_PUBLIC_URL together"
            )
        return self


@lru_cache
def get_settings() -> HubSettings:
    """The process's settings, read once."""
    secrets_dir = os.environ.get("PPRL_SECRETS_DIR")
    return HubSettings(_secrets_dir=secrets_dir)


def settings_reference() -> str:
    """The configuration reference as a Markdown table (the README embeds it; a test
    keeps the two equal)."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for name, info in HubSettings.model_fields.items():
        value = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
        default = "" if value is None else f"`{value}`"
        rows.append(f"| `PPRL_{name.upper()}` | {default} | {info.description} |")
    return "\n".join(rows) + "\n"
