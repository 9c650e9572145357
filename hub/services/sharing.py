""" "Is this client shared?": what a case manager may learn about the other programs
that serve the same person, decided level by level by `consent.disclosure_decision`.

The levels are existence (which programs), `contact` (their assigned case manager and
how to reach them) and `plan` (their milestones). A linked record is considered only
when the link is confident: every link on the way to it is at or above the disclosure
threshold and the disclosure floor (`hub.services.policy`), or was confirmed in review.
Other programs whose existence may not be disclosed are simply absent, so the answer
never hints at them. Each ACCESS entry names the link it relied on (run, threshold,
weakest score, review). Every disclosure is
appended to the ledger as one ACCESS entry per basis it relied on, in the same
transaction as the answer, and the answer carries the checkpoint and inclusion proof of
each grant used.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from consent import Decision, attach_proof, disclosure_decision
from consent.entries import DataClass
from hub.context import HubContext
from hub.errors import Unavailable
from hub.models import Assignment, Link, LinkageRun, Milestone, RecordCluster
from hub.services import access_log, policy, review
from hub.services.ledger import HubLedger, latest_checkpoint, stored_leaf
from hub.services.plans import PlanItem, find_conflicts, priority_order
from hub.services.registry import programs_by_agency
from hub.services.uploads import contact_context, milestone_context
from keys import canonical

_LEVELS: tuple[DataClass, ...] = ("existence", "contact", "plan")


@dataclass
class Disclosure:
    """One level of one linked record: allowed or not, why, and the proof relied on."""

    data_class: DataClass
    allowed: bool
    reason: str
    basis: str | None = None
    requester_program: str | None = None
    grant_index: int | None = None
    grant_leaf_hash: str | None = None
    grant_leaf: str | None = None
    inclusion_proof: list[str] | None = None
    access_entry: int | None = None
    why: str | None = None  # withheld: a code for the asking page (consent.Decision.why)
    why_at: str | None = None


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


# A weakest link this strong is shown as a high-confidence match.
HIGH_CONFIDENCE = 0.9


@dataclass
class LinkedProgram:
    """Another program's record of the same client, with what may be shown of it."""

    agency_id: str
    program: str
    ref: str
    path: LinkPath
    levels: dict[str, Disclosure] = field(default_factory=dict)
    case_manager_id: str | None = None
    contact: dict[str, Any] | None = None
    plan: list[PlanItem] | None = None


@dataclass
class SharedAnswer:
    """The answer to one case manager's question about one of their clients."""

    agency_id: str
    ref: str
    decided_at: datetime
    programs: list[LinkedProgram]
    own_plan: list[PlanItem]
    checkpoint: str | None
    checkpoint_size: int | None

    @property
    def shared(self) -> bool:
        """Whether any other program may be named to this caller."""
        return bool(self.programs)


def confident_members(
    start: tuple[str, str],
    links: list[Link],
    *,
    confirmed: set[tuple[str, str, str, str]],
    floor: float,
    thresholds: dict[int, float],
) -> dict[tuple[str, str], LinkPath]:
    """Records reachable from `start` over links that may be disclosed, each with its
    `LinkPath` (the weakest link on the best way there). A link in the review band, or
    under the disclosure floor, counts only once both agencies confirmed it."""
    graph: dict[tuple[str, str], list[tuple[tuple[str, str], Link, bool]]] = defaultdict(list)
    for link in links:
        a, b = (link.agency_a, link.ref_a), (link.agency_b, link.ref_b)
        reviewed = (link.agency_a, link.ref_a, link.agency_b, link.ref_b) in confirmed
        if (link.review or link.score < floor) and not reviewed:
            continue
        graph[a].append((b, link, reviewed))
        graph[b].append((a, link, reviewed))
    best: dict[tuple[str, str], LinkPath] = {start: LinkPath(1.0, False, 0, 0.0)}
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


