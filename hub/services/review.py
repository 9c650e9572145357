"""The review queue: links in the review band go to both agencies, whose stewards answer
same / different / unsure looking at their own record only (through their node). An
agency's own two records of one person in the band go to its steward alone, who sees
both and whose one answer decides.

An item is named by an opaque id (a hash of the pair), so neither agency learns the
other's reference. Two "same" answers confirm the link, which then counts as confident
for disclosure; a "different" from either side keeps it out. Answered pairs are the
labels of the operators' threshold table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Table, or_, select
from sqlmodel import Session, col

from hub.db import table_of
from hub.errors import NotFound
from hub.models import Link, ReviewAnswer

Answer = Literal["same", "different", "unsure"]
Pair = tuple[str, str, str, str]
_LINK: Table = table_of(Link)


def item_id(pair: Pair) -> str:
    """The opaque id both agencies see for one pair."""
    return hashlib.sha256("\x1f".join(("review", *pair)).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ReviewItem:
    """What one agency sees of a pair: its own record, the score, and the answers so far
    (its own, and whether the other side has answered, not what)."""

    item_id: str
    ref: str
    score: float
    my_answer: str | None
    other_answered: bool
    # For the agency's own two records of one person: the other one (both are its own).
    other_ref: str | None = None


def _pairs_for(session: Session, agency_id: str) -> list[Link]:
    return list(
        session.execute(
            select(Link)
            .where(
                _LINK.c.review.is_(True),
                or_(_LINK.c.agency_a == agency_id, _LINK.c.agency_b == agency_id),
            )
            .order_by(_LINK.c.score.desc())
        ).scalars()
    )


def _answers(session: Session, pairs: list[Pair]) -> dict[Pair, dict[str, str]]:
    """Each pair's answers by answering agency. Looked up per agency pair on the primary
    key's prefix (a row-value IN of several pairs would scan the table on SQLite)."""
    wanted = set(pairs)
    grouped: dict[tuple[str, str], list[str]] = {}
    for agency_a, ref_a, agency_b, _ in sorted(wanted):
        grouped.setdefault((agency_a, agency_b), []).append(ref_a)
    out: dict[Pair, dict[str, str]] = {}
    for (agency_a, agency_b), refs in grouped.items():
        for start in range(0, len(refs), 500):
            rows = session.execute(
                select(ReviewAnswer).where(
                    col(ReviewAnswer.agency_a) == agency_a,
                    col(ReviewAnswer.ref_a).in_(refs[start : start + 500]),
                    col(ReviewAnswer.agency_b) == agency_b,
                )
            ).scalars()
            for row in rows:
                key = (row.agency_a, row.ref_a, row.agency_b, row.ref_b)
                if key in wanted:
                    out.setdefault(key, {})[row.answering_agency] = row.answer
    return out


def queue_for(session: Session, agency_id: str) -> list[ReviewItem]:
    """The agency's review items, highest score first."""
    links = _pairs_for(session, agency_id)
    pairs: list[Pair] = [(x.agency_a, x.ref_a, x.agency_b, x.ref_b) for x in links]
    answers = _answers(session, pairs)
    items = []
    for link, pair in zip(links, pairs, strict=True):
        given = answers.get(pair, {})
        mine = link.ref_a if link.agency_a == agency_id else link.ref_b
        other = link.agency_b if link.agency_a == agency_id else link.agency_a
        own = link.agency_a == link.agency_b  # a duplicate: one answer decides
        items.append(
            ReviewItem(
                item_id(pair),
                mine,
                round(link.score, 4),
                given.get(agency_id),
                other in given,
                other_ref=link.ref_b if own else None,
            )
        )
    return items


def answer(session: Session, *, agency_id: str, item: str, value: Answer, staff: str) -> ReviewItem:
    """Record (or change) the agency's answer. An item of another agency, or one no
    longer in the review band, is not found."""
    for link in _pairs_for(session, agency_id):
        pair = (link.agency_a, link.ref_a, link.agency_b, link.ref_b)
        if item_id(pair) != item:
            continue
        row = session.get(ReviewAnswer, (*pair, agency_id))
        if row is None:
            row = ReviewAnswer(
                agency_a=pair[0],
                ref_a=pair[1],
                agency_b=pair[2],
                ref_b=pair[3],
                answering_agency=agency_id,
                answer=value,
                answered_by=staff,
                score=link.score,
                answered_at=datetime.now(UTC),
            )
        else:
            row.answer, row.answered_by, row.answered_at = value, staff, datetime.now(UTC)
        session.add(row)
        session.flush()
        return next(i for i in queue_for(session, agency_id) if i.item_id == item)
    raise NotFound()


def confirmed(session: Session, pairs: list[Pair]) -> set[Pair]:
    """The pairs both agencies answered "same"."""
    return {
        pair
        for pair, given in _answers(session, pairs).items()
        if given.get(pair[0]) == "same" and given.get(pair[2]) == "same"
    }


def labels(session: Session) -> list[tuple[float, bool]]:
    """(score, is a match) for every pair both agencies answered the same way."""
    rows = session.execute(select(ReviewAnswer)).scalars()
    by_pair: dict[Pair, dict[str, tuple[str, float]]] = {}
    for row in rows:
        by_pair.setdefault((row.agency_a, row.ref_a, row.agency_b, row.ref_b), {})[
            row.answering_agency
        ] = (row.answer, row.score)
    out = []
    for pair, given in by_pair.items():
        a, b = given.get(pair[0]), given.get(pair[2])
        if a and b and a[0] == b[0] and a[0] in ("same", "different"):
            out.append((a[1], a[0] == "same"))
    return out
