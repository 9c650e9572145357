"""The management dashboard as the API states it: de-identified counts, None where
suppressed (under the limit, or given away by published totals)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SeriesOut(BaseModel):
    measure: str
    label: str
    values: list[int | None] = Field(description="One per month of `months`; null: suppressed.")
    benchmark: float | None = Field(
        description="The line to compare against: the hub's target for the measure "
        "(PPRL_DASHBOARD_TARGETS), else the median of the months published."
    )
    benchmark_label: str
    prompt: str = Field(description="A question to discuss with the chart.")


class StuckCellOut(BaseModel):
    program: str
    by: str = Field(description="`reason` (a stuck reason code) or `office`.")
    key: str
    count: int | None


class CompletionOut(BaseModel):
    service_kind: str
    completed: int | None
    median_days: float | None


class DashboardOut(BaseModel):
    limit: int = Field(description="The smallest count published.")
    months: list[str]
    series: list[SeriesOut]
    stuck: list[StuckCellOut] = Field(
        description="Milestones stuck now, by program and reason and by program and office."
    )
    stuck_by_program: dict[str, int | None]
    stuck_by_reason: dict[str, int | None]
    overdue_by_program: dict[str, int | None]
    completion: list[CompletionOut] = Field(
        description="Median days from actual start to actual end of completed milestones."
    )
    consent_rate: dict[str, float | None] = Field(
        description="Per program, the percentage of its clients shared now whose record "
        "there has a live consent grant."
    )
