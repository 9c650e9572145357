"""The nightly encoding job: validate, normalise, find what changed, encode, write.

Only new and changed records are encoded; unchanged ones reuse the CLK from the node's
state. The roster streams through in chunks of 50,000 rows, staged on disk
(`linkage_node.staging`), so memory does not grow with the roster (a 1M-row roster
encodes in under 300 MB). Nothing is written before the guards pass (rejected rows,
an empty export, removals); then the output file, then the state in one transaction,
both atomic, so a run that dies anywhere can simply be run again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Literal, overload

from keys import LinkageSecret
from linkage_node.encoder import Encoder, EncoderPool
from linkage_node.encodings_file import EncodingsHeader, write_encodings
from linkage_node.errors import check_writable
from linkage_node.features import CANARY, canary_digest, feature_values
from linkage_node.guards import (
    DEFAULT_REJECTED_ENCODE,
    DEFAULT_REMOVALS,
    Allowance,
    GuardError,
    check_not_empty,
    check_rejected,
    check_removals,
)
from linkage_node.normalise import NORMALISATION_VERSION
from linkage_node.plans import PlanResult, read_plans
from linkage_node.private_files import private_directory
from linkage_node.refs import RefKey
from linkage_node.roster import (
    Action,
    CleanRecord,
    ColumnMapping,
    ReadOptions,
    RosterResult,
    iter_roster,
)
from linkage_node.schema import LinkageSchema
from linkage_node.staging import Staging
from linkage_node.state import NodeState
from linkage_node.state_rows import Diff, RunRecord

STATE_FILE = "node-state.db"
# What a known client missing from tonight's export means (see `run_encoding_job`).
Missing = Literal["exit", "remove"]
REF_KEY_FILE = "record-ref.key"


@dataclass(frozen=True)
class JobResult:
    """What a run did."""

    roster: RosterResult
    diff: Diff
    header: EncodingsHeader
    run_id: int
    encoded: int
    mean_popcount: float
    seconds: float
    plans: PlanResult | None = None
    plan_changes: int = 0
    plan_removals: int = 0


def run_encoding_job(
    *,
    agency_id: str,
    schema: LinkageSchema,
    secret: LinkageSecret,
    roster_path: Path,
    output: Path,
    state_dir: Path,
    mapping: ColumnMapping | None = None,
    policies: dict[str, Action] | None = None,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    today: date | None = None,
    plans_path: Path | None = None,
    stuck_reasons: Mapping[str, str] | None = None,
    allow_removals: Allowance | None = None,
    max_rejected: Allowance | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    missing: Missing = "exit",
) -> JobResult:
    """Run one encoding job; see the module notes. Raises `GuardError` (nothing written)
    for an empty export, more removals than `allow_removals` (default 10% of the known
    records) or more rejected rows than `max_rejected` (default 1%).

    A client known from earlier runs and missing from tonight's export (`missing`):
    `exit` records that they left the program today, keeping their last encoding at the
    hub as history; `remove` deletes the record at the hub (a record entered in error, an
    erasure request), history included."""
    started = time.perf_counter()
    check_writable(output, "--output")
    allow_removals = allow_removals or Allowance.parse(DEFAULT_REMOVALS, "--allow-removals")
    max_rejected = max_rejected or Allowance.parse(DEFAULT_REJECTED_ENCODE, "--max-rejected")
    roster = RosterResult(keep_records=False)
    state_file = state_dir / STATE_FILE
    provisional: list[CleanRecord] = []
    if state_file.exists():  # (and brings an older layout up to date before staging)
        with NodeState(state_file, agency_id) as known:
            provisional = known.provisional.records(today or date.today())  # noqa: DTZ011
    ref_key, new_key = _ref_key(state_dir, fresh=not state_file.exists())
    records = iter_roster(
        roster_path,
        roster,
        ReadOptions(mapping, policies, today, delimiter, encoding),
        _renamed(progress, {"validating": "validating and encoding"}),
    )
    with (
        Staging(private_directory(state_dir), state_file) as staging,
        EncoderPool(schema, secret.secret, workers) as pool,
    ):
        context = f"{secret.epoch}|{schema.fingerprint}"
        number = 0
        for number, chunk in enumerate(_batches(records, JOB_CHUNK)):
            for record in chunk:
                roster.add(record)
            _stage_chunk(
                staging, pool, schema, ref_key, context=context, number=number, chunk=chunk
            )
        if provisional:  # registered at intake, sent like roster rows (not counted in it)
            _stage_chunk(
                staging,
                pool,
                schema,
                ref_key,
                context=context,
                number=number + 1,
                chunk=provisional,
            )
        staging.keep([ref_key.ref(r) for r in roster.rejected_record_ids])
        plans = read_plans(plans_path, stuck_reasons) if plans_path is not None else None
        diff = _guarded_diff(
            staging, roster, plans, max_rejected, allow_removals, exits=missing == "exit"
        )
        sending = roster.accepted + len(provisional)
        header = _header(agency_id, schema, secret, sending)
        popcount = _Popcount(schema.bits, sending, progress)
        write_encodings(output, header, popcount.counted(staging.encodings()))
        staging.release()
        if new_key:
            ref_key.save(private_directory(state_dir) / REF_KEY_FILE)
        with NodeState(state_file, agency_id) as state:
            plan_changes, plan_removals = (
                _plan_diff(plans, ref_key, state, exited=staging.exited() | staging.gone())
                if plans
                else ([], [])
            )
            run = RunRecord(
                epoch=secret.epoch,
                schema_fingerprint=schema.fingerprint,
                canary=header.canary_digest,
                counts=_run_counts(roster, diff),
                plans=plan_changes,
                plan_removals=plan_removals,
                # The steward's local date, as the roster's dates are read.
                missing_exit_on=(
                    (today or date.today()).isoformat()  # noqa: DTZ011
                    if missing == "exit"
                    else None
                ),
            )
            saving = (
                (lambda done, total: progress("saving state", done, total)) if progress else None
            )
            run_id = state.record_run(run, staging.path, saving)
    return JobResult(
        roster,
        diff,
        header,
        run_id,
        diff.new + diff.changed,
        popcount.mean,
        time.perf_counter() - started,
        plans,
        len(plan_changes),
        len(plan_removals),
    )


def _ref_key(state_dir: Path, *, fresh: bool) -> tuple[RefKey, bool]:
    """The node's record-reference key, and whether it is new. A new node's key is made
    now and saved only with its first state (nothing is written before the guards
    pass); an existing node must have its key."""
    if fresh and not (state_dir / REF_KEY_FILE).exists():
        return RefKey.generate(), True
    return RefKey.load_or_create(state_dir / REF_KEY_FILE, create=False), False


def _guarded_diff(
    staging: Staging,
    roster: RosterResult,
    plans: PlanResult | None,
    max_rejected: Allowance,
    allow_removals: Allowance,
    *,
    exits: bool,
) -> Diff:
    """What this export changes, once the guards passed: too many rejected rows, an
    empty export or too many removals raise GuardError (nothing written)."""
    try:
        check_rejected("roster", roster.rejected, roster.rows, max_rejected)
        if plans is not None:
            check_rejected("plan", plans.rejected, plans.rows, max_rejected)
    except GuardError as exc:
        exc.rejected = (roster, plans)  # for the caller's problem table
        raise
    live = staging.live()
    check_not_empty(roster.rows, live, allow_removals, exits=exits)
    check_removals(staging.find_removals(keep_history=exits), live, allow_removals, exits=exits)
    reassigned = staging.find_assignments()
    counts = staging.counts()
    return Diff(
        new=counts["new"],
        changed=counts["changed"],
        removed=counts["removed"],
        unchanged=counts["unchanged"],
        reassigned=reassigned,
    )


def _header(
    agency_id: str, schema: LinkageSchema, secret: LinkageSecret, records: int
) -> EncodingsHeader:
    """The encodings file's header, with the canary that shows the hub which agencies
    encode under the same secret and schema."""
    canary = canary_digest(
        secret.secret, Encoder(schema, secret.secret).encode(feature_values(schema, CANARY))
    )
    return EncodingsHeader(
        agency_id=agency_id,
        epoch=secret.epoch,
        schema_fingerprint=schema.fingerprint,
        normalisation=NORMALISATION_VERSION,
        clk_bits=schema.bits,
        record_count=records,
        canary_digest=canary,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _run_counts(roster: RosterResult, diff: Diff) -> dict[str, int]:
    return {
        "rows": roster.rows,
        "accepted": roster.accepted,
        "rejected": roster.rejected,
        "new": diff.new,
        "changed": diff.changed,
        "removed": diff.removed,
        "unchanged": diff.unchanged,
    }


def _plan_diff(
    plans: PlanResult, ref_key: RefKey, state: NodeState, *, exited: set[str]
) -> tuple[list[tuple[str, str, bytes, str]], list[tuple[str, str]]]:
    """New and changed milestones, and the ones no longer exported (an exited client's
    plan counts as no longer exported: it leaves the hub with the exit)."""
    known = state.known_plans()
    current: dict[tuple[str, str], tuple[bytes, str]] = {}
    for row in plans.milestones:
        ref = ref_key.ref(row.record_id)
        if ref in exited:
            continue
        current[(ref, row.milestone_id)] = (
            row.content_hash(),
            json.dumps(row.fields, sort_keys=True),
        )
    changes = [
        (ref, mid, digest, payload)
        for (ref, mid), (digest, payload) in sorted(current.items())
        if (seen := known.get((ref, mid))) is None or seen[1] or seen[0] != digest
    ]
    removals = sorted(
        key for key, (_, removed) in known.items() if not removed and key not in current
    )
    return changes, removals


class _Features(Sequence[tuple[str, ...]]):
    """The records' feature values, built as the encoder takes each chunk (a list of them
    all would hold every value of every changed record at once)."""

    def __init__(self, schema: LinkageSchema, records: list[CleanRecord]) -> None:
        self._schema = schema
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> tuple[str, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[str, ...]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, ...] | list[tuple[str, ...]]:
        if isinstance(index, slice):
            return [feature_values(self._schema, r) for r in self._records[index]]
        return feature_values(self._schema, self._records[index])


JOB_CHUNK = 50_000  # rows validated, staged and encoded at a time


def _batches(items: Iterator[CleanRecord], size: int) -> Iterator[list[CleanRecord]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _stage_chunk(
    staging: Staging,
    pool: EncoderPool,
    schema: LinkageSchema,
    ref_key: RefKey,
    *,
    context: str,
    number: int,
    chunk: Sequence[CleanRecord],
) -> None:
    """Stage one chunk of accepted rows and encode those that are new or changed."""
    by_ref = {ref_key.ref(r.record_id): r for r in chunk}
    staging.add(
        number,
        [
            (
                r.line,
                ref,
                r.record_id,
                r.content_hash(),
                # An exited client has no case manager here any more: the hub drops
                # their contact (and plan) at once.
                "" if r.exited else r.case_manager_id,
                r.display_name,
                r.date_of_birth,
                r.enrolled_on,
                r.exited_on,
                r.household_id,
                r.household_role,
                int(r.member_only),
                household_payload(ref_key, r),
            )
            for ref, r in by_ref.items()
        ],
    )
    todo = staging.todo(number, context)
    clks = pool.encode(_Features(schema, [by_ref[ref] for ref, _ in todo]))
    staging.encoded([(clk, status, ref) for (ref, status), clk in zip(todo, clks, strict=True)])


def household_payload(ref_key: RefKey, record: CleanRecord) -> str:
    """What the hub is told of the record's household, as JSON: the household key as a
    keyed hash under the agency's own reference key (labelled, so it can never equal a
    record reference), the role, and `member_only` for a family member the agency does
    not serve. Empty for a record in no household."""
    if not record.household_id:
        return "{}"
    household = ref_key.mac(b"pprl-household/v1\n" + record.household_id.encode()).hex()
    fields: dict[str, object] = {"household": {"ref": household, "role": record.household_role}}
    if record.member_only:
        fields["member_only"] = True
    return json.dumps(fields, separators=(",", ":"))


def _renamed(
    progress: Callable[[str, int, int], None] | None, names: dict[str, str]
) -> Callable[[str, int, int], None] | None:
    if progress is None:
        return None
    report = progress
    return lambda step, done, total: report(names.get(step, step), done, total)


@dataclass
class _Popcount:
    """The mean share of set bits, counted as the encodings are written."""

    bits: int
    expected: int
    progress: Callable[[str, int, int], None] | None
    total: int = 0
    records: int = 0

    def counted(self, encodings: Iterator[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
        for ref, clk in encodings:
            self.total += int.from_bytes(clk, "big").bit_count()
            self.records += 1
            if self.progress and self.records % 10_000 == 0:
                self.progress("writing encodings", self.records, self.expected)
            yield ref, clk
        if self.progress:
            self.progress("writing encodings", self.records, self.expected)

    @property
    def mean(self) -> float:
        return self.total / self.records / self.bits if self.records else 0.0
