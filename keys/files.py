"""Files that hold keys and ledger state: atomic writes with a fixed mode, and a check
that a private file is not readable by others. Public so `consent` can use it too."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def _write_atomic(path: Path, data: bytes, mode: int, overwrite: bool) -> None:
    # The temporary file has its final mode from the start (never chmod-ed after the
    # bytes are on disk) and is renamed over the target only once complete, so a crash
    # leaves either the old file or the new one, never half a key.
    if path.exists() and not overwrite:
        raise FileExistsError(str(path))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write `data` to `path` atomically, readable by the owner only (0600)."""
    _write_atomic(path, data, 0o600, overwrite)


def write_public(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write a public document atomically (0644)."""
    _write_atomic(path, data, 0o644, overwrite)


def too_open(path: Path) -> bool:
    """True when a private file is readable or writable by group or others."""
    mode = path.stat().st_mode
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def read_private(path: Path) -> bytes:
    """The contents of a secret file, refused (KeyFileError) when others may read it."""
    from keys.errors import KeyFileError

    if too_open(path):
        raise KeyFileError(str(path), "is readable by other users", f"Run `chmod 600 {path}`.")
    return path.read_bytes()