def shared_answer(
    hub: HubContext,
    session: Session,
    *,
    agency_id: str,
    ref: str,
    staff: str,
    now: datetime | None = None,
) -> SharedAnswer:
    """Decide, record and prove what `staff` of `agency_id` may learn about the other
    programs linked to their record `ref`. The caller has been authorized; the caller
    commits (the ACCESS entries and the answer stand or fall together)."""
    ledger = hub.ledger
    if ledger is None or hub.cipher is None:
        raise Unavailable("this hub has no ledger key or data key configured")
    at = now or datetime.now(UTC)
    settings = hub.settings
    programs = programs_by_agency(session)
    mine = programs.get(agency_id, [])
    linked = linked_records(session, agency_id, ref, floor=policy.floor_of(settings))

    ledger.sync_as_writer(session)  # decided on committed consent; ACCESS entries follow
    policy.ensure_recorded(ledger, session, settings)
    answer_programs = linked_programs(
        ledger,
        linked,
        programs,
        mine,
        levels=_LEVELS,
        at=at,
        existence_by_agreement=settings.existence_policy == "agreement",
    )
    checkpoint = checkpoint_covering(ledger, session, answer_programs)
    for entry in answer_programs:
        _load_details(hub, session, entry)
        access_log.record_access(
            ledger,
            session,
            entry,
            staff=staff,
            requester_record=ref,
            at=at,
            checkpoint=checkpoint,
            window=settings.access_dedup_seconds,
        )
    own = _plan_items(hub, session, agency_id, ref, program=", ".join(mine) or agency_id)
    return SharedAnswer(
        agency_id=agency_id,
        ref=ref,
        decided_at=at,
        programs=sorted(answer_programs, key=lambda p: (p.program, p.ref)),
        own_plan=own,
        checkpoint=checkpoint[1] if checkpoint else None,
        checkpoint_size=checkpoint[0] if checkpoint else None,
    )


def combined_plan(
    answer: SharedAnswer, *, today: date, deadline_window_days: int, stuck_after_days: int
) -> tuple[list[PlanItem], list[Any]]:
    """Every milestone the caller may see, in priority order, and the conflicts."""
    items = list(answer.own_plan)
    for entry in answer.programs:
        items.extend(entry.plan or [])
    ordered = priority_order(items)
    conflicts = find_conflicts(
        ordered,
        today=today,
        deadline_window_days=deadline_window_days,
        stuck_after_days=stuck_after_days,
    )
    return ordered, conflicts


# --- internals --------------------------------------------------------------------------


def linked_records(
    session: Session, agency_id: str, ref: str, *, floor: float
) -> dict[tuple[str, str], LinkPath]:
    """The other agencies' records that may be disclosed as the same person as `ref`."""
    placed = session.get(RecordCluster, (agency_id, ref))
    if placed is None:
        return {}
    links = list(
        session.execute(select(Link).where(col(Link.cluster_id) == placed.cluster_id))
        .scalars()
        .all()
    )
    confirmed = _confirmed_links(session, links)
    runs = {link.run_id for link in links}
    thresholds = {
        int(run_id): float(threshold or 0.0)
        for run_id, threshold in session.execute(
            select(col(LinkageRun.run_id), col(LinkageRun.threshold)).where(
                col(LinkageRun.run_id).in_(runs)
            )
        )
    }
    members = confident_members(
        (agency_id, ref), links, confirmed=confirmed, floor=floor, thresholds=thresholds
    )
    # One record per agency per cluster; never disclose the caller's own agency's others.
    return {key: value for key, value in members.items() if key[0] != agency_id}


def _confirmed_links(session: Session, links: list[Link]) -> set[tuple[str, str, str, str]]:
    # A link in the review band counts once both agencies' stewards said "same".
    pending = [(x.agency_a, x.ref_a, x.agency_b, x.ref_b) for x in links if x.review]
    return review.confirmed(session, pending) if pending else set()


def linked_programs(
    ledger: HubLedger,
    linked: dict[tuple[str, str], LinkPath],
    programs: dict[str, list[str]],
    requester_programs: list[str],
    *,
    levels: tuple[DataClass, ...],
    at: datetime,
    existence_by_agreement: bool,
) -> list[LinkedProgram]:
    """The programs of the `linked` records whose existence may be disclosed to the
    requester's programs, each with `levels` (existence first) decided."""
    out = []
    for (other_agency, other_ref), path in linked.items():
        for program in programs.get(other_agency, []):
            entry = LinkedProgram(other_agency, program, other_ref, path)
            for level in levels:
                entry.levels[level] = decide_level(
                    ledger,
                    requester_programs,
                    program,
                    other_ref,
                    level,
                    at,
                    existence_by_agreement,
                )
            if entry.levels["existence"].allowed:
                out.append(entry)
    return out


