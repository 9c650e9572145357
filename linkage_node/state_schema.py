"""The node state file's tables and layout version (`PRAGMA user_version`)."""

from __future__ import annotations

# The state file's layout. Raised when a release changes it (with the upgrade step in
# `NodeState.__init__`); a file from a newer release is refused, not misread.
STATE_VERSION = 5

SCHEMA = """
CREATE TABLE IF NOT EXISTS node (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    agency_id TEXT NOT NULL,
    installation_id TEXT
);
CREATE TABLE IF NOT EXISTS record (
    ref TEXT PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    content_hash BLOB NOT NULL,
    clk BLOB NOT NULL,
    context TEXT NOT NULL,
    case_manager_id TEXT NOT NULL DEFAULT '',
    removed INTEGER NOT NULL DEFAULT 0,
    -- ISO date the client left the program ('' while current): kept as history.
    exited_on TEXT NOT NULL DEFAULT '',
    -- What the hub is sent besides the CLK and dates (household, member_only), as JSON.
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS run (
    run_id INTEGER PRIMARY KEY,
    finished_at TEXT NOT NULL,
    epoch TEXT NOT NULL,
    schema_fingerprint TEXT NOT NULL,
    canary BLOB NOT NULL,
    rows INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    new INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    synced_at TEXT
);
CREATE TABLE IF NOT EXISTS change (
    run_id INTEGER NOT NULL REFERENCES run(run_id),
    ref TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('upsert', 'remove', 'assign', 'unassign', 'plan', 'unplan')),
    item TEXT NOT NULL DEFAULT '',
    clk BLOB,
    case_manager_id TEXT,
    payload TEXT,
    PRIMARY KEY (run_id, ref, op, item)
);
CREATE TABLE IF NOT EXISTS milestone (
    ref TEXT NOT NULL,
    milestone_id TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ref, milestone_id)
);
CREATE TABLE IF NOT EXISTS client_directory (
    ref TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    case_manager_id TEXT NOT NULL,
    household_id TEXT NOT NULL DEFAULT '',
    household_role TEXT NOT NULL DEFAULT '',
    member_only INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS client_directory_household ON client_directory (household_id)
    WHERE household_id != '';
CREATE TABLE IF NOT EXISTS sent_batch (
    run_id INTEGER NOT NULL REFERENCES run(run_id),
    kind TEXT NOT NULL,
    batch_no INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, batch_no)
);
"""
