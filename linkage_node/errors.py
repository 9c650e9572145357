"""Errors raised by `linkage_node`: one base class, each carrying advice a person can act on.

None of them carries a cell value from a roster: they name lines, columns and rules.
"""

from __future__ import annotations


class NodeError(Exception):
    """Base for everything the agency node refuses or detects: what is wrong, and the fix."""

    #: Process exit status the CLI uses: 1 failure, 2 usage, 3 invalid input data.
    exit_code = 1

    def __init__(self, what: str, fix: str = "", *, exit_code: int | None = None) -> None:
        super().__init__(what)
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def advice(self) -> str:
        """What the person who sees this should do next."""
        return f"{self}. {self.fix}" if self.fix else str(self)


class RosterError(NodeError):
    """The roster file as a whole cannot be read (missing columns, not CSV, unreadable)."""

    exit_code = 3

    def __init__(self, where: str, what: str, fix: str, *, exit_code: int = 3) -> None:
        # exit_code 2 when the file named on the command line is missing
        super().__init__(f"{where}: {what}", fix, exit_code=exit_code)


class SchemaError(NodeError):
    """A linkage schema is unusable or unsafe."""

    exit_code = 3

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"linkage schema {where}: {what}")

    def advice(self) -> str:
        return (
            f"{self}. Every agency must use the same schema; start from the bundled "
            "default (`pprl node encode` without --schema) and change it only together."
        )


class StateError(NodeError):
    """The node's local state does not fit this run (wrong agency, missing key, damage)."""


class OutputError(NodeError):
    """A file the command was told to write cannot be written there; checked before any
    work is done, so nothing is lost."""

    exit_code = 2

    def __init__(self, path: str, what: str, fix: str) -> None:
        super().__init__(f"{path}: {what}", fix)


def check_writable(path: str | object, option: str) -> None:
    """Refuse an output path that is a folder or whose folder does not exist."""
    from pathlib import Path

    target = Path(str(path))
    if target.is_dir():
        raise OutputError(str(target), "is a folder", f"Give {option} a file name inside it")
    if not target.parent.is_dir():
        raise OutputError(
            str(target),
            f"the folder {target.parent} does not exist",
            f"Create it first, or give {option} a path in an existing folder",
        )