def decide_level(  # noqa: PLR0917  (the question has that many parts)
    ledger: HubLedger,
    requester_programs: list[str],
    target_program: str,
    target_record: str,
    level: DataClass,
    at: datetime,
    existence_by_agreement: bool,
) -> Disclosure:
    first: Decision | None = None
    for requester in requester_programs:
        decision = disclosure_decision(
            ledger.state,
            requester_program=requester,
            target_program=target_program,
            target_record=target_record,
            data_class=level,
            at=at,
            existence_by_agreement=existence_by_agreement,
        )
        if decision.allowed:
            return Disclosure(
                level,
                True,
                decision.reason,
                basis=decision.basis,
                requester_program=requester,
                grant_index=decision.grant_index,
                grant_leaf_hash=decision.grant_leaf_hash.hex()
                if decision.grant_leaf_hash
                else None,
            )
        first = first or decision
    if first is None:
        return Disclosure(
            level, False, f"no consent on record from {target_program}", why="no_consent"
        )
    return Disclosure(level, False, first.reason, why=first.why, why_at=first.why_at)


def checkpoint_covering(
    ledger: HubLedger, session: Session, programs: list[LinkedProgram]
) -> tuple[int, str] | None:
    """The latest signed checkpoint, signing a new one if a grant relied on is newer."""
    needed = max(
        (
            level.grant_index + 1
            for entry in programs
            for level in entry.levels.values()
            if level.allowed and level.grant_index is not None
        ),
        default=1 if programs else 0,
    )
    if needed == 0:
        return None
    latest = latest_checkpoint(session)
    if latest is None or latest[0] < needed:
        ledger.issue_checkpoint(session)
        latest = latest_checkpoint(session)
    if latest is None or latest[0] < needed:
        raise Unavailable("no checkpoint covers the consent relied on; try again")
    leaves: dict[int, str] = {}
    for entry in programs:
        for level in entry.levels.values():
            if level.allowed and level.grant_index is not None:
                proven = attach_proof(
                    _as_decision(level), ledger.tree, latest[1], ledger.log_key.verifier
                )
                level.inclusion_proof = [h.hex() for h in proven.inclusion_proof or ()]
                # The leaf itself, so the asking node can check what the grant says.
                if level.grant_index not in leaves:
                    leaves[level.grant_index] = canonical.b64encode(
                        stored_leaf(session, level.grant_index)
                    )
                level.grant_leaf = leaves[level.grant_index]
    return latest


def _as_decision(level: Disclosure) -> Decision:
    return Decision(
        allowed=True,
        data_class=level.data_class,
        reason=level.reason,
        basis="consent",
        grant_index=level.grant_index,
        grant_leaf_hash=bytes.fromhex(level.grant_leaf_hash or ""),
        state_size=0,
    )


def _load_details(hub: HubContext, session: Session, entry: LinkedProgram) -> None:
    assert hub.cipher is not None  # noqa: S101  (checked by shared_answer)
    if entry.levels["contact"].allowed:
        assignment = session.get(Assignment, (entry.agency_id, entry.ref))
        if assignment is None:
            entry.levels["contact"] = Disclosure(
                "contact",
                False,
                f"{entry.program} has no case manager assigned to this client",
                why="no_case_manager",
            )
        else:
            entry.case_manager_id = assignment.case_manager_id
            entry.contact = json.loads(
                hub.cipher.open(assignment.contact, contact_context(entry.agency_id, entry.ref))
            )
    if entry.levels["plan"].allowed:
        entry.plan = _plan_items(hub, session, entry.agency_id, entry.ref, program=entry.program)


def _plan_items(
    hub: HubContext, session: Session, agency_id: str, ref: str, *, program: str
) -> list[PlanItem]:
    assert hub.cipher is not None  # noqa: S101
    rows = session.execute(
        select(Milestone).where(col(Milestone.agency_id) == agency_id, col(Milestone.ref) == ref)
    ).scalars()
    return [
        PlanItem(
            program,
            row.milestone_id,
            json.loads(
                hub.cipher.open(row.plan, milestone_context(agency_id, ref, row.milestone_id))
            ),
            row.updated_at,
        )
        for row in rows
    ]
