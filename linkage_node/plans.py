"""Plan milestone exports: what each client is working on in this program.

A CSV with a header: `record_id, milestone_id, goal, milestone, status` required;
`activity, service_kind, need, target_start, target_end, actual_start, actual_end,
dosage, stuck_reason` optional (`need` is one of `basic_needs`, `freedom`, `family`,
`self_reliance`: which of the client's needs the milestone serves). Dates are ISO
(YYYY-MM-DD); status is one of `not_started`,
`in_progress`, `complete`, `stuck`. Problems are reported by line, column and rule,
never with the value, and the row is left out (plans are not encoded, so there is no
"encode without the field").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from keys import is_identifier
from linkage_node.roster import Issue
from linkage_node.roster_input import find_columns, open_table

REQUIRED = ("record_id", "milestone_id", "goal", "milestone", "status")
OPTIONAL = (
    "activity",
    "service_kind",
    "need",
    "target_start",
    "target_end",
    "actual_start",
    "actual_end",
    "dosage",
    "stuck_reason",
)
STATUSES = ("not_started", "in_progress", "complete", "stuck")
NEEDS = ("basic_needs", "freedom", "family", "self_reliance")
_DATES = ("target_start", "target_end", "actual_start", "actual_end")
MAX_TEXT = 200


@dataclass(frozen=True)
class PlanRow:
    """One milestone, with the fields the hub stores (sealed)."""

    line: int
    record_id: str
    milestone_id: str
    fields: dict[str, str]

    def content_hash(self) -> bytes:
        """What decides "changed"."""
        return hashlib.sha256(json.dumps(self.fields, sort_keys=True).encode()).digest()


@dataclass
class PlanResult:
    """A validated plan export."""

    rows: int = 0
    milestones: list[PlanRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Rows left out."""
        return len({i.line for i in self.issues})


def read_plans(path: Path) -> PlanResult:
    """Read and validate a plan export (CSV in any usual dialect, or a spreadsheet)."""
    result = PlanResult()
    seen: set[tuple[str, str]] = set()
    columns = (*REQUIRED, *OPTIONAL)
    with open_table(path, expected=columns, option="--plans") as table:
        positions = find_columns(
            path,
            table.header,
            {c: c for c in columns},
            REQUIRED,
            fix="Rename the column in the export",
        )
        for line, cells in table.rows:
            result.rows += 1
            if cells is None or len(cells) != len(table.header):
                result.issues.append(Issue(line, "*", "row.field_count", "reject"))
                continue
            row = {c: cells[i] if i is not None else "" for c, i in positions.items()}
            issues = _check(line, row)
            key = (row["record_id"].strip(), row["milestone_id"].strip())
            if not issues and key in seen:
                issues.append(Issue(line, "milestone_id", "milestone.duplicate", "reject"))
            if issues:
                result.issues.extend(issues)
            else:
                seen.add(key)
                values = {c: row[c].strip() for c in (*REQUIRED[2:], *OPTIONAL)}
                result.milestones.append(
                    PlanRow(line, key[0], key[1], {k: v for k, v in values.items() if v})
                )
    return result


def _check(line: int, row: Mapping[str, str | None]) -> list[Issue]:
    issues: list[Issue] = []

    def flag(column: str, rule: str) -> None:
        issues.append(Issue(line, column, rule, "reject", row.get(column)))

    cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
    for column in REQUIRED:
        if not cells.get(column):
            flag(column, f"{column}.missing")
    if cells.get("milestone_id") and not is_identifier(cells["milestone_id"]):
        flag("milestone_id", "milestone_id.shape")
    if cells.get("service_kind") and not is_identifier(cells["service_kind"]):
        flag("service_kind", "service_kind.shape")
    if cells.get("status") and cells["status"] not in STATUSES:
        flag("status", "status.unknown")
    if cells.get("need") and cells["need"] not in NEEDS:
        flag("need", "need.unknown")
    for column in _DATES:
        if cells.get(column):
            try:
                date.fromisoformat(cells[column])
            except ValueError:
                flag(column, f"{column}.unparseable")
    for column, value in cells.items():
        if len(value) > MAX_TEXT and column != "record_id":
            flag(column, "cell.too_long")
    return issues
