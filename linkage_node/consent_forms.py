"""The consent forms an agency recorded, as its node keeps them: which case number each
grant is about, the scanned form, and who recorded it. None of it leaves the node; the
ledger carries the grant's terms, the record's reference and the form's SHA-256 only.

The scan is stored once per content under `consent-forms/<sha256><suffix>` in the state
directory (folder 0700, file 0600): it holds a signature and a name.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from keys.files import write_private
from linkage_node.errors import NodeError
from linkage_node.private_files import private_directory

SCHEMA = """
CREATE TABLE IF NOT EXISTS consent_form (
    consent_id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    ref TEXT NOT NULL,
    form_sha256 TEXT NOT NULL,
    form_file TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_form_record ON consent_form (record_id);
"""

FORMS_DIR = "consent-forms"
# A scan larger than this is not a consent form (a whole case file, a video).
MAX_FORM_BYTES = 25 * 1024 * 1024
_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".webp", ".heic"}


@dataclass(frozen=True)
class FormOnFile:
    """What the node recorded with one grant."""

    consent_id: str
    record_id: str
    ref: str
    form_sha256: str
    form_file: str | None
    recorded_at: str
    recorded_by: str


class ConsentForms:
    """The consent_form table of a node's state database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def remember(self, form: FormOnFile) -> None:
        """Record what the node knows of a grant before it is appended (the ledger holds
        its index); the first record of a consent id keeps its recorder, and a scan
        given later fills a missing one."""
        self._db.execute(
            "INSERT INTO consent_form VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (consent_id) DO UPDATE SET "
            "form_file = coalesce(consent_form.form_file, excluded.form_file)",
            (
                form.consent_id,
                form.record_id,
                form.ref,
                form.form_sha256,
                form.form_file,
                form.recorded_at,
                form.recorded_by,
            ),
        )

    def get(self, consent_id: str) -> FormOnFile | None:
        """What the node recorded with one grant, if it recorded it."""
        row = self._db.execute(
            "SELECT * FROM consent_form WHERE consent_id = ?", (consent_id,)
        ).fetchone()
        return None if row is None else FormOnFile(*row)

    def all(self) -> dict[str, FormOnFile]:
        """consent_id -> what the node recorded, for every grant it recorded."""
        return {r[0]: FormOnFile(*r) for r in self._db.execute("SELECT * FROM consent_form")}


def read_form(path: Path) -> tuple[bytes, str]:
    """The scanned form named on the command line: (content, suffix); exit 2 when it is
    missing or unreadable. `store_upload` checks that it can be a form."""
    try:
        if not path.is_file():
            raise OSError
        too_large = path.stat().st_size > MAX_FORM_BYTES
        content = b"" if too_large else path.read_bytes()
    except OSError:
        raise NodeError(
            f"cannot read the scanned form {path}", "Check the path to the scan.", exit_code=2
        ) from None
    if too_large:
        raise NodeError(
            f"{path.name} is larger than 25 MB",
            "Give the scan of the signed form itself.",
            exit_code=3,
        )
    return content, path.suffix


def store_upload(state_dir: Path, content: bytes, suffix: str) -> tuple[str, str]:
    """Keep a scan in the state directory (0600, written atomically), once per content:
    (sha256, stored name)."""
    suffix = check_scan(content, suffix)
    sha256 = hashlib.sha256(content).hexdigest()
    folder = private_directory(state_dir / FORMS_DIR)
    name = f"{sha256}{suffix}"
    if not (folder / name).exists():
        write_private(folder / name, content)
    return sha256, name


def check_scan(content: bytes, suffix: str) -> str:
    """Refuse what cannot be a scanned form (exit 3); returns the suffix, lower case."""
    suffix = suffix.lower()
    if suffix not in _SUFFIXES:
        raise NodeError(
            f"the scanned form must be a PDF or an image ({', '.join(sorted(_SUFFIXES))})",
            "Scan the signed form to PDF.",
            exit_code=3,
        )
    if not content or len(content) > MAX_FORM_BYTES:
        raise NodeError(
            "the scanned form is empty or larger than 25 MB",
            "Give the scan of the signed form itself.",
            exit_code=3,
        )
    return suffix
