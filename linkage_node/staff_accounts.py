"""The node's staff accounts: who may sign in to its pages, with what role.

Each account carries a version that every session cookie repeats. Signing out, resetting
the password (`pprl node add-user` over an existing name), disabling and removing all
change or end it, so a cookie issued before is refused on its next request: a session
never outlives what ended it, whichever device holds the cookie.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from linkage_node.errors import StateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_account (
    username TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('case_manager', 'supervisor', 'intake')),
    password_hash TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    disabled INTEGER NOT NULL DEFAULT 0
);
"""


def upgrade(db: sqlite3.Connection) -> None:
    """Add the columns a state made by an earlier version lacks."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(staff_account)")}
    if "version" not in columns:
        db.execute("ALTER TABLE staff_account ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    if "disabled" not in columns:
        db.execute("ALTER TABLE staff_account ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0")
    made = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'staff_account'"
    ).fetchone()
    if made is not None and "'intake'" not in made[0]:
        # The role list is a CHECK constraint, which SQLite cannot alter: copy the table.
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("ALTER TABLE staff_account RENAME TO staff_account_before_intake")
            db.execute(SCHEMA.replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE"))
            db.execute(
                "INSERT INTO staff_account (username, staff_id, role, password_hash, version, "
                "disabled) SELECT username, staff_id, role, password_hash, version, disabled "
                "FROM staff_account_before_intake"
            )
            db.execute("DROP TABLE staff_account_before_intake")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


@dataclass(frozen=True)
class StaffAccount:
    """One account (the hash stays on the node)."""

    username: str
    staff_id: str
    role: str
    password_hash: str
    version: int
    disabled: bool


class StaffAccounts:
    """The accounts table of a node's state database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def save(self, username: str, staff_id: str, role: str, password_hash: str) -> StaffAccount:
        """Create an account, or replace one's staff id, role and password: a replaced
        account is enabled again and its old sessions end."""
        self._db.execute(
            "INSERT INTO staff_account (username, staff_id, role, password_hash) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET "
            "staff_id = excluded.staff_id, role = excluded.role, "
            "password_hash = excluded.password_hash, version = version + 1, disabled = 0",
            (username, staff_id, role, password_hash),
        )
        saved = self.get(username)
        assert saved is not None  # noqa: S101  (just written)
        return saved

    def get(self, username: str) -> StaffAccount | None:
        """The account of a username, if there is one."""
        row = self._db.execute(
            "SELECT username, staff_id, role, password_hash, version, disabled "
            "FROM staff_account WHERE username = ?",
            (username,),
        ).fetchone()
        return None if row is None else _account(row)

    def all(self) -> list[StaffAccount]:
        """Every account, by username."""
        return [
            _account(row)
            for row in self._db.execute(
                "SELECT username, staff_id, role, password_hash, version, disabled "
                "FROM staff_account ORDER BY username"
            )
        ]

    def end_sessions(self, username: str) -> None:
        """Every cookie issued to this account so far stops working."""
        self._db.execute(
            "UPDATE staff_account SET version = version + 1 WHERE username = ?", (username,)
        )

    def disable(self, username: str) -> None:
        """The account can no longer sign in, and its sessions end."""
        self._require(username)
        self._db.execute(
            "UPDATE staff_account SET disabled = 1, version = version + 1 WHERE username = ?",
            (username,),
        )

    def remove(self, username: str) -> None:
        """Delete the account (its sessions end with it)."""
        self._require(username)
        self._db.execute("DELETE FROM staff_account WHERE username = ?", (username,))

    def _require(self, username: str) -> None:
        if self.get(username) is None:
            raise StateError(
                f"there is no account {username!r} on this node",
                "See the accounts with `pprl node list-users`",
            )


def _account(row: tuple[str, str, str, str, int, int]) -> StaffAccount:
    return StaffAccount(row[0], row[1], row[2], row[3], int(row[4]), bool(row[5]))
