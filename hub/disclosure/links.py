"""Which records may be disclosed as the same person: the confident part of a cluster.

A linked record is considered only when the link is confident: every link on the way to
it is at or above the disclosure floor (`hub.services.policy`) and outside the review
band, or was confirmed in review by both agencies' stewards. Each record reached carries
its `LinkPath`, which the ACCESS entry names as the link it relied on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from hub.db import refs_by_agency
from hub.models import Encoding, Link, LinkageRun, RecordCluster
from hub.services import review

# A weakest link this strong is shown as a high-confidence match.
HIGH_CONFIDENCE = 0.9

Record = tuple[str, str]  # (agency id, the agency's pseudonymous reference)


@dataclass(frozen=True)
class LinkPath:
    """How a record is reached from the asker's: the weakest link score on the way, the
    run that made that link and its threshold, and whether review confirmed any link."""

    score: float
    confirmed_in_review: bool
    run_id: int
    threshold: float

    @property
    def confidence(self) -> str:
        """What the case manager is shown about how sure the match is."""
        if self.confirmed_in_review:
            return "confirmed_in_review"
        return "high" if self.score >= HIGH_CONFIDENCE else "moderate"


def confident_members(
    start: Record,
    links: list[Link],
    *,
    confirmed: set[tuple[str, str, str, str]],
    floor: float,
    thresholds: dict[int, float],
) -> dict[Record, LinkPath]:
    """Records reachable from `start` over links that may be disclosed, each with its
    `LinkPath` (the weakest link on the best way there). A link in the review band, or
    under the disclosure floor, counts only once both agencies confirmed it."""
    graph: dict[Record, list[tuple[Record, Link, bool]]] = defaultdict(list)
    for link in links:
        a, b = (link.agency_a, link.ref_a), (link.agency_b, link.ref_b)
        reviewed = (link.agency_a, link.ref_a, link.agency_b, link.ref_b) in confirmed
        if (link.review or link.score < floor) and not reviewed:
            continue
        graph[a].append((b, link, reviewed))
        graph[b].append((a, link, reviewed))
    best: dict[Record, LinkPath] = {start: LinkPath(1.0, False, 0, 0.0)}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        here = best[node]
        for other, link, link_reviewed in graph[node]:
            # The first link on the way always counts (the start has no run of its own).
            weakest = link.score < here.score or here.run_id == 0
            candidate = LinkPath(
                min(here.score, link.score),
                here.confirmed_in_review or link_reviewed,
                link.run_id if weakest else here.run_id,
                thresholds.get(link.run_id, 0.0) if weakest else here.threshold,
            )
            if other not in best or candidate.score > best[other].score:
                best[other] = candidate
                frontier.append(other)
    del best[start]
    return best


def linked_records(
    session: Session, agency_id: str, ref: str, *, floor: float
) -> dict[Record, LinkPath]:
    """The other agencies' records that may be disclosed as the same person as `ref`."""
    placed = session.get(RecordCluster, (agency_id, ref))
    if placed is None:
        return {}
    links = list(
        session.execute(select(Link).where(col(Link.cluster_id) == placed.cluster_id))
        .scalars()
        .all()
    )
    # A link in the review band counts once both agencies' stewards said "same".
    pending = [(x.agency_a, x.ref_a, x.agency_b, x.ref_b) for x in links if x.review]
    confirmed = review.confirmed(session, pending) if pending else set()
    thresholds = {
        int(run_id): float(threshold or 0.0)
        for run_id, threshold in session.execute(
            select(col(LinkageRun.run_id), col(LinkageRun.threshold)).where(
                col(LinkageRun.run_id).in_({link.run_id for link in links})
            )
        )
    }
    members = confident_members(
        (agency_id, ref), links, confirmed=confirmed, floor=floor, thresholds=thresholds
    )
    # Never disclose the caller's own agency's others, nor a family member an agency
    # listed without serving them (they are linked only so their programs can be found).
    others = {key: value for key, value in members.items() if key[0] != agency_id}
    for key in member_only(session, list(others)):
        del others[key]
    return others


def member_only(session: Session, records: list[Record]) -> set[Record]:
    """Which of `records` are family members their agency does not serve."""
    out: set[Record] = set()
    for agency, refs in refs_by_agency(records):
        out.update(
            (agency, str(r))
            for r in session.execute(
                select(col(Encoding.ref)).where(
                    col(Encoding.agency_id) == agency,
                    col(Encoding.ref).in_(refs),
                    col(Encoding.member_only),
                )
            ).scalars()
        )
    return out


def enrollment_dates(
    session: Session, records: list[Record]
) -> dict[Record, tuple[date | None, date | None]]:
    """Each record's (enrolled on, exited on), as its agency last sent them."""
    out: dict[Record, tuple[date | None, date | None]] = {}
    for agency, refs in refs_by_agency(records):
        rows = session.execute(
            select(col(Encoding.ref), col(Encoding.enrolled_on), col(Encoding.exited_on)).where(
                col(Encoding.agency_id) == agency, col(Encoding.ref).in_(refs)
            )
        )
        out.update({(agency, r): (enrolled, exited) for r, enrolled, exited in rows})
    return out
