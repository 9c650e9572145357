"""The agency's staff file: case managers' contact details, and the org structure.

A CSV with a header: `case_manager_id` (or `staff_id`) and any of `display_name, phone,
email, office, unit, supervisor_id`. Every staff member who signs in or supervises has a
row; `supervisor_id` names the row of the person they report to. From it the node sends
the hub the chain of command (staff ids, offices and units only: never names or contact
details), which decides whose clients a supervisor may see. Contact details travel only
with the assignments, sealed at the hub.

A problem is named by line and column, never with a name or number from the file; a
reporting loop or a supervisor with no row of their own refuses the whole file, since a
half-read chain of command would give the wrong people access.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keys import is_staff_id
from linkage_node.errors import RosterError

CONTACT = ("display_name", "phone", "email", "office")
ORG = ("office", "unit", "supervisor_id")


@dataclass
class StaffFile:
    """The staff file as read: contacts by staff id, and the org structure when the
    file has a `supervisor_id` column (None when it does not: nothing is sent)."""

    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    org: list[dict[str, Any]] | None = None

    def supervisors(self) -> int:
        """How many staff have someone reporting to them."""
        return len({m["supervisor_id"] for m in self.org or [] if m.get("supervisor_id")})


def load_staff(path: Path) -> StaffFile:
    """Read and check a staff file (see the module notes)."""
    where = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise RosterError(where, exc.strerror or "cannot be read", "Check --staff.") from None
    except (UnicodeDecodeError, csv.Error):
        raise RosterError(where, "is not a UTF-8 CSV file", "Save it as CSV (UTF-8).") from None
    header = set(rows[0]) if rows else set()
    id_column = "case_manager_id" if "case_manager_id" in header else "staff_id"
    if rows and id_column not in header:
        raise RosterError(where, "has no case_manager_id column", "Add the column.")
    out = StaffFile()
    lines: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        staff_id = (row.get(id_column) or "").strip()
        if not staff_id:
            continue
        if not is_staff_id(staff_id):
            raise RosterError(
                f"{where} line {line}, column {id_column}",
                "is not a staff id",
                "Use the ids staff sign in with (letters, then digits, like cm-0042).",
            )
        if staff_id in lines:
            raise RosterError(
                f"{where} line {line}",
                f"repeats the staff id of line {lines[staff_id]}",
                "Keep one row per staff member.",
            )
        lines[staff_id] = line
        out.contacts[staff_id] = {f: row[f].strip() for f in CONTACT if (row.get(f) or "").strip()}
    if "supervisor_id" in header:
        out.org = _structure(where, id_column, rows, lines)
    return out


def _structure(
    where: str, id_column: str, rows: list[dict[str, str]], lines: dict[str, int]
) -> list[dict[str, Any]]:
    above: dict[str, str | None] = {}
    members: list[dict[str, Any]] = []
    for row in rows:
        staff_id = (row.get(id_column) or "").strip()
        if not staff_id:
            continue
        boss = (row.get("supervisor_id") or "").strip() or None
        if boss is not None and boss not in lines:
            raise RosterError(
                f"{where} line {lines[staff_id]}, column supervisor_id",
                "names a supervisor with no row of their own",
                "Add a row for every supervisor and manager (their supervisor_id is who "
                "they report to; empty at the top).",
            )
        above[staff_id] = boss
        members.append(
            {"staff_id": staff_id, "supervisor_id": boss}
            | {f: row[f].strip()[:200] for f in ("office", "unit") if (row.get(f) or "").strip()}
        )
    for start, boss in above.items():
        seen = {start}
        at = boss
        while at is not None:
            if at in seen:
                raise RosterError(
                    f"{where} line {lines[start]}, column supervisor_id",
                    "is part of a reporting loop (someone reports, through others, to themselves)",
                    "Fix the supervisor_id values so that every chain ends at someone with none.",
                )
            seen.add(at)
            at = above[at]
    return members
