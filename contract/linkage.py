"""Linkage runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contract.types import RequestBody


class LinkageRunIn(RequestBody):
    """`incremental` (the default) applies what changed since the last run at its
    settings; `full` re-links everything, at `threshold` or at one proposed from the
    scores when `threshold` is left out."""

    kind: Literal["full", "incremental"] = "incremental"
    threshold: float | None = Field(default=None, gt=0, le=1)


class LinkageRunOut(BaseModel):
    run_id: int
    kind: Literal["full", "incremental"]
    status: Literal["queued", "running", "succeeded", "failed"]
    requested_by: str
    requested_threshold: float | None
    threshold: float | None
    threshold_source: str | None
    progress: float
    stage: str
    error: str | None
    params: dict[str, Any] | None
    counts: dict[str, Any] | None
    proposal: dict[str, Any] | None
    epoch: str | None
    schema_fingerprint: str | None
    through_seq: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
