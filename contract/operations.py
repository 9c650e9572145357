"""What operators and stewards see: overlap, the review queue, encoding health, probe flags."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from contract.types import RequestBody


class OverlapCellOut(BaseModel):
    kind: Literal["caseload", "shared_any", "pair", "exactly"]
    programs: list[str]
    count: int | None = Field(description="None when suppressed.")
    percent_of: dict[str, float | None]


class OverlapOut(BaseModel):
    """Clients shared between programs; cells under `limit`, and any cell that would let
    one be worked out, are suppressed."""

    scope: Literal["currently_shared", "ever_shared"] = Field(
        default="currently_shared",
        description="`currently_shared`: clients every counted program serves now. "
        "`ever_shared`: clients each counted program served at some time within the last "
        "`within_months` (exited records included, not necessarily at the same time).",
    )
    within_months: int | None = None
    limit: int
    suppressed_primary: int
    suppressed_complementary: int
    cells: list[OverlapCellOut]


class ReviewItemOut(BaseModel):
    """A link in the review band as one agency sees it: its own record only."""

    item_id: str
    ref: str = Field(description="The asking agency's own record reference.")
    score: float
    my_answer: Literal["same", "different", "unsure"] | None
    other_answered: bool
    other_ref: str | None = Field(
        default=None,
        description="For the agency's own two records of one person (a within-agency "
        "duplicate): its other record; the agency's one answer decides.",
    )


class ReviewAnswerIn(RequestBody):
    answer: Literal["same", "different", "unsure"]


class AgencyHealthOut(BaseModel):
    """One agency's encodings at a glance, with warnings to act on."""

    agency_id: str
    records: int
    epochs: list[str]
    schema_fingerprints: list[str]
    popcount_mean: float = Field(description="Mean share of bits set.")
    popcount_sd: float
    popcount_histogram: list[int] = Field(description="20 bins of the share of bits set.")
    latest_sync_at: datetime | None
    latest_sync_records: int
    drift: float | None = Field(description="Latest sync's mean share minus the earlier ones'.")
    canary: Literal["matches", "differs", "missing"]
    linked_share: float
    warnings: list[str]


class ProbeFlagOut(BaseModel):
    """A sign of membership probing around one existence disclosure (no PII)."""

    kind: Literal["fresh_record", "exact_copy"]
    asking_agency: str
    asking_ref: str | None = Field(
        default=None, description="Shown to operators only, to ask the asking agency about."
    )
    disclosing_agency: str
    disclosing_program: str
    disclosing_ref: str
    run_id: int
    flagged_at: datetime
