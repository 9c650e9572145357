"""The answer to "is this client shared?" as the API states it (response shaping,
which lives with the routes): each program's levels,
the combined plan in the client's priority order, and the conflicts."""

from __future__ import annotations

from datetime import date

from contract import (
    ConflictMilestoneOut,
    ContactOut,
    DisclosureLevelOut,
    FamilyMemberOut,
    FamilyOut,
    FamilyProgramOut,
    GrantProofOut,
    PlanConflictOut,
    PlanMilestoneOut,
    SharedOut,
    SharedProgramOut,
)
from hub.disclosure import Disclosure, LinkedProgram
from hub.services.family import FamilyAnswer
from hub.services.plans import PlanItem, priority_order
from hub.services.sharing import SharedAnswer, combined_plan
from hub.settings import HubSettings
from keys import canonical


def shared_out(answer: SharedAnswer, settings: HubSettings, *, today: date) -> SharedOut:
    """The answer as the API states it, with the combined plan and its conflicts."""
    ordered, conflicts = combined_plan(
        answer,
        today=today,
        deadline_window_days=settings.conflict_deadline_window_days,
        stuck_after_days=settings.stuck_after_days,
        client_hours_per_week=settings.client_hours_per_week,
    )
    withheld = [
        f"{entry.program}: {level.reason}"
        for entry in answer.current
        for level in entry.levels.values()
        if not level.allowed
    ]
    return SharedOut(
        record_ref=answer.ref,
        shared=answer.shared,
        decided_at=answer.decided_at,
        programs=[_program_out(entry) for entry in answer.current],
        past_enrollments=[_program_out(entry) for entry in answer.past],
        plan=[_milestone_out(item) for item in ordered],
        conflicts=[
            PlanConflictOut(
                kind=c.kind,
                milestones=[
                    ConflictMilestoneOut(program=p, milestone_id=m) for p, m in c.milestones
                ],
                detail=c.detail,
                non_negotiable=c.non_negotiable,
            )
            for c in conflicts
        ],
        withheld=withheld,
        checkpoint=answer.checkpoint,
    )


def _program_out(entry: LinkedProgram) -> SharedProgramOut:
    return SharedProgramOut(
        program=entry.program,
        agency_id=entry.agency_id,
        record_ref=entry.ref,
        link_score=round(entry.path.score, 4),
        confirmed_in_review=entry.path.confirmed_in_review,
        confidence=entry.path.confidence,
        run_id=entry.path.run_id,
        existence=_level_out(entry.levels["existence"]),
        contact=_level_out(entry.levels["contact"]),
        plan=_level_out(entry.levels["plan"]),
        contact_details=(
            ContactOut(case_manager_id=entry.case_manager_id, **entry.contact)
            if entry.contact is not None and entry.case_manager_id is not None
            else None
        ),
        milestones=(
            [_milestone_out(item) for item in priority_order(entry.plan)]
            if entry.plan is not None
            else None
        ),
        enrolled_on=entry.enrolled_on,
        exited_on=entry.exited_on,
    )


def family_out(answer: FamilyAnswer) -> FamilyOut:
    """The family answer as the API states it: existence only, on each member's basis."""
    return FamilyOut(
        agency_id=answer.agency_id,
        ref=answer.ref,
        role=answer.role,
        decided_at=answer.decided_at,
        members=[
            FamilyMemberOut(
                ref=member.ref,
                role=member.role,
                member_only=member.member_only,
                programs=[
                    FamilyProgramOut(
                        program=entry.program,
                        agency_id=entry.agency_id,
                        record_ref=entry.ref,
                        confidence=entry.path.confidence,
                        existence=_level_out(entry.levels["existence"]),
                        enrolled_on=entry.enrolled_on,
                    )
                    for entry in member.programs
                ],
            )
            for member in answer.members
        ],
        checkpoint=answer.checkpoint,
    )


def _level_out(level: Disclosure) -> DisclosureLevelOut:
    grant = None
    if level.allowed and level.proof is not None:
        grant = GrantProofOut(
            index=level.proof.index,
            leaf_hash=level.proof.leaf_hash.hex(),
            leaf=canonical.b64encode(level.proof.leaf),
            inclusion_proof=[h.hex() for h in level.proof.inclusion_proof],
        )
    return DisclosureLevelOut(
        allowed=level.allowed,
        reason=level.reason,
        basis=level.basis if level.allowed else None,
        access_entry=level.access_entry,
        grant=grant,
        why=None if level.allowed else level.why,
        why_at=None if level.allowed else level.why_at,
    )


def _milestone_out(item: PlanItem) -> PlanMilestoneOut:
    return PlanMilestoneOut(
        program=item.program,
        milestone_id=item.milestone_id,
        need_served=item.need,
        **item.fields,
    )
