"""The node's state directory and databases are private to the account running it.

They hold clients' names, birth dates and case numbers and staff password hashes, so the
directory is created 0700 and each database 0600 from the first byte (never created
world-readable and tightened later). An existing install made before this was enforced is
repaired, with a warning, the first time the node opens it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from keys.files import too_open

log = logging.getLogger("pprl.node")

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(directory: Path) -> Path:
    """Create `directory` (0700) or make an existing one private."""
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    _repair(directory, DIRECTORY_MODE)
    return directory


def private_file(path: Path) -> Path:
    """Create `path` empty (0600) if it is missing, or make an existing one private; the
    folder holding it is made private as well. SQLite then opens it in place (its journal
    files copy the database's permissions)."""
    private_directory(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _repair(path, FILE_MODE)
    return path


def _repair(path: Path, mode: int) -> None:
    if too_open(path):
        current = stat.S_IMODE(path.stat().st_mode)
        path.chmod(mode)
        log.warning(
            "%s was readable by other accounts (mode %o); it is now %o. It holds client "
            "data: check who could have copied it.",
            path,
            current,
            mode,
        )
