"""Reading consent forms from a case-management export (`pprl node consent import`).

One row per signed form. Columns (header names matched as for rosters, ignoring case,
spaces, `_ - .`):

| column | required | meaning |
|---|---|---|
| record_id | yes | the client's case number at this agency |
| to | yes | recipient programs (or `any_linked_program`), separated by `;`, `|`, `,` or spaces |
| classes | yes | data classes from existence, contact, plan |
| signed_on | yes | the day the form was signed, YYYY-MM-DD |
| expires | no | the day the consent stops counting (default: a year after signing) |
| signer | no | client (default), guardian, representative or court |
| form_file | one of | the scan, relative to the export's folder (kept at the node) |
| form_sha256 | these two | the scan's SHA-256 when it stays in your document system |
| for_minors | no | case numbers of minors the signer also signs for as parent or guardian |
| form_version, purpose, basis, collected_by, program, seen_by | no | as the `grant` options |

Each row is checked on its own; a problem names its line, column and rule, never the
value. Nothing is recorded when more rows are bad than `--max-rejected` allows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from linkage_node.consent_forms import check_scan, read_form
from linkage_node.consent_terms import (
    DATA_CLASSES,
    RECIPIENT_CLASSES,
    SEEN_BY,
    SIGNERS,
    ConsentForm,
)
from linkage_node.errors import NodeError, RosterError
from linkage_node.roster import Issue
from linkage_node.roster_input import find_columns, open_table

COLUMNS = {
    "record_id": "record_id",
    "to": "to",
    "classes": "classes",
    "signed_on": "signed_on",
    "expires": "expires",
    "signer": "signer",
    "form_file": "form_file",
    "form_sha256": "form_sha256",
    "form_version": "form_version",
    "purpose": "purpose",
    "basis": "basis",
    "collected_by": "collected_by",
    "program": "program",
    "seen_by": "seen_by",
    "for_minors": "for_minors",
}
REQUIRED = ("record_id", "to", "classes", "signed_on")
_LIST = re.compile(r"[;|,\s]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class ImportRow:
    """One valid row: the form and, when the export named a scan, where it is."""

    line: int
    form: ConsentForm
    form_source: Path | None  # the scan, kept at the node when the row is recorded
    minors: tuple[str, ...] = ()  # the signer also signs for these, as parent or guardian


@dataclass
class ImportResult:
    """What an export holds: the valid rows and every problem found."""

    rows: int = 0
    valid: list[ImportRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Rows with at least one problem."""
        return len({issue.line for issue in self.issues})


def read_consent_export(
    path: Path, *, default_collector: dict[str, str], encoding: str = "utf-8"
) -> ImportResult:
    """Every row of the export, checked (nothing is written). `default_collector` maps
    case numbers to their case managers."""
    result = ImportResult()
    with open_table(path, expected=list(COLUMNS), encoding=encoding, option="--input") as table:
        positions = find_columns(
            path, table.header, COLUMNS, REQUIRED, fix="Rename the column in the export"
        )
        if positions["form_file"] is None and positions["form_sha256"] is None:
            raise RosterError(
                str(path),
                "has neither a form_file nor a form_sha256 column",
                "Name each row's scan (form_file) or give its SHA-256 (form_sha256)",
            )
        for line, cells in _rows(table.rows):
            result.rows += 1
            if cells is None:
                result.issues.append(Issue(line, "*", "malformed_csv_line", "reject"))
                continue
            values = {
                name: (cells[i].strip() if i is not None and i < len(cells) else "")
                for name, i in positions.items()
            }
            row = _check_row(line, values, path.parent, default_collector, result)
            if row is not None:
                result.valid.append(row)
    return result


def _rows(rows: Iterator[tuple[int, list[str] | None]]) -> Iterator[tuple[int, list[str] | None]]:
    for line, cells in rows:
        if cells is not None and not any(c.strip() for c in cells):
            continue  # a blank line at the end of an export
        yield line, cells


def _check_row(
    line: int,
    values: dict[str, str],
    folder: Path,
    collectors: dict[str, str],
    result: ImportResult,
) -> ImportRow | None:
    problems: list[tuple[str, str]] = []
    record_id = values["record_id"]
    if not record_id:
        problems.append(("record_id", "missing"))
    recipients = tuple(_LIST.split(values["to"].strip())) if values["to"].strip() else ()
    if not recipients:
        problems.append(("to", "missing"))
    classes = tuple(c.lower() for c in _LIST.split(values["classes"].strip()) if c)
    if not classes:
        problems.append(("classes", "missing"))
    elif any(c not in DATA_CLASSES for c in classes):
        problems.append(("classes", "not_a_data_class"))
    signed = _date(values["signed_on"], "signed_on", problems, required=True)
    expires = _date(values["expires"], "expires", problems, required=False)
    signer = (values["signer"] or "client").lower()
    if signer not in SIGNERS:
        problems.append(("signer", "not_a_signer"))
    if values["seen_by"] and values["seen_by"] not in SEEN_BY:
        problems.append(("seen_by", "not_chain_or_case_manager"))
    sha, source = _form(values, folder, problems)
    collector = values["collected_by"] or collectors.get(record_id, "")
    if not collector:
        problems.append(("collected_by", "missing_and_no_case_manager"))
    if problems or signed is None or sha is None:
        result.issues.extend(Issue(line, column, rule, "reject") for column, rule in problems)
        return None
    form = ConsentForm(
        record_id=record_id,
        recipients=tuple(RECIPIENT_CLASSES.get(r, r) for r in recipients),
        data_classes=classes,
        signed_on=signed,
        form_sha256=sha,
        collected_by=collector,
        expires_on=expires,
        signer=signer,
        form_version=values["form_version"] or None,
        purposes=tuple(_LIST.split(values["purpose"]))
        if values["purpose"]
        else ("care_coordination",),
        basis=tuple(_LIST.split(values["basis"])) if values["basis"] else ("state_statute",),
        program=values["program"] or None,
        seen_by=values["seen_by"] or None,
    )
    minors = tuple(m for m in _LIST.split(values["for_minors"].strip()) if m)
    return ImportRow(line, form, source, minors)


def _date(
    text: str, column: str, problems: list[tuple[str, str]], *, required: bool
) -> date | None:
    if not text:
        if required:
            problems.append((column, "missing"))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append((column, "not_a_date_yyyy_mm_dd"))
        return None


def _form(
    values: dict[str, str], folder: Path, problems: list[tuple[str, str]]
) -> tuple[str | None, Path | None]:
    """(the scan's SHA-256, the scan's path when the export named one)."""
    if values["form_file"]:
        source = (folder / values["form_file"]).resolve()
        if folder.resolve() not in source.parents:
            problems.append(("form_file", "outside_the_export_folder"))
            return None, None
        try:
            content, suffix = read_form(source)
            check_scan(content, suffix)
        except NodeError as exc:
            problems.append(("form_file", "not_found" if exc.exit_code == 2 else "not_a_scan"))
            return None, None
        return hashlib.sha256(content).hexdigest(), source
    sha = values["form_sha256"].lower()
    if not _SHA256.fullmatch(sha):
        problems.append(("form_sha256", "missing" if not sha else "not_a_sha256"))
        return None, None
    return sha, None
