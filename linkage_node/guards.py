"""Guards that stop a bad export from reaching the hub.

A header-only or truncated export looks, to a diff, exactly like clients leaving: the
next sync would delete them at the hub and dissolve their clusters. A run that would
remove more than an allowed share of the known records, or that rejects more rows than
allowed, is refused before anything is written; the steward says how many removals they
expect (`--allow-removals 200` or `--allow-removals 15%`) when clients really left.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from linkage_node.errors import NodeError

_ALLOWANCE = re.compile(r"(\d+(?:\.\d+)?)(%?)")

#: The share of known records a run may remove without being told to.
DEFAULT_REMOVALS = "10%"
#: The share of rows `encode` may reject and still write (validate allows none).
DEFAULT_REJECTED_ENCODE = "1%"


@dataclass(frozen=True)
class Allowance:
    """A count ("200") or a share ("10%") of some total."""

    amount: float
    percent: bool
    text: str

    @classmethod
    def parse(cls, text: str, option: str) -> Allowance:
        """'N' or 'P%'; anything else is a usage error naming the option."""
        match = _ALLOWANCE.fullmatch(text.strip())
        if match is None or (match[2] and float(match[1]) > 100):
            raise GuardError(
                f"{option} {text!r} is not a count or a percentage",
                f"Use a whole number (e.g. {option} 25) or a percentage (e.g. {option} 5%).",
                exit_code=2,
            )
        if not match[2] and "." in match[1]:
            raise GuardError(
                f"{option} {text!r} is not a whole number", f"E.g. {option} 25.", exit_code=2
            )
        return cls(float(match[1]), bool(match[2]), text.strip())

    def limit(self, total: int) -> int:
        """The largest count allowed out of `total`."""
        if self.percent:
            return math.floor(total * self.amount / 100 + 1e-9)
        return int(self.amount)


class GuardError(NodeError):
    """A run refused by a guard; nothing was written."""

    exit_code = 3

    def __init__(self, what: str, fix: str, *, exit_code: int = 3) -> None:
        super().__init__(what, fix, exit_code=exit_code)
        #: (roster result, plan result) when rows were rejected: the caller prints them.
        self.rejected: tuple[Any, Any] | None = None


def check_not_empty(rows: int, known: int, allowance: Allowance, *, exits: bool = False) -> None:
    """An export with no rows is refused unless the steward allowed removing every
    known client (an agency whose program really closed). `exits`: missing clients
    exit (kept as history) rather than being removed."""
    what = "mark as exited" if exits else "remove"
    if rows == 0 and (known == 0 or allowance.limit(known) < known):
        raise GuardError(
            "the roster has a header but no rows"
            + (f"; encoding it would {what} all {known} clients the hub knows" if known else ""),
            "Nothing was written. Check the export (a failed or interrupted export often "
            "leaves only the header) and run again; if every client really left, pass "
            f"--allow-removals {known or 'N'}",
        )


def check_removals(removed: int, known: int, allowance: Allowance, *, exits: bool = False) -> None:
    """Refuse a run that would remove (or, with `exits`, mark as exited) more known
    records than allowed."""
    if removed == 0 or removed <= allowance.limit(known):
        return
    share = removed / known if known else 1.0
    what = "mark as exited" if exits else "remove"
    raise GuardError(
        f"this run would {what} {removed} of the {known} clients the hub knows ({share:.0%}), "
        f"more than the {allowance.text} allowed",
        "Nothing was written. If the export is incomplete (a truncated file, a filter left "
        "on), fix it and run again; if these clients really left, run again with "
        f"--allow-removals {removed}",
    )


def check_rejected(what: str, rejected: int, rows: int, allowance: Allowance) -> None:
    """Refuse a run whose export has more bad rows than allowed."""
    if rejected == 0 or rejected <= allowance.limit(rows):
        return
    raise GuardError(
        f"{rejected} of {rows} {what} rows were rejected, more than the {allowance.text} allowed",
        "The table above names each line, column and rule. Fix the export, or raise "
        "--max-rejected if these rows may wait for the next run",
    )
