""" "What other programs are family members enrolled in?": for each member of a
client's households at the asking agency, the other programs serving them now, each
decided on the member's own basis through `hub.disclosure`.

The family is the one the asking agency itself recorded (its roster's household): the
hub never tells an agency of family members it did not list, which would disclose
another agency's household. Each member's programs are decided like a client's
existence level, on that member's record: their own consent (or a guardian's, for a
minor, which the disclosing node checked when it recorded the form), or the agreement
where `PPRL_FAMILY_EXISTENCE_POLICY` is `agreement` (the default is `consent`: the
agreement covers a program's own clients, not their relatives). A member nothing may
be named for shows no program, exactly like a member no other program serves. Every
program named is an ACCESS entry about that member (`requester_record` is the member's
record at the asking agency, purpose `family`, or `supervision` for a supervisor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from hub.disclosure import Asker, DisclosureEngine, LinkedProgram
from hub.models import Encoding


@dataclass
class FamilyMember:
    """One member of the client's household and the programs that may be named."""

    ref: str
    role: str
    member_only: bool
    programs: list[LinkedProgram]


@dataclass
class FamilyAnswer:
    """The client's role in their household and its other members."""

    agency_id: str
    ref: str
    role: str | None
    decided_at: datetime
    members: list[FamilyMember]
    checkpoint: str | None


def household_members(
    session: Session, agency_id: str, ref: str
) -> tuple[str | None, list[tuple[str, str, bool]]]:
    """The client's role and the other members of their household at `agency_id`:
    (ref, role, member_only) rows, by role then reference."""
    own = session.execute(
        select(col(Encoding.household_ref), col(Encoding.household_role)).where(
            col(Encoding.agency_id) == agency_id, col(Encoding.ref) == ref
        )
    ).first()
    if own is None or own[0] is None:
        return None, []
    rows = session.execute(
        select(col(Encoding.ref), col(Encoding.household_role), col(Encoding.member_only))
        .where(
            col(Encoding.agency_id) == agency_id,
            col(Encoding.household_ref) == own[0],
            col(Encoding.ref) != ref,
        )
        .order_by(col(Encoding.household_role), col(Encoding.ref))
    ).all()
    return own[1] or "other", [(str(r), role or "other", bool(m)) for r, role, m in rows]


def family_answer(
    engine: DisclosureEngine, session: Session, asker: Asker, ref: str, *, at: datetime
) -> FamilyAnswer:
    """Decide, prove and record what `asker` may learn about the programs serving the
    members of their client `ref`'s household. The caller has authorized the question
    about `ref` and commits."""
    role, rows = household_members(session, asker.agency_id, ref)
    linked = {member: engine.linked(session, asker.agency_id, member) for member, _, _ in rows}
    members: list[FamilyMember] = []
    if rows:
        engine.begin(session)
    supervision = asker.purpose == "supervision"
    by_agreement = engine.settings.family_existence_policy == "agreement"
    for member, member_role, member_only in rows:
        decided = engine.decide(
            session,
            asker.agency_id,
            linked[member],
            at=at,
            levels=("existence",),
            supervision=supervision,
            existence_by_agreement=by_agreement,
        )
        current = sorted((p for p in decided if p.current), key=lambda p: (p.program, p.ref))
        members.append(FamilyMember(member, member_role, member_only, current))
    shown = [entry for m in members for entry in m.programs]
    checkpoint = engine.prove(session, shown)
    if checkpoint is not None:
        recorder = Asker(asker.agency_id, asker.staff, purpose=asker.purpose or "family")
        for m in members:
            for entry in m.programs:
                engine.record(session, recorder, m.ref, entry, at=at, checkpoint=checkpoint)
    return FamilyAnswer(
        asker.agency_id,
        ref,
        role,
        at,
        members,
        checkpoint.note if checkpoint else None,
    )
