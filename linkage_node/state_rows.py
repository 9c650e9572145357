"""What the node's state stores and gives back, row by row: the directory, a run's
counts and changes, the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

Op = Literal["upsert", "remove", "assign", "unassign", "plan", "unplan"]


class DirectoryEntry(NamedTuple):
    """One current client in the node's private directory."""

    ref: str
    record_id: str
    name: str
    date_of_birth: str
    case_manager_id: str
    household_id: str = ""
    household_role: str = ""
    member_only: bool = False


class ClientName(NamedTuple):
    """How a page shows a client the hub names by reference."""

    record_id: str
    name: str
    date_of_birth: str


@dataclass(frozen=True)
class Diff:
    """The changes one run found (counts)."""

    new: int
    changed: int
    removed: int
    unchanged: int
    reassigned: int = 0

    @property
    def empty(self) -> bool:
        """True when nothing needs to be sent."""
        return not (self.new or self.changed or self.removed or self.reassigned)


@dataclass(frozen=True)
class Change:
    """One outbox row. `item` is the milestone id of plan changes; `payload` their fields."""

    ref: str
    op: Op
    clk: bytes | None
    case_manager_id: str | None
    item: str = ""
    payload: str | None = None


@dataclass(frozen=True)
class PendingRun:
    """A run whose changes are not all acknowledged by the hub yet."""

    run_id: int
    epoch: str
    schema_fingerprint: str
    canary: bytes


@dataclass(frozen=True)
class RunRecord:
    """What a run stores besides its staged records: its context, counts and plans."""

    epoch: str
    schema_fingerprint: str
    canary: bytes
    counts: dict[str, int]
    # (ref, milestone_id, content_hash, fields as JSON) of new and changed milestones
    plans: list[tuple[str, str, bytes, str]] = field(default_factory=list)
    # (ref, milestone_id) of milestones no longer in the plan export
    plan_removals: list[tuple[str, str]] = field(default_factory=list)
    # The date clients missing from the export exited on; None: they are removed.
    missing_exit_on: str | None = None
