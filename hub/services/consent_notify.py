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

from datetime import datetime

from sqlmodel import Session

from consent import ConsentState, Grant, GrantTerms, Revoke, Supersede
from consent.state import names_recipient
from hub.services.notify import confident_partners, queue_for_case_managers

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
    return queue_for_case_managers(
        session, told, kind=KINDS[type(entry)], ledger_index=index, now=now
    )


def _terms(state: ConsentState, entry: Grant | Supersede | Revoke) -> GrantTerms | None:
    if isinstance(entry, Revoke):
        ended = state.grants.get(entry.revokes.index)
        return None if ended is None else ended.terms
    return entry.grant
