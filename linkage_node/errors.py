"""Errors raised by `linkage_node`: one base class, each carrying advice a person can act on.

None of them carries a cell value from a roster: they name lines, columns and rules.
"""

from __future__ import annotations


class NodeError(Exception):
    """Base for everything the agency node refuses or detects."""

    #: Process exit status the CLI uses: 1 failure, 3 invalid input data.
    exit_code = 1

    def advice(self) -> str:
        """What the person who sees this should do next."""
        return str(self)


class RosterError(NodeError):
    """The roster file as a whole cannot be read (missing columns, not CSV, unreadable)."""

    exit_code = 3

    def __init__(self, where: str, what: str, fix: str) -> None:
        super().__init__(f"{where}: {what}")
        self.fix = fix

    def advice(self) -> str:
        return f"{self}. {self.fix}"


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

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(what)
        self.fix = fix

    def advice(self) -> str:
        return f"{self}. {self.fix}"
