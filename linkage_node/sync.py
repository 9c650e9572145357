"""`pprl node sync`: send the outbox of every unsynced run to the hub, over HTTP only.

Batches are built from each run's stored changes in a fixed order, and each carries the
idempotency key `<agency>.<installation>.r<run>.<kind>.<batch>`. So a sync interrupted
anywhere (the node, the network or the hub dying mid-request) is completed by running it
again: a batch the hub already applied is answered as a replay and changes nothing, a
batch it never committed is applied now, and nothing is sent twice or skipped. The
installation id changes when the state is made afresh or restored from a backup, whose
run numbers start again from an earlier point.

A state the hub never acknowledged a batch from says so (`state: new`): when the hub
already holds records of the agency, that state was lost and made again (with a new
record-reference key every client would be uploaded a second time), and the hub refuses
it with advice. `--reset` sends `state: replace` instead: the hub drops what it held for
the agency and takes this state's records.

With a staff file that has a `supervisor_id` column (`linkage_node.staff_file`), the
sync then sends the org structure, which replaces the hub's: it is small, and a whole
structure cannot be half applied. Every sync ends by checking in, changes or not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contract import OrgStructureOut
from contract.client import HubClient
from keys import canonical
from linkage_node.staff_file import StaffFile
from linkage_node.state import NodeState
from linkage_node.state_rows import Change, PendingRun

DEFAULT_BATCH = 5000


@dataclass
class SyncReport:
    """What one sync did."""

    runs: int = 0
    batches_sent: int = 0
    batches_replayed: int = 0
    batches_skipped: int = 0
    replaced: int = 0  # records the hub dropped at a --reset
    org: OrgStructureOut | None = None  # the org structure the hub now holds, if sent
    records: dict[str, int] = field(
        default_factory=lambda: {"encodings": 0, "assignments": 0, "milestones": 0}
    )


def _batches(items: list[Change], size: int) -> Iterator[tuple[int, list[Change]]]:
    for number, start in enumerate(range(0, len(items), size)):
        yield number, items[start : start + size]


def sync(
    state: NodeState,
    agency_id: str,
    client: HubClient,
    *,
    batch_size: int = DEFAULT_BATCH,
    staff: StaffFile | None = None,
    progress: Callable[[str], None] | None = None,
    reset: bool = False,
) -> SyncReport:
    """Send every unsynced run's changes, then the org structure when the staff file
    has one (it replaces the hub's); see the module notes."""
    report = SyncReport()
    kinds: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("encodings", ("upsert", "remove")),
        ("assignments", ("assign", "unassign")),
        ("milestones", ("plan", "unplan")),
    )
    sender = _Sender(
        state,
        client,
        agency_id,
        staff.contacts if staff else {},
        progress,
        reset,
        installation=state.installation_id,
        new_to_hub=not state.ever_sent(),
    )
    for run in state.pending_runs():
        changes = state.changes(run.run_id)
        for kind, ops in kinds:
            sender.send(run, kind, [c for c in changes if c.op in ops], batch_size, report)
        state.mark_synced(run.run_id)
        report.runs += 1
    if staff is not None and staff.org is not None:
        report.org = client.put_org_structure(agency_id, staff.org)
    # Last, with or without changes: how the hub tells a job with nothing to send from
    # one that stopped running (the operators' stale-sync alert).
    client.sync_check_in(agency_id, report.runs, report.batches_sent)
    return report


@dataclass
class _Sender:
    state: NodeState
    client: HubClient
    agency_id: str
    staff: dict[str, dict[str, str]]
    progress: Callable[[str], None] | None
    reset: bool
    installation: str
    new_to_hub: bool  # until the hub acknowledges this state's first batch

    def send(
        self, run: PendingRun, kind: str, items: list[Change], size: int, report: SyncReport
    ) -> None:
        done = self.state.sent(run.run_id, kind)
        for number, batch in _batches(items, size):
            key = f"{self.agency_id}.{self.installation}.r{run.run_id}.{kind}.{number}"
            if number in done:
                report.batches_skipped += 1
                continue
            body = self._body(run, kind, batch)
            if kind == "encodings":
                body["state"] = ("replace" if self.reset else "new") if self.new_to_hub else "known"
            result = self.client.post_batch(
                f"/v1/agencies/{self.agency_id}/{kind}/batches", body, key
            )
            self.state.mark_sent(run.run_id, kind, number, key)
            self.new_to_hub = False
            report.batches_sent += 1
            report.batches_replayed += result.replayed
            report.records[kind] += len(batch)
            report.replaced += result.replaced
            if self.progress:
                self.progress(f"run {run.run_id}: {kind} batch {number + 1} acknowledged")

    def _body(self, run: PendingRun, kind: str, batch: list[Change]) -> dict[str, Any]:
        if kind == "encodings":
            return _encodings_body(run, batch)
        if kind == "assignments":
            return _assignments_body(batch, self.staff)
        return _milestones_body(batch)


def _encodings_body(run: PendingRun, batch: list[Change]) -> dict[str, Any]:
    return {
        "epoch": run.epoch,
        "schema_fingerprint": run.schema_fingerprint,
        "canary_digest": canonical.b64encode(run.canary),
        "upserts": [
            # The payload holds the enrollment dates, when the roster has them.
            {
                "ref": c.ref,
                "clk": canonical.b64encode(c.clk or b""),
                **json.loads(c.payload or "{}"),
            }
            for c in batch
            if c.op == "upsert"
        ],
        "removals": [c.ref for c in batch if c.op == "remove"],
    }


def _assignments_body(batch: list[Change], staff: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "upserts": [
            {
                "ref": c.ref,
                "case_manager_id": c.case_manager_id,
                "contact": staff.get(c.case_manager_id or "", {}),
            }
            for c in batch
            if c.op == "assign"
        ],
        "removals": [c.ref for c in batch if c.op == "unassign"],
    }


def _milestones_body(batch: list[Change]) -> dict[str, Any]:
    return {
        "upserts": [
            {"ref": c.ref, "milestone_id": c.item, **json.loads(c.payload or "{}")}
            for c in batch
            if c.op == "plan"
        ],
        "removals": [{"ref": c.ref, "milestone_id": c.item} for c in batch if c.op == "unplan"],
    }
