"""An agency's own view of the ledger: what each node checks for itself.

A node witnesses the log: it keeps the newest checkpoint it accepted and takes a newer
one only with a consistency proof, so a rolled-back or forked history raises an alarm.
It also monitors the log: it reads every entry after the last one it saw (the entries
it is a party to in full, the others as signed withheld-entry notes), checks that their
leaf hashes add up to the signed root, and replays what it read into a partial consent
state. From that state alone it decides whether a grant the hub cites really allows
the disclosure: the cited leaf is a grant by the disclosing program, about that record,
naming the asking program and the data class, in force at the time, and not revoked or
superseded anywhere in the history the node witnessed.

`LedgerView` holds no I/O: the node fetches, persists and alarms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent._internal.merkle import Frontier, ProofError, leaf_hash, verify_inclusion
from consent.checkpoints import Checkpoint, LogVerifier, extension_problem, open_checkpoint
from consent.decision import grant_allows
from consent.entries import Access
from consent.errors import EntryInvalid, EntryRejected, ProofInvalid, WitnessAlarm
from consent.fields import DataClass
from consent.leaves import parse_leaf
from consent.state import ConsentState
from consent.visibility import open_withheld
from keys import canonical


@dataclass(frozen=True)
class ViewItem:
    """What a view keeps of one entry to rebuild its state: the leaf of an entry that
    changes consent state (KEY, GRANT, SUPERSEDE, REVOKE), or the grant a withheld entry
    ended. Entries that change nothing (ACCESS, withheld grants) are not kept."""

    index: int
    leaf: bytes | None = None
    ends: int | None = None
    because: str | None = None


class LedgerView:
    """One agency's witnessed, monitored view of the ledger."""

    def __init__(
        self,
        verifier: LogVerifier,
        *,
        frontier: Frontier | None = None,
        witnessed: str | None = None,
    ) -> None:
        self.verifier = verifier
        self.frontier = frontier or Frontier()
        self.state = ConsentState(log_key=verifier.public_key, partial=True)
        self.witnessed_note = witnessed
        self.witnessed = open_checkpoint(witnessed, verifier) if witnessed else None

    @property
    def size(self) -> int:
        """How many entries the view has read (its frontier's size)."""
        return self.frontier.size

    @classmethod
    def restore(
        cls,
        verifier: LogVerifier,
        items: Iterable[ViewItem],
        frontier: Frontier,
        witnessed: str | None,
    ) -> LedgerView:
        """Rebuild a view from what `accept` returned earlier (in index order)."""
        view = cls(verifier, frontier=Frontier(), witnessed=witnessed)
        for item in items:
            view.state.pass_over(item.index)  # the entries between changed nothing
            if item.leaf is not None:
                view.state.append(parse_leaf(item.leaf))
            else:
                view.state.skip(item.index, ends=item.ends, because=item.because or "revoked")
        view.state.pass_over(frontier.size)
        view.frontier = frontier
        return view

    # --- witnessing ---------------------------------------------------------------------

    def observe(self, note: str, consistency_proof: Sequence[bytes]) -> Checkpoint:
        """Check a checkpoint the hub showed against the witnessed one (the proof goes
        from the smaller to the larger size); a larger one becomes the witnessed one.
        Raises WitnessAlarm (with `kind`) on a rollback or a second history."""
        new = open_checkpoint(note, self.verifier)
        old = self.witnessed
        if old is None:
            self.witnessed, self.witnessed_note = new, note
            return new
        if new.size < old.size:
            # An older checkpoint is fine if the witnessed tree is proven to extend it
            # (an answer may cite one); a hub rolled back cannot prove that.
            if extension_problem(new, old, list(consistency_proof)) is not None:
                raise WitnessAlarm(
                    f"rollback: the hub showed size {new.size} after size {old.size} and "
                    "cannot prove the larger tree contains it",
                    None,
                    kind="rollback",
                )
            return new
        problem = extension_problem(old, new, list(consistency_proof))
        if problem is not None:
            raise WitnessAlarm(problem[1], None, kind="fork")
        if new.size > old.size:
            self.witnessed, self.witnessed_note = new, note
        return new

    # --- monitoring ---------------------------------------------------------------------

    def accept(self, item: Mapping[str, Any]) -> ViewItem | None:
        """Read the next entry as `/v1/ledger/entries` gives it: `{"index", "leaf"}` for an
        entry this agency is a party to, `{"index", "withheld": note}` for the others.
        Returns what to keep (None: nothing to keep). Raises WitnessAlarm when the entry
        is not a valid next entry of the log."""
        index = item.get("index")
        if index != self.size:
            raise WitnessAlarm(
                f"the hub sent entry {index} where {self.size} was due", None, kind="tampered"
            )
        if item.get("leaf") is not None:
            return self._accept_leaf(index, item["leaf"])
        try:
            note = open_withheld(item.get("withheld") or {}, self.verifier)
        except ProofInvalid as exc:
            raise WitnessAlarm(f"entry {index}: {exc}", None, kind="tampered") from None
        if note.index != index:
            raise WitnessAlarm(
                f"entry {index}: the withheld note is for another entry", None, kind="tampered"
            )
        self.state.skip(index, ends=note.ends, because=note.because)
        self.frontier.append_hash(note.leaf_hash)
        if note.ends is None:
            return None
        return ViewItem(index, ends=note.ends, because=note.because)

    def _accept_leaf(self, index: int, encoded: str) -> ViewItem | None:
        try:
            leaf = canonical.b64decode(encoded)
            signed = parse_leaf(leaf)
            self.state.append(signed)
        except (canonical.EncodingError, EntryInvalid, EntryRejected) as exc:
            raise WitnessAlarm(
                f"entry {index} does not replay: {exc}", None, kind="tampered"
            ) from None
        self.frontier.append_hash(signed.leaf_hash)
        return None if isinstance(signed.entry, Access) else ViewItem(index, leaf=leaf)

    def reconcile(self, checkpoint: Checkpoint) -> None:
        """Check that the entries read so far are exactly the tree `checkpoint` signed."""
        if self.size != checkpoint.size or self.frontier.root() != checkpoint.root:
            raise WitnessAlarm(
                f"the entries the hub showed do not make up its signed tree of size "
                f"{checkpoint.size}",
                None,
                kind="fork",
            )

    # --- answers ------------------------------------------------------------------------

    def check_grant(
        self,
        *,
        index: int,
        leaf: bytes,
        inclusion_proof: Sequence[bytes],
        checkpoint: Checkpoint,
        requester_programs: Sequence[str],
        target_agency: str,
        target_program: str,
        target_record: str,
        data_class: DataClass,
        at: datetime,
    ) -> str | None:
        """Why the grant an answer cites does not prove the disclosure, or None when it
        does. The view must already have read up to `checkpoint`."""
        hashed = leaf_hash(leaf)
        try:
            verify_inclusion(index, checkpoint.size, hashed, list(inclusion_proof), checkpoint.root)
        except ProofError as exc:
            return f"the cited entry {index} is not proven to be in the ledger ({exc})"
        known = self.state.grants.get(index)
        if known is None or known.leaf_hash != hashed:
            return f"entry {index} is not a grant this agency was shown in the ledger"
        if self.state.program_owner.get(target_program) != target_agency:
            return f"{target_program} is not a program of {target_agency}"
        reasons = [
            grant_allows(
                self.state,
                index,
                requester_program=program,
                target_program=target_program,
                target_record=target_record,
                data_class=data_class,
                at=at,
            )
            for program in requester_programs
        ]
        if any(reason is None for reason in reasons):
            return None
        return reasons[0] if reasons else "this agency runs no program"
