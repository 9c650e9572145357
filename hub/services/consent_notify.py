"""Notifications of consent recorded, changed or revoked, for the case managers of the
programs it names.

When an agency records a GRANT (or replaces one, or revokes one) about its record, the
case managers of the recipient programs' records confidently linked to it are the ones
whose next answer about that client changes: each gets one message, queued in the same
transaction as the entry. Like match notifications, the message names no client and no
program (email leaves the hub's control): it says that consent changed for a client on
the caseload and links to it; the caseload and the client page say what may be seen.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlmodel import Session

from consent import ConsentState, Grant, GrantTerms, Revoke, Supersede
from consent.state import names_recipient
from hub.models import Assignment, Notification
from hub.services.notify import confident_partners

KINDS = {Grant: "consent_recorded", Supersede: "consent_changed", Revoke: "consent_revoked"}


def queue_consent_notifications(
    session: Session,
    state: ConsentState,
    entry: Grant | Supersede | Revoke,
    index: int,
    *,
    now: datetime | None = None,
) -> int:
    """Queue one message per case manager of a recipient program's record linked to the
    entry's subject; returns how many were queued. `state` is the ledger's replayed
    state including the entry."""
    terms = _terms(state, entry)
    if terms is None:
        return 0
    agency = state.program_owner.get(terms.disclosing_program)
    if agency is None:
        return 0
    subject = (agency, terms.subject)
    partners = confident_partners(session, [subject]).get(subject, frozenset())
    told = sorted(
        (other_agency, ref)
        for other_agency, ref in partners
        if any(
            names_recipient(terms, program)
            for program, owner in state.program_owner.items()
            if owner == other_agency
        )
    )
    if not told:
        return 0
    staff: dict[tuple[str, str], int] = defaultdict(int)
    rows = session.execute(
        select(Assignment.agency_id, Assignment.case_manager_id).where(  # type: ignore[call-overload]
            tuple_(Assignment.agency_id, Assignment.ref).in_(told)
        )
    )
    for agency_id, case_manager in rows:
        staff[(agency_id, case_manager)] += 1
    at = now or datetime.now(UTC)
    kind = KINDS[type(entry)]
    for (agency_id, case_manager), clients in sorted(staff.items()):
        session.add(
            Notification(
                agency_id=agency_id, case_manager_id=case_manager, kind=kind,
                ledger_index=index, clients=clients, created_at=at,
                email_status="pending", email_attempts=0, next_attempt_at=at,
            )
        )  # fmt: skip
    return len(staff)


def _terms(state: ConsentState, entry: Grant | Supersede | Revoke) -> GrantTerms | None:
    if isinstance(entry, Revoke):
        ended = state.grants.get(entry.revokes.index)
        return None if ended is None else ended.terms
    return entry.grant
