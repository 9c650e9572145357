"""Plan milestone exports: what each client is working on in this program.

A CSV (or spreadsheet) with a header: `record_id, milestone_id, goal, milestone, status`
required; the rest optional:

- `activity, service_kind, resources, dosage`: text (`resources`: what this program
  contributes; `dosage`: in the program's words);
- `need`: which of the client's needs it serves (`basic_needs`, `freedom`, `family`,
  `self_reliance`);
- `target_start, target_end, actual_start, actual_end, stuck_since`: dates (ISO);
- `planned_dosage, actual_dosage`: numbers, in `dosage_unit` (`hours`, `sessions`, `days`);
- `stuck_reason`: a code from the shared list (`contract.milestones.STUCK_REASONS`), or
  the agency's own code mapped onto it with `--stuck-reasons`; anything else is sent as
  `other` and reported: free text about a client never leaves the agency;
- `non_negotiable` (yes/no) and `mandate` (`court_order`, `condition_of_supervision`,
  `statute`, `agency_policy`): a mandate makes it non-negotiable, and a non-negotiable
  milestone needs one;
- `buy_in` (`yes`, `partly`, `no`): whether the client agrees;
- `stop_doing`, `aftercare` (yes/no): proposed to stop; part of the aftercare plan.

Status is one of `not_started`, `in_progress`, `complete`, `stuck`. Problems are
reported by line, column and rule, never with the value, and the row is left out (plans
are not encoded, so there is no "encode without the field"), except an unmapped stuck
reason, which is sent as `other`.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from contract.milestones import BUY_IN, DOSAGE_HOURS, MANDATES, STUCK_REASONS
from keys import is_identifier
from linkage_node.errors import RosterError
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
    "planned_dosage",
    "actual_dosage",
    "dosage_unit",
    "stuck_reason",
    "stuck_since",
    "non_negotiable",
    "mandate",
    "buy_in",
    "resources",
    "stop_doing",
    "aftercare",
)
STATUSES = ("not_started", "in_progress", "complete", "stuck")
NEEDS = ("basic_needs", "freedom", "family", "self_reliance")
_DATES = ("target_start", "target_end", "actual_start", "actual_end", "stuck_since")
_NUMBERS = ("planned_dosage", "actual_dosage")
_FLAGS = ("non_negotiable", "stop_doing", "aftercare")
_CODES: dict[str, Collection[str]] = {
    "status": STATUSES,
    "need": NEEDS,
    "dosage_unit": DOSAGE_HOURS,
    "mandate": MANDATES,
    "buy_in": BUY_IN,
}
_YES = frozenset({"yes", "y", "true", "1", "x"})
_NO = frozenset({"no", "n", "false", "0", ""})
MAX_TEXT = 200
MAX_DOSAGE = 100_000


@dataclass(frozen=True)
class PlanRow:
    """One milestone, with the fields the hub stores (sealed)."""

    line: int
    record_id: str
    milestone_id: str
    fields: dict[str, Any]

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
        return len({i.line for i in self.issues if i.action == "reject"})


def load_stuck_reasons(path: Path) -> dict[str, str]:
    """An agency's own stuck reason codes mapped onto the shared list: a CSV with the
    columns `agency_code, code`. Agency codes are compared without case."""
    where = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise RosterError(
            where, exc.strerror or "cannot be read", "Check --stuck-reasons.", exit_code=2
        ) from None
    except (UnicodeDecodeError, csv.Error):
        raise RosterError(where, "is not a UTF-8 CSV file", "Save it as CSV (UTF-8).") from None
    if not rows or not {"agency_code", "code"} <= set(rows[0]):
        raise RosterError(
            where, "needs the columns agency_code and code", "Add a header row with both."
        )
    mapping: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        code = (row["code"] or "").strip().lower()
        if code not in STUCK_REASONS:
            raise RosterError(
                f"{where} line {line}",
                "maps onto a code that is not on the shared list",
                "Use one of: " + ", ".join(STUCK_REASONS) + ".",
            )
        mapping[(row["agency_code"] or "").strip().casefold()] = code
    return mapping


def read_plans(path: Path, stuck_reasons: Mapping[str, str] | None = None) -> PlanResult:
    """Read and validate a plan export (CSV in any usual dialect, or a spreadsheet);
    `stuck_reasons` maps the agency's own stuck reason codes onto the shared list."""
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
            row = {c: (cells[i] if i is not None else "").strip() for c, i in positions.items()}
            row |= {c: _code(row[c]) for c in _CODES if row.get(c)}
            issues = _check(line, row)
            key = (row["record_id"], row["milestone_id"])
            if not issues and key in seen:
                issues.append(Issue(line, "milestone_id", "milestone.duplicate", "reject"))
            if issues:
                result.issues.extend(issues)
                continue
            seen.add(key)
            fields = _fields(row)
            reason = row["stuck_reason"]
            if reason:
                code = _stuck_code(reason, stuck_reasons or {})
                if code is None:
                    result.issues.append(
                        Issue(line, "stuck_reason", "stuck_reason.unmapped", "recode", reason)
                    )
                    code = "other"
                fields["stuck_reason"] = code
            result.milestones.append(PlanRow(line, key[0], key[1], fields))
    return result


