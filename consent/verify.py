"""Re-check a whole stored ledger: every leaf hash, the tree against every checkpoint,
every entry's signature and meaning, and every checkpoint's signature.

The first problem found, in index order, is raised as `LedgerTampered` naming the entry.
A consistent but older copy of the ledger (a restored backup) passes the ledger's own
checks; the agencies' witnesses catch that, since they have seen a larger checkpoint.
Given the checkpoints they witnessed, verification fails on a ledger that is shorter
than any of them or that differs from any of them (a second history).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from consent._internal.merkle import MerkleTree, leaf_hash
from consent.checkpoints import Checkpoint, LogVerifier, open_checkpoint
from consent.errors import CheckpointInvalid, EntryInvalid, EntryRejected, LedgerTampered
from consent.leaves import parse_leaf
from consent.state import ConsentState


@dataclass(frozen=True)
class LedgerReport:
    """What a successful verification covered."""

    size: int
    root: bytes
    checkpoints: int
    signatures_checked: int
    latest_checkpoint: Checkpoint | None


def verify_ledger(
    rows: Iterable[tuple[int, bytes, bytes]],
    checkpoint_notes: Iterable[str],
    verifier: LogVerifier,
    *,
    check_entries: bool = True,
    progress: Callable[[int], None] | None = None,
    witnessed: Iterable[str] = (),
) -> LedgerReport:
    """Verify `rows` of (index, leaf, stored leaf hash) in index order against the
    signed checkpoints. With `check_entries`, also parse every entry and re-check its
    signature and meaning by replay; without, check hashes and the tree only. The
    ledger must contain every `witnessed` checkpoint (signed notes an agency's witness
    accepted)."""
    trusted = [_open_witnessed(note, verifier) for note in witnessed]
    checkpoints = _open_all(checkpoint_notes, verifier)
    pending = sorted(checkpoints, key=lambda c: c.size)
    tree = MerkleTree()
    state = ConsentState(log_key=verifier.public_key) if check_entries else None
    last_good = 0
    for index, leaf, stored_hash in rows:
        expected = len(tree)
        if index != expected:
            what = (
                f"is missing (the next stored entry is {index})"
                if index > expected
                else f"is stored again or out of order (found index {index} after it)"
            )
            raise LedgerTampered(expected, what)
        computed = leaf_hash(leaf)
        if computed != stored_hash:
            raise LedgerTampered(index, "leaf bytes do not match the stored leaf hash")
        if state is not None:
            try:
                state.append(parse_leaf(leaf))
            except EntryInvalid as exc:
                raise LedgerTampered(index, f"not a well-formed entry ({exc})") from None
            except EntryRejected as exc:
                raise LedgerTampered(index, exc.what) from None
        tree.append_hash(computed)
        while pending and pending[0].size == len(tree):
            checkpoint = pending.pop(0)
            if tree.root() != checkpoint.root:
                raise LedgerTampered(
                    last_good,
                    f"entries {last_good}..{checkpoint.size - 1} differ from what the "
                    f"checkpoint at size {checkpoint.size} signed",
                )
            last_good = checkpoint.size
        if progress is not None and index % 10_000 == 0:
            progress(index)
    if pending:
        raise LedgerTampered(
            len(tree),
            f"a checkpoint at size {pending[0].size} was signed but the ledger holds only "
            f"{len(tree)} entries (truncated, or restored from an older backup)",
        )
    _contains_witnessed(tree, trusted)
    return LedgerReport(
        size=len(tree),
        root=tree.root(),
        checkpoints=len(checkpoints),
        signatures_checked=len(tree) if check_entries else 0,
        latest_checkpoint=max(checkpoints, key=lambda c: c.size) if checkpoints else None,
    )


def _contains_witnessed(tree: MerkleTree, witnessed: list[Checkpoint]) -> None:
    for checkpoint in sorted(witnessed, key=lambda c: c.size):
        if checkpoint.size > len(tree):
            raise LedgerTampered(
                len(tree),
                f"the ledger holds {len(tree)} entries but a witness saw it at size "
                f"{checkpoint.size}: it was truncated or restored from an older backup",
            )
        if tree.root(checkpoint.size) != checkpoint.root:
            raise LedgerTampered(
                0,
                f"the first {checkpoint.size} entries differ from the tree a witness saw at "
                "that size: this is a second history",
            )


def _open_witnessed(note: str, verifier: LogVerifier) -> Checkpoint:
    try:
        return open_checkpoint(note, verifier)
    except CheckpointInvalid as exc:
        raise CheckpointInvalid(f"the witnessed checkpoint does not open: {exc}") from None


def _open_all(notes: Iterable[str], verifier: LogVerifier) -> list[Checkpoint]:
    opened: dict[int, Checkpoint] = {}
    for note in notes:
        try:
            checkpoint = open_checkpoint(note, verifier)
        except CheckpointInvalid as exc:
            raise LedgerTampered(0, f"a stored checkpoint is invalid: {exc}") from None
        seen = opened.get(checkpoint.size)
        if seen is not None and seen.root != checkpoint.root:
            raise LedgerTampered(0, f"two signed checkpoints of size {checkpoint.size} differ")
        opened[checkpoint.size] = checkpoint
    return list(opened.values())
