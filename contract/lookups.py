"""Intake lookup: "who is this?" asked with an encoding of typed identifiers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from contract.types import Base64, RequestBody


class LookupIn(RequestBody):
    """The intake encoding, made at the node under the linkage secret (never the
    identifiers), with the epoch and schema it was made under."""

    clk: Base64
    epoch: str = Field(max_length=64)
    schema_fingerprint: str = Field(max_length=64)


class LookupProgramOut(BaseModel):
    """A program that serves a person matching the intake, and how sure the match is."""

    program: str
    confidence: Literal["high", "moderate"] = Field(
        description="high: a Dice score of 0.9 or more; moderate: above the disclosure floor."
    )


class LookupPastOut(LookupProgramOut):
    """A program that served a matching person and closed the case."""

    exited_on: date = Field(description="When the person left it (the latest exit, if several).")


class LookupOut(BaseModel):
    """Which other programs may be named as serving a matching person now, and which as
    having served one, and nothing more: no record, no contact, no plan. Each naming is
    an ACCESS entry (purpose `intake`)."""

    decided_at: datetime
    programs: list[LookupProgramOut]
    past_programs: list[LookupPastOut] = Field(default_factory=list)