def _code(value: str) -> str:
    """A code as people type it in a spreadsheet ("Court order", "in-progress") as the
    lists spell it (`court_order`, `in_progress`)."""
    return "_".join(value.casefold().replace("-", " ").split())


def _stuck_code(value: str, mapping: Mapping[str, str]) -> str | None:
    folded = value.casefold()
    if folded in mapping:
        return mapping[folded]
    code = _code(value)
    return code if code in STUCK_REASONS else None


def _flag(value: str) -> bool | None:
    folded = value.casefold()
    return True if folded in _YES else False if folded in _NO else None


def _fields(row: Mapping[str, str]) -> dict[str, Any]:
    """The milestone as sent: text as written, codes in lower case, numbers and flags
    typed; empty cells and "no" flags left out (so adding a column to an export does not
    make every milestone "changed")."""
    fields: dict[str, Any] = {}
    for column in (*REQUIRED[2:], *OPTIONAL):
        value = row.get(column, "")
        if not value or column == "stuck_reason":
            continue
        if column in _FLAGS:
            if _flag(value):
                fields[column] = True
        elif column in _NUMBERS:
            fields[column] = float(value)
        elif column in _CODES:
            fields[column] = value.lower()
        else:
            fields[column] = value
    if "mandate" in fields:
        fields["non_negotiable"] = True
    return fields


def _check(line: int, row: Mapping[str, str]) -> list[Issue]:
    return [
        Issue(line, column, rule, "reject", row.get(column))
        for column, rule in (*_shape_problems(row), *_value_problems(row))
    ]


def _shape_problems(row: Mapping[str, str]) -> list[tuple[str, str]]:
    """(column, rule) for missing cells, malformed identifiers and unknown codes."""
    problems = [(c, f"{c}.missing") for c in REQUIRED if not row.get(c)]
    problems += [
        (c, f"{c}.shape")
        for c in ("milestone_id", "service_kind")
        if row.get(c) and not is_identifier(row[c])
    ]
    problems += [
        (c, f"{c}.unknown")
        for c, allowed in _CODES.items()
        if row.get(c) and row[c].lower() not in allowed
    ]
    problems += [
        (c, "cell.too_long") for c, v in row.items() if len(v) > MAX_TEXT and c != "record_id"
    ]
    return problems


def _value_problems(row: Mapping[str, str]) -> list[tuple[str, str]]:
    """(column, rule) for dates, numbers and flags that do not read, and what a
    non-negotiable milestone or a dosage needs with it."""
    problems: list[tuple[str, str]] = []
    for column in _DATES:
        if row.get(column):
            try:
                date.fromisoformat(row[column])
            except ValueError:
                problems.append((column, f"{column}.unparseable"))
    for column in _NUMBERS:
        if row.get(column):
            try:
                number = float(row[column])
            except ValueError:
                problems.append((column, f"{column}.unparseable"))
                continue
            if not 0 <= number <= MAX_DOSAGE:
                problems.append((column, f"{column}.out_of_range"))
    if any(row.get(c) for c in _NUMBERS) and not row.get("dosage_unit"):
        problems.append(("dosage_unit", "dosage_unit.missing"))
    problems += [(c, f"{c}.unparseable") for c in _FLAGS if row.get(c) and _flag(row[c]) is None]
    if row.get("non_negotiable") and _flag(row["non_negotiable"]) and not row.get("mandate"):
        problems.append(("mandate", "mandate.missing"))
    return problems
