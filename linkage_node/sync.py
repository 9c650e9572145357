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
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from keys import canonical
from linkage_node.errors import NodeError, RosterError
from linkage_node.state import Change, NodeState, PendingRun

DEFAULT_BATCH = 5000
_TRANSIENT = {429, 500, 502, 503, 504}


class SyncError(NodeError):
    """The hub refused a batch, or could not be reached."""


@dataclass
class SyncReport:
    """What one sync did."""

    runs: int = 0
    batches_sent: int = 0
    batches_replayed: int = 0
    batches_skipped: int = 0
    replaced: int = 0  # records the hub dropped at a --reset
    records: dict[str, int] = field(
        default_factory=lambda: {"encodings": 0, "assignments": 0, "milestones": 0}
    )


class HubClient:
    """The node's HTTP client for the hub's upload endpoints."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        timeout: float = 120.0,
        retry_for: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._token = token
        self._retry_for = retry_for
        self._sleep = sleep
        self._clock = clock
        self._notice = notice

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def post_batch(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST one batch, retrying what may succeed on a retry (the hub unreachable or
        restarting, 429, 5xx) for up to `retry_for` seconds; raises SyncError. A retry
        is safe: the idempotency key makes a batch the hub already applied a replay."""
        delay = 0.5
        deadline = self._clock() + self._retry_for
        while True:
            try:
                response = self._client.post(
                    path,
                    json=body,
                    headers={"Authorization": f"Bearer {self._token()}", "Idempotency-Key": key},
                )
            except httpx.TransportError as exc:
                failure = SyncError(
                    f"the hub could not be reached ({type(exc).__name__})",
                    "Check --hub and the network, then run the same command again: "
                    "batches already applied are not sent twice.",
                )
                wait = delay
            else:
                if response.status_code < 300:
                    result: dict[str, Any] = response.json()
                    return result
                failure = SyncError(
                    f"the hub refused batch {key}: {response.status_code} {_detail(response)}",
                    "Fix what the hub names, then run the same command again.",
                )
                if response.status_code not in _TRANSIENT:
                    raise failure
                wait = _retry_after(response) or delay
            left = deadline - self._clock()
            if left <= 0:
                raise failure
            if self._notice is not None:
                self._notice(
                    f"{failure}; trying batch {key} again in {min(wait, left):.1f} s "
                    f"(giving up in {left:.0f} s)"
                )
            self._sleep(min(wait, left))
            delay = min(delay * 2, 8.0)


def _retry_after(response: httpx.Response) -> float | None:
    """The hub's Retry-After in seconds, when it gave one as a number."""
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return str(body.get("detail") or body.get("title") or response.reason_phrase)


def load_staff(path: Path) -> dict[str, dict[str, str]]:
    """Case managers' contact details from a CSV: case_manager_id, display_name, phone,
    email, office (all but the id optional)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise RosterError(str(path), exc.strerror or "cannot be read", "Check --staff.") from None
    fields = ("display_name", "phone", "email", "office")
    if rows and "case_manager_id" not in rows[0]:
        raise RosterError(str(path), "has no case_manager_id column", "Add the column.")
    return {
        row["case_manager_id"].strip(): {
            f: row[f].strip() for f in fields if row.get(f, "").strip()
        }
        for row in rows
        if row.get("case_manager_id", "").strip()
    }


def _batches(items: list[Change], size: int) -> Iterator[tuple[int, list[Change]]]:
    for number, start in enumerate(range(0, len(items), size)):
        yield number, items[start : start + size]


def sync(
    state: NodeState,
    agency_id: str,
    client: HubClient,
    *,
    batch_size: int = DEFAULT_BATCH,
    staff: dict[str, dict[str, str]] | None = None,
    progress: Callable[[str], None] | None = None,
    reset: bool = False,
) -> SyncReport:
    """Send every unsynced run's changes; see the module notes."""
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
        staff or {},
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
            report.batches_replayed += bool(result.get("replayed"))
            report.records[kind] += len(batch)
            report.replaced += int(result.get("replaced") or 0)
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
            {"ref": c.ref, "clk": canonical.b64encode(c.clk or b"")}
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
