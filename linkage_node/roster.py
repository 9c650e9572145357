"""Roster exports: reading, column mapping, validation and normalisation.

Every problem is an `Issue` naming the 1-based line, the column and the rule. The cell
value is kept (in memory only) so a steward can ask to see it with `--show-values`; it
is never written to a file. Each rule has a policy: `reject` the row, or `drop_field`
(encode the row with that field missing). Nothing is dropped silently: every input row
ends up accepted, accepted with fields dropped, or rejected, and the counts add up.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from linkage_node.errors import RosterError
from linkage_node.normalise import DEFAULT_DATE_FORMATS
from linkage_node.roster_input import find_columns, open_table
from linkage_node.roster_rules import (
    ALWAYS_REJECT,
    MAX_CELL,
    REQUIRED_COLUMNS,
    ROSTER_COLUMNS,
    RULES,
    Action,
    CleanRecord,
    Issue,
)
from linkage_node.row_cleaner import RowCleaner

# Re-exported: the rules' names are the roster's vocabulary.
__all__ = [
    "ROSTER_COLUMNS",
    "RULES",
    "Action",
    "CleanRecord",
    "ColumnMapping",
    "Issue",
    "ReadOptions",
    "RosterResult",
    "iter_roster",
    "parse_policies",
    "validate_roster",
]


@dataclass
class RosterResult:
    """What validation made of a roster."""

    rows: int = 0
    records: list[CleanRecord] = field(default_factory=list)
    keep_records: bool = field(default=True, repr=False)
    accepted_count: int = 0
    issues: list[Issue] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    # Record ids of rejected rows (where readable): a record the node encoded before
    # that has bad data tonight keeps its last good encoding instead of being removed.
    rejected_record_ids: set[str] = field(default_factory=set, repr=False)

    def add(self, record: CleanRecord) -> None:
        """Count an accepted row (and keep it, unless only validating)."""
        self.accepted_count += 1
        if self.keep_records:
            self.records.append(record)

    @property
    def accepted(self) -> int:
        """Rows that will be encoded (some perhaps with fields dropped)."""
        return self.accepted_count

    @property
    def with_dropped_fields(self) -> int:
        """Accepted rows that lost at least one field to a `drop_field` policy."""
        dropped = {i.line for i in self.issues if i.action == "drop_field"}
        return len(dropped - self.rejected_lines)

    @property
    def rejected(self) -> int:
        """Rows that will not be encoded."""
        return len(self.rejected_lines)

    def counts_by_rule(self) -> dict[str, int]:
        """How many rows broke each rule."""
        return dict(sorted(Counter(i.rule for i in self.issues).items()))

    def summary(self) -> dict[str, object]:
        """Counts that add up: rows == accepted + rejected."""
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "accepted_with_dropped_fields": self.with_dropped_fields,
            "rejected": self.rejected,
            "issues_by_rule": self.counts_by_rule(),
        }


@dataclass(frozen=True)
class ColumnMapping:
    """How an agency's export names the default columns, and its date formats."""

    columns: dict[str, str]
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS

    @classmethod
    def default(cls) -> ColumnMapping:
        """The default column names, unchanged."""
        return cls({c: c for c in ROSTER_COLUMNS})

    @classmethod
    def load(cls, path: Path) -> ColumnMapping:
        """Read `{"columns": {"record_id": "CaseNumber", ...}, "date_formats": [...]}`."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RosterError(
                str(path), f"cannot read the mapping file ({exc})", "Fix the JSON."
            ) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("columns", {}), dict):
            raise RosterError(
                str(path), "expected an object with a 'columns' object", "See README."
            )
        unknown = set(doc.get("columns", {})) - set(ROSTER_COLUMNS)
        if unknown:
            raise RosterError(
                str(path),
                f"maps unknown column {sorted(unknown)[0]!r}",
                f"Map only these: {', '.join(ROSTER_COLUMNS)}.",
            )
        columns = {c: c for c in ROSTER_COLUMNS} | dict(doc.get("columns", {}))
        formats = tuple(doc.get("date_formats", ()))
        if not isinstance(doc.get("date_formats", []), list) or not all(
            isinstance(f, str) and "%" in f for f in formats
        ):
            raise RosterError(
                str(path), "date_formats must be a list of strptime formats", 'E.g. ["%d/%m/%Y"].'
            )
        # The agency's formats are tried first and the defaults after them: a mapping that
        # names its export's format must not make ISO dates unreadable.
        return cls(columns, formats + tuple(f for f in DEFAULT_DATE_FORMATS if f not in formats))


def parse_policies(overrides: list[str]) -> dict[str, Action]:
    """`rule=reject|drop_field` strings to a full policy table."""
    policies: dict[str, Action] = {rule_id: rule.default for rule_id, rule in RULES.items()}
    for item in overrides:
        rule_id, _, action = item.partition("=")
        if rule_id not in RULES:
            raise RosterError(
                "--policy", f"unknown rule {rule_id!r}", f"Rules: {', '.join(RULES)}."
            )
        if action not in ("reject", "drop_field"):
            raise RosterError("--policy", f"unknown action {action!r}", "Use reject or drop_field.")
        if rule_id in ALWAYS_REJECT and action != "reject":
            raise RosterError(
                "--policy", f"{rule_id} always rejects the row", "A row must be identifiable."
            )
        policies[rule_id] = action  # type: ignore[assignment]
    return policies


def validate_roster(
    path: Path,
    mapping: ColumnMapping | None = None,
    policies: dict[str, Action] | None = None,
    *,
    today: date | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    progress: Callable[[str, int, int], None] | None = None,
    keep_records: bool = True,
) -> RosterResult:
    """Read, validate and normalise a roster export (CSV in any usual dialect, or a
    spreadsheet: see `roster_input`). `keep_records=False` (validation only) keeps
    counts and issues, not records."""
    result = RosterResult(keep_records=keep_records)
    options = ReadOptions(mapping, policies, today, delimiter, encoding)
    for record in iter_roster(path, result, options, progress):
        result.add(record)
    return result


@dataclass(frozen=True)
class ReadOptions:
    """How to read an export (see `validate_roster`)."""

    mapping: ColumnMapping | None = None
    policies: dict[str, Action] | None = None
    today: date | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"


def iter_roster(
    path: Path,
    result: RosterResult,
    options: ReadOptions,
    progress: Callable[[str, int, int], None] | None = None,
) -> Iterator[CleanRecord]:
    """The accepted records, one at a time, while `result` collects the counts and
    issues (complete once the iterator is exhausted). Two passes, so no row is held
    between them: the first finds record ids used twice (both rows are rejected), the
    second cleans each row."""
    mapping = options.mapping or ColumnMapping.default()
    policies = options.policies or parse_policies([])
    # Dates of birth are local calendar dates.
    today = options.today or date.today()  # noqa: DTZ011
    delimiter, encoding = options.delimiter, options.encoding
    ids: Counter[str] = Counter()
    total = 0
    for _, cells, _ in _rows(path, mapping, policies, delimiter, encoding):
        total += 1
        if cells is not None and cells["record_id"]:
            ids[cells["record_id"]] += 1
        if progress and total % 5000 == 0:
            progress("reading", total, 0)
    duplicated = {record_id for record_id, n in ids.items() if n > 1}
    del ids
    cleaner = RowCleaner(policies, mapping.date_formats, today)
    for line, cells, issues in _rows(path, mapping, policies, delimiter, encoding):
        result.rows += 1
        if progress and result.rows % 5000 == 0:
            progress("validating", result.rows, total)
        if cells is None:
            result.issues.extend(issues)
            result.rejected_lines.add(line)
            continue
        if cells["record_id"] in duplicated:
            issues.append(
                Issue(line, "record_id", "record_id.duplicate", "reject", cells["record_id"])
            )
        record = cleaner.clean(line, cells, issues)
        if issues:
            result.issues.extend(issues)
        if record is None:
            result.rejected_lines.add(line)
            if cells["record_id"]:
                result.rejected_record_ids.add(cells["record_id"])
        else:
            yield record
    if progress:
        progress("validating", result.rows, total)
    result.issues.sort(key=lambda i: (i.line, i.column, i.rule))


def _rows(
    path: Path,
    mapping: ColumnMapping,
    policies: dict[str, Action],
    delimiter: str | None,
    encoding: str,
) -> Iterator[tuple[int, dict[str, str] | None, list[Issue]]]:
    wanted = {column: mapping.columns[column] for column in ROSTER_COLUMNS}
    with open_table(
        path, expected=list(wanted.values()), delimiter=delimiter, encoding=encoding
    ) as table:
        positions = find_columns(path, table.header, wanted, REQUIRED_COLUMNS)
        for line, row in table.rows:
            yield _classify(
                line, row, width=len(table.header), positions=positions, policies=policies
            )


def _classify(
    line: int,
    row: list[str] | None,
    *,
    width: int,
    positions: dict[str, int | None],
    policies: dict[str, Action],
) -> tuple[int, dict[str, str] | None, list[Issue]]:
    if row is None or len(row) != width:
        return line, None, [Issue(line, "*", "row.field_count", "reject")]
    cells = {col: row[pos].strip() if pos is not None else "" for col, pos in positions.items()}
    issues = []
    if max(map(len, row)) > MAX_CELL:
        for col, value in cells.items():
            if len(value) > MAX_CELL and col != "record_id":
                issues.append(Issue(line, col, "cell.too_long", policies["cell.too_long"]))
                cells[col] = ""
    return line, cells, issues
