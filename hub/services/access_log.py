"""Disclosures on the ledger: one ACCESS entry per basis a disclosure relied on, and not
one per page view. A case manager who opens the same client again within the window
(`PPRL_ACCESS_DEDUP_SECONDS`), and is shown the same thing on the same basis from the same
link, is covered by the entry that recorded the first view; anything different is a new
entry. That keeps the ledger an account of disclosures, not a log of clicks a busy or
hostile caller could flood (each question also counts against the caller's rate limit,
`hub.services.ratelimit`).

Every entry carries a random `access_id`, so two disclosures alike in every other way
are still two distinct leaves.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from consent import basis_points
from hub.models import RecentDisclosure
from hub.services.ledger import HubLedger

if TYPE_CHECKING:
    from hub.services.sharing import Disclosure, LinkedProgram


def access_statement(
    entry: LinkedProgram,
    levels: list[Disclosure],
    *,
    staff: str,
    requester_record: str,
    checkpoint_size: int,
) -> dict[str, Any]:
    """The ACCESS entry's fields for `levels` of `entry`, all shown on one basis."""
    basis = levels[0]
    fields: dict[str, Any] = {
        "type": "ACCESS",
        "access_id": str(uuid.uuid4()),
        "basis": basis.basis,
        "disclosing_program": entry.program,
        "subject": entry.ref,
        "requester_program": basis.requester_program,
        "requester_staff": staff,
        "requester_record": requester_record,
        "data_classes": [level.data_class for level in levels],
        "checkpoint_size": checkpoint_size,
        "link": {
            "run_id": entry.path.run_id,
            "threshold_bp": basis_points(entry.path.threshold),
            "score_bp": basis_points(entry.path.score),
            "confirmed_in_review": entry.path.confirmed_in_review,
        },
    }
    if basis.grant_index is not None:
        fields["grant"] = {"index": basis.grant_index, "leaf_hash": basis.grant_leaf_hash}
    return fields


def record_access(
    ledger: HubLedger,
    session: Session,
    entry: LinkedProgram,
    *,
    staff: str,
    requester_record: str,
    at: datetime,
    checkpoint: tuple[int, str] | None,
    window: float,
) -> None:
    """One ACCESS entry per basis relied on (the agreement, or each grant), unless the
    same disclosure was recorded within `window` seconds; each level learns its entry."""
    assert checkpoint is not None  # noqa: S101  (there is one whenever anything is shown)
    groups: dict[tuple[str | None, int | None, str | None], list[Disclosure]] = defaultdict(list)
    for level in entry.levels.values():
        if level.allowed:
            groups[(level.basis, level.grant_index, level.requester_program)].append(level)
    for (basis, grant, _), levels in groups.items():
        key = (
            staff,
            requester_record,
            entry.program,
            entry.ref,
            basis or "",
            -1 if grant is None else grant,
            ",".join(level.data_class for level in levels),
            entry.path.run_id,
        )
        seen = session.get(RecentDisclosure, key)
        if seen is not None and at - seen.disclosed_at < timedelta(seconds=window):
            index = seen.access_entry
        else:
            fields = access_statement(
                entry,
                levels,
                staff=staff,
                requester_record=requester_record,
                checkpoint_size=checkpoint[0],
            )
            index, _ = ledger.append_hub_entry(session, fields, now=at)
            row = seen or RecentDisclosure(
                staff_id=key[0],
                ref=key[1],
                disclosing_program=key[2],
                subject=key[3],
                basis=key[4],
                grant_index=key[5],
                data_classes=key[6],
                run_id=key[7],
                access_entry=index,
                disclosed_at=at,
            )
            row.access_entry, row.disclosed_at = index, at
            session.add(row)
        for level in levels:
            level.access_entry = index
