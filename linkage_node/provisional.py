"""Provisional records: a person met at intake, registered by the data steward before the
agency's own system exports them, so that the next encoding run sends them like any
roster row and the next linkage run links them normally.

A provisional record lives in the node's state (its identifiers never leave the node;
the hub gets its encoding under a pseudonymous reference like any other record). It
stays until it expires (30 days by default, enough for the person to reach the regular
export) or the steward removes it; either way the next run removes it at the hub (it is
not an enrollment that ended, so it leaves no history). Its case number is
`provisional-` and eight hex digits, which no export should use.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, replace
from datetime import date, timedelta

from linkage_node.intake import Identifiers, clean_identifiers
from linkage_node.roster_rules import CleanRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS provisional (
    record_id TEXT PRIMARY KEY,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    sex TEXT NOT NULL,
    ssn TEXT NOT NULL,
    zip TEXT NOT NULL,
    phone TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_on TEXT NOT NULL,
    expires_on TEXT NOT NULL
);
"""
PREFIX = "provisional-"
DEFAULT_DAYS = 30
# After every roster line, so the encodings file lists them last.
FIRST_LINE = 1_000_000_000


@dataclass(frozen=True)
class Provisional:
    """One provisional record as the steward lists it."""

    record_id: str
    name: str
    added_by: str
    added_on: str
    expires_on: str


class ProvisionalRecords:
    """The provisional table of a node's state database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def add(self, person: Identifiers, *, added_by: str, today: date, days: int) -> str:
        """Register `person` (checked as a roster row; IntakeError if it cannot be
        matched); returns the provisional case number."""
        clean_identifiers(person, today=today)
        record_id = PREFIX + secrets.token_hex(4)
        self._db.execute(
            "INSERT INTO provisional VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record_id,
                person.given_name,
                person.family_name,
                person.date_of_birth,
                person.sex,
                person.ssn,
                person.zip,
                person.phone,
                added_by,
                today.isoformat(),
                (today + timedelta(days=days)).isoformat(),
            ),
        )
        return record_id

    def listed(self) -> list[Provisional]:
        """Every provisional record, newest first."""
        return [
            Provisional(record_id, f"{given} {family}".strip(), by, on, until)
            for record_id, given, family, by, on, until in self._db.execute(
                "SELECT record_id, given_name, family_name, added_by, added_on, expires_on "
                "FROM provisional ORDER BY added_on DESC, record_id"
            )
        ]

    def remove(self, record_id: str) -> bool:
        """Remove one (the next run removes it at the hub); False if there is none."""
        cursor = self._db.execute("DELETE FROM provisional WHERE record_id = ?", (record_id,))
        return cursor.rowcount > 0

    def records(self, today: date) -> list[CleanRecord]:
        """The unexpired ones, as the encoding job takes roster rows."""
        out = []
        rows = self._db.execute(
            "SELECT record_id, given_name, family_name, date_of_birth, sex, ssn, zip, phone "
            "FROM provisional WHERE expires_on > ? ORDER BY record_id",
            (today.isoformat(),),
        )
        for n, (record_id, given, family, dob, sex, ssn, zip_code, phone) in enumerate(rows):
            person = Identifiers(given, family, dob, sex=sex, ssn=ssn, zip=zip_code, phone=phone)
            record = clean_identifiers(person, today=today, record_id=record_id)
            out.append(replace(record, line=FIRST_LINE + n))
        return out
