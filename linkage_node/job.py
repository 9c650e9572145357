"""The nightly encoding job: validate, normalise, find what changed, encode, write.

Only new and changed records are encoded; unchanged ones reuse the CLK from the node's
state. The output file is written before the state is updated, both atomically, so a
run that dies anywhere can simply be run again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import overload

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keys import LinkageSecret
from linkage_node.encoder import Encoder, encode_all
from linkage_node.encodings_file import EncodingsHeader, write_encodings
from linkage_node.errors import check_writable
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
from linkage_node.refs import RefKey
from linkage_node.roster import Action, CleanRecord, ColumnMapping, RosterResult, validate_roster
from linkage_node.schema import LinkageSchema
from linkage_node.state import Diff, NodeState, RunRecord

STATE_FILE = "node-state.db"
REF_KEY_FILE = "record-ref.key"

# An agreed synthetic identity every node encodes on every run: the same secret and
# schema give the same CLK everywhere, which lets the hub spot a misconfigured node
# before any linkage runs.
CANARY = CleanRecord(
    line=0,
    record_id="pprl-canary",
    given_name="pprlcanary",
    family_name="consistencycheck",
    date_of_birth="1970-01-01",
    sex="f",
    ssn="",
    address="",
    city="",
    zip="",
    phone="",
    case_manager_id="",
)


def feature_values(schema: LinkageSchema, record: CleanRecord) -> tuple[str, ...]:
    """The record's values in the schema's feature order, as the encoder takes them."""
    dob = record.date_of_birth  # ISO YYYY-MM-DD, or empty
    year, month, day = dob[:4], dob[5:7], dob[8:10]
    ssn = record.ssn  # nine digits, or empty
    derived = {
        "dob_year": year,
        "dob_month": month,
        "dob_day": day,
        "dob_year_month": year + month,
        "dob_year_day": year + day,
        # The same for a day/month swap (03/04 and 04/03).
        "dob_year_monthday": year + "".join(sorted((month, day))),
        "ssn_head": ssn[:5],
        "ssn_tail": ssn[5:],
    }
    values = []
    for feature in schema.features:
        if feature in derived:
            values.append(derived[feature])
        elif feature == "date_of_birth":
            values.append(dob.replace("-", ""))
        else:
            values.append(getattr(record, feature))
    return tuple(values)


def canary_digest(secret: bytes, clk: bytes) -> bytes:
    """The keyed hash a node sends in place of the canary record's encoding: equal at
    every node with the same secret and schema, and no known plaintext for anyone else."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"pprl-hub canary digest v1"
    ).derive(secret)
    return hmac.new(key, clk, hashlib.sha256).digest()


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
    allow_removals: Allowance | None = None,
    max_rejected: Allowance | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> JobResult:
    """Run one encoding job; see the module notes. Raises `GuardError` (nothing written)
    for an empty export, more removals than `allow_removals` (default 10% of the known
    records) or more rejected rows than `max_rejected` (default 1%)."""
    started = time.perf_counter()
    check_writable(output, "--output")
    allow_removals = allow_removals or Allowance.parse(DEFAULT_REMOVALS, "--allow-removals")
    max_rejected = max_rejected or Allowance.parse(DEFAULT_REJECTED_ENCODE, "--max-rejected")
    roster = validate_roster(
        roster_path, mapping, policies, today=today, delimiter=delimiter, encoding=encoding,
        progress=progress,
    )  # fmt: skip
    plans = read_plans(plans_path) if plans_path is not None else None
    try:
        check_rejected("roster", roster.rejected, roster.rows, max_rejected)
        if plans is not None:
            check_rejected("plan", plans.rejected, plans.rows, max_rejected)
    except GuardError as exc:
        exc.rejected = (roster, plans)  # for the caller's problem table
        raise
    state = NodeState(state_dir / STATE_FILE, agency_id)
    try:
        ref_key = RefKey.load_or_create(state_dir / REF_KEY_FILE, create=state.fresh)
        context = f"{secret.epoch}|{schema.fingerprint}"
        known = state.known()
        live = sum(1 for k in known.values() if not k.removed)
        check_not_empty(roster.rows, live, allow_removals)
        refs = [ref_key.ref(r.record_id) for r in roster.records]
        todo = [
            i
            for i, (ref, record) in enumerate(zip(refs, roster.records, strict=True))
            if (k := known.get(ref)) is None
            or k.removed
            or k.context != context
            or k.content_hash != record.content_hash()
        ]
        if progress:
            progress("encoding", 0, len(todo))
        fresh = encode_all(
            schema,
            secret.secret,
            _Features(schema, [roster.records[i] for i in todo]),
            workers=workers,
            progress=(lambda n: progress("encoding", n, len(todo))) if progress else None,
        )
        clks = {refs[i]: clk for i, clk in zip(todo, fresh, strict=True)}
        new = [refs[i] for i in todo if refs[i] not in known or known[refs[i]].removed]
        changed = [refs[i] for i in todo if refs[i] in known and not known[refs[i]].removed]
        present = set(refs) | {ref_key.ref(r) for r in roster.rejected_record_ids}
        removed = sorted(ref for ref, k in known.items() if not k.removed and ref not in present)
        check_removals(len(removed), live, allow_removals)
        by_ref = dict(zip(refs, roster.records, strict=True))
        # A case manager change travels even when the identifying fields did not change.
        assignments = [
            (ref, record.case_manager_id)
            for ref, record in by_ref.items()
            if (k := known.get(ref)) is None
            or k.removed
            or k.case_manager_id != record.case_manager_id
        ]
        assignments = [
            (ref, cm)
            for ref, cm in assignments
            if cm or (ref in known and known[ref].case_manager_id)
        ]
        assignments += [(ref, "") for ref in removed if known[ref].case_manager_id]
        reassigned = sum(1 for ref, _ in assignments if ref not in clks and ref not in removed)
        diff = Diff(
            new=new,
            changed=changed,
            removed=removed,
            unchanged=len(refs) - len(todo),
            reassigned=reassigned,
        )

        plan_changes, plan_removals = _plan_diff(plans, ref_key, state) if plans else ([], [])
        out_records = [(ref, clks.get(ref) or known[ref].clk) for ref in refs]
        canary = canary_digest(
            secret.secret, Encoder(schema, secret.secret).encode(feature_values(schema, CANARY))
        )
        header = EncodingsHeader(
            agency_id=agency_id,
            epoch=secret.epoch,
            schema_fingerprint=schema.fingerprint,
            normalisation=NORMALISATION_VERSION,
            clk_bits=schema.bits,
            record_count=len(out_records),
            canary_digest=canary,
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        write_encodings(output, header, out_records)
        run = RunRecord(
            epoch=secret.epoch,
            schema_fingerprint=schema.fingerprint,
            canary=canary,
            counts={
                "rows": roster.rows,
                "accepted": roster.accepted,
                "rejected": roster.rejected,
                "new": len(diff.new),
                "changed": len(diff.changed),
                "removed": len(diff.removed),
                "unchanged": diff.unchanged,
            },
            upserts=[
                (
                    ref,
                    by_ref[ref].record_id,
                    by_ref[ref].content_hash(),
                    clk,
                    by_ref[ref].case_manager_id,
                )
                for ref, clk in clks.items()
            ],
            removed=removed,
            assignments=assignments,
            plans=plan_changes,
            plan_removals=plan_removals,
        )
        run_id = _save_state(state, by_ref, run, progress)
    finally:
        state.close()
    popcounts = [int.from_bytes(clk, "big").bit_count() for _, clk in out_records]
    mean = sum(popcounts) / len(popcounts) / schema.bits if popcounts else 0.0
    return JobResult(
        roster, diff, header, run_id, len(todo), mean, time.perf_counter() - started, plans,
        len(plan_changes), len(plan_removals),
    )  # fmt: skip


def _plan_diff(
    plans: PlanResult, ref_key: RefKey, state: NodeState
) -> tuple[list[tuple[str, str, bytes, str]], list[tuple[str, str]]]:
    """New and changed milestones, and the ones no longer exported."""
    known = state.known_plans()
    current: dict[tuple[str, str], tuple[bytes, str]] = {}
    for row in plans.milestones:
        current[(ref_key.ref(row.record_id), row.milestone_id)] = (
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


def _save_state(
    state: NodeState,
    by_ref: dict[str, CleanRecord],
    run: RunRecord,
    progress: Callable[[str, int, int], None] | None,
) -> int:
    """The client directory (names for the pages) and the run (the sync's outbox)."""
    directory = [
        (ref, record.record_id, record.display_name, record.date_of_birth,
         record.case_manager_id)
        for ref, record in by_ref.items()
    ]  # fmt: skip
    saving = _Steps(progress, "saving state", len(directory) + run.size)
    state.save_directory(directory, tick=saving.tick)
    return state.record_run(run, tick=saving.tick)


@dataclass
class _Steps:
    """Counts rows written across several calls into one progress step."""

    progress: Callable[[str, int, int], None] | None
    step: str
    total: int
    done: int = 0

    def tick(self, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            self.progress(self.step, self.done, self.total)


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
