"""/v1/clients/{record_ref}/shared: "is this client shared?" for the assigned case manager."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from sqlmodel import Session

from contract import FamilyOut, FirstContactIn, FirstContactOut, RecordRef, SharedOut
from hub.auth import Principal, authorize_client_query
from hub.deps import DisclosureDep, HubDep, PrincipalDep, WriterSessionDep
from hub.disclosure import Asker
from hub.errors import NotFound, problem_responses
from hub.routes.api.shared_out import family_out, shared_out
from hub.services import org, probing, records
from hub.services.contacts import record_first_contact
from hub.services.family import family_answer
from hub.services.sharing import shared_answer
from keys import Role

router = APIRouter(prefix="/v1/clients", tags=["clients"])


def _asker(session: Session, principal: Principal, ref: str) -> Asker:
    """Who may ask about the caller's agency's record `ref`, or the uniform 404: its
    case manager, or a supervisor above them (the chain is looked up only for a
    supervisor asking about someone else's client, off the case managers' hot path);
    a supervisor's questions are recorded with the purpose `supervision`."""
    asking = principal.agency_id or ""
    exists, assigned_to = records.holder(session, asking, ref)
    mine = assigned_to == principal.subject
    chain = (
        org.chain_of(session, asking, assigned_to)
        if assigned_to and not mine and principal.has(Role.SUPERVISOR)
        else []
    )
    agency = authorize_client_query(principal, exists, assigned_to, chain)
    return Asker(agency, principal.subject, purpose=None if mine else "supervision")


@router.get(
    "/{record_ref}/shared",
    summary="Is this client served by another program?",
    responses=problem_responses(429),
)
def get_shared(
    record_ref: RecordRef,
    hub: HubDep,
    session: WriterSessionDep,
    principal: PrincipalDep,
    engine: DisclosureDep,
) -> SharedOut:
    """For the case manager assigned to the record (of the caller's own agency) and the
    supervisors above them in the agency's chain of command (README: Supervisors). Each
    level is decided from the consent ledger; each disclosure is appended to it as an
    ACCESS entry (purpose `supervision` for a supervisor's) before the answer is sent."""
    # Counted before anything is looked up: probing many references is slowed too.
    hub.questions.take(principal.agency_id or "", principal.subject)
    asker = _asker(session, principal, record_ref)
    agency = asker.agency_id
    now = datetime.now(UTC)
    answer = shared_answer(engine, session, asker, record_ref, at=now)
    probing.flag_probes(
        session,
        hub.settings,
        asking_agency=agency,
        asking_ref=record_ref,
        shown=answer.programs,
        at=now,
    )
    out = shared_out(answer, hub.settings, today=now.date())
    session.commit()
    return out


@router.get(
    "/{record_ref}/family",
    summary="What other programs are the client's family members in?",
    responses=problem_responses(429),
)
def get_family(
    record_ref: RecordRef,
    hub: HubDep,
    session: WriterSessionDep,
    principal: PrincipalDep,
    engine: DisclosureDep,
) -> FamilyOut:
    """For whoever may ask about the client (their case manager and the supervisors
    above them): the other members of the client's household as the caller's agency
    listed it, each with the other programs serving them now that may be named on that
    member's own basis (README: Families). Each program named is an ACCESS entry about
    the member, with purpose `family` (`supervision` for a supervisor)."""
    hub.questions.take(principal.agency_id or "", principal.subject)
    asker = _asker(session, principal, record_ref)
    answer = family_answer(engine, session, asker, record_ref, at=datetime.now(UTC))
    out = family_out(answer)
    session.commit()
    return out


@router.post(
    "/{record_ref}/contacts",
    summary="Say that you contacted another program's case manager about the client",
)
def post_first_contact(
    record_ref: RecordRef,
    body: FirstContactIn,
    session: WriterSessionDep,
    principal: PrincipalDep,
    engine: DisclosureDep,
) -> FirstContactOut:
    """For whoever may ask about the client; the program must be one whose contact
    details they may see now (else the uniform 404). The first time is kept: the
    dashboard's days from match to first contact."""
    asker = _asker(session, principal, record_ref)
    first = record_first_contact(
        engine, session, asker, record_ref, body.program, at=datetime.now(UTC)
    )
    if first is None:
        raise NotFound()
    session.commit()
    return FirstContactOut(program=first.program, contacted_at=first.contacted_at)
