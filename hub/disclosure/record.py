"""Disclosures on the ledger: one ACCESS entry per basis a disclosure relied on, and not
one per page view.

A case manager who opens the same client again within the window
(`PPRL_ACCESS_DEDUP_SECONDS`), and is shown the same thing on the same basis from the same
link, is covered by the entry that recorded the first view; anything different is a new
entry. That keeps the ledger an account of disclosures, not a log of clicks a busy or
hostile caller could flood (each question also counts against the caller's rate limit,
`hub.services.ratelimit`). A caseload's "shared" flags are recorded once per distinct
disclosure, however often the page is opened.

Every entry carries a random `access_id`, so two disclosures alike in every other way
are still two distinct leaves.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session

from consent import AccessStatement, EntryRef, LinkEvidence, LookupEvidence, basis_points
from hub.disclosure.levels import Disclosure, LinkedProgram
from hub.models import ExistenceDisclosure, RecentDisclosure
from hub.services.ledger import HubLedger

# Why a question about a record was asked when not by its own case manager.
Purpose = Literal["supervision", "family"]


def access_statement(
    entry: LinkedProgram,
    levels: list[Disclosure],
    *,
    staff: str,
    requester_record: str,
    checkpoint_size: int,
    purpose: Purpose | None = None,
) -> AccessStatement:
    """The ACCESS statement for `levels` of `entry`, all shown on one basis (`purpose`
    `supervision`: asked by a supervisor about a client of their team)."""
    basis = levels[0]
    grant = None
    if basis.grant_index is not None and basis.grant_leaf_hash is not None:
        grant = EntryRef(index=basis.grant_index, leaf_hash=basis.grant_leaf_hash.hex())
    return AccessStatement(
        access_id=str(uuid.uuid4()),
        basis="consent" if basis.basis == "consent" else "agreement",
        grant=grant,
        disclosing_program=entry.program,
        subject=entry.ref,
        requester_program=basis.requester_program or "",
        requester_staff=staff,
        requester_record=requester_record,
        data_classes=[level.data_class for level in levels],
        checkpoint_size=checkpoint_size,
        purpose=purpose,
        link=LinkEvidence(
            run_id=entry.path.run_id,
            threshold_bp=basis_points(entry.path.threshold),
            score_bp=basis_points(entry.path.score),
            confirmed_in_review=entry.path.confirmed_in_review,
        ),
    )


def record_intake(
    ledger: HubLedger,
    session: Session,
    entry: LinkedProgram,
    *,
    staff: str,
    at: datetime,
    checkpoint_size: int,
) -> None:
    """The ACCESS entry of one program named to an intake worker: purpose `intake`, the
    lookup's score, and no record of the asker (there is none yet). Every question is
    recorded; the rate limit, not deduplication, keeps their number human."""
    level = entry.levels["existence"]
    grant = None
    if level.grant_index is not None and level.grant_leaf_hash is not None:
        grant = EntryRef(index=level.grant_index, leaf_hash=level.grant_leaf_hash.hex())
    statement = AccessStatement(
        access_id=str(uuid.uuid4()),
        purpose="intake",
        basis="consent" if level.basis == "consent" else "agreement",
        grant=grant,
        disclosing_program=entry.program,
        subject=entry.ref,
        requester_program=level.requester_program or "",
        requester_staff=staff,
        data_classes=["existence"],
        checkpoint_size=checkpoint_size,
        lookup=LookupEvidence(score_bp=basis_points(entry.path.score)),
    )
    level.access_entry, _ = ledger.append_hub_entry(session, statement.fields(), now=at)


def record_access(
    ledger: HubLedger,
    session: Session,
    entry: LinkedProgram,
    *,
    staff: str,
    requester_record: str,
    at: datetime,
    checkpoint_size: int,
    window: float,
    purpose: Purpose | None = None,
) -> None:
    """One ACCESS entry per basis relied on (the agreement, or each grant), unless the
    same disclosure was recorded within `window` seconds; each level learns its entry."""
    groups: dict[tuple[str | None, int | None, str | None], list[Disclosure]] = defaultdict(list)
    for level in entry.allowed():
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
            statement = access_statement(
                entry,
                levels,
                staff=staff,
                requester_record=requester_record,
                checkpoint_size=checkpoint_size,
                purpose=purpose,
            )
            index, _ = ledger.append_hub_entry(session, statement.fields(), now=at)
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


def existence_key(
    agency_id: str, staff: str, ref: str, entry: LinkedProgram
) -> tuple[str, str, str, str, str, str, int]:
    """What makes an existence disclosure distinct: who was told, about which of their
    records, which other program's record, and on which basis."""
    level = entry.levels["existence"]
    return (
        agency_id,
        staff,
        ref,
        entry.program,
        entry.ref,
        level.basis or "",
        -1 if level.grant_index is None else level.grant_index,
    )


def first_shown(
    session: Session, agency_id: str, staff: str, shown: list[tuple[str, LinkedProgram]]
) -> list[tuple[str, LinkedProgram]]:
    """The existence disclosures in `shown` never recorded before."""
    return [
        (ref, entry)
        for ref, entry in shown
        if session.get(ExistenceDisclosure, existence_key(agency_id, staff, ref, entry)) is None
    ]


def record_existence(
    ledger: HubLedger,
    session: Session,
    *,
    agency_id: str,
    staff: str,
    fresh: list[tuple[str, LinkedProgram]],
    at: datetime,
    checkpoint_size: int,
    purpose: Purpose | None = None,
) -> None:
    """One ACCESS entry for each first-shown existence disclosure, and its marker."""
    for ref, entry in fresh:
        level = entry.levels["existence"]
        statement = access_statement(
            entry,
            [level],
            staff=staff,
            requester_record=ref,
            checkpoint_size=checkpoint_size,
            purpose=purpose,
        )
        index, _ = ledger.append_hub_entry(session, statement.fields(), now=at)
        key = existence_key(agency_id, staff, ref, entry)
        session.add(
            ExistenceDisclosure(
                agency_id=key[0],
                staff_id=key[1],
                ref=key[2],
                disclosing_program=key[3],
                subject=key[4],
                basis=key[5],
                grant_index=key[6],
                access_entry=index,
                disclosed_at=at,
            )
        )
        level.access_entry = index
