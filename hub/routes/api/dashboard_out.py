"""The management dashboard as the API states it, in JSON and in CSV (the same numbers,
so no combination of the two shows more than either)."""

from __future__ import annotations

import csv
import io

from contract import CompletionOut, DashboardOut, SeriesOut, StuckCellOut
from hub.services.dashboard import Dashboard


def dashboard_out(d: Dashboard) -> DashboardOut:
    """The dashboard as JSON."""
    return DashboardOut(
        limit=d.limit,
        months=d.months,
        series=[
            SeriesOut(
                measure=s.measure,
                label=s.label,
                values=s.values,
                benchmark=s.benchmark,
                benchmark_label=s.benchmark_label,
                prompt=s.prompt,
            )
            for s in d.series
        ],
        stuck=[
            StuckCellOut(program=p, by="reason", key=r, count=n)
            for (p, r), n in d.stuck_by_reason.items()
        ]
        + [
            StuckCellOut(program=p, by="office", key=o, count=n)
            for (p, o), n in d.stuck_by_office.items()
        ],
        stuck_by_program=d.stuck_by_program,
        stuck_by_reason=d.stuck_reason_totals,
        overdue_by_program=d.overdue_by_program,
        completion=[
            CompletionOut(service_kind=k, completed=n, median_days=m)
            for k, (n, m) in d.completion.items()
        ],
        consent_rate=d.consent_rate,
    )


def dashboard_csv(d: Dashboard) -> str:
    """The dashboard as one long CSV: `section, program, key, month, value`, the value
    `suppressed` where the JSON has null."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "program", "key", "month", "value"])

    def row(section: str, program: str, key: str, month: str, value: object) -> None:
        writer.writerow([section, program, key, month, "suppressed" if value is None else value])

    for s in d.series:
        for month, value in zip(d.months, s.values, strict=True):
            row(s.measure, "", "", month, value)
    for (p, r), n in d.stuck_by_reason.items():
        row("stuck_by_reason", p, r, "", n)
    for (p, o), n in d.stuck_by_office.items():
        row("stuck_by_office", p, o, "", n)
    for p, n in d.stuck_by_program.items():
        row("stuck_total", p, "", "", n)
    for r, n in d.stuck_reason_totals.items():
        row("stuck_reason_total", "", r, "", n)
    for p, n in d.overdue_by_program.items():
        row("overdue", p, "", "", n)
    for k, (n, m) in d.completion.items():
        row("completed", "", k, "", n)
        row("median_days_to_complete", "", k, "", m)
    for p, rate in d.consent_rate.items():
        row("consent_rate_percent", p, "", "", rate)
    return out.getvalue()
