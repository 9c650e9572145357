"""First contacts: a case manager says they reached another program's case manager
about a client. Only a program whose contact details the caller may see now can be
named (the same decision as the client answer; nothing is disclosed, so nothing goes
on the ledger); the first time counts, later ones change nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from hub.disclosure import Asker, DisclosureEngine
from hub.models import FirstContact


def record_first_contact(
    engine: DisclosureEngine,
    session: Session,
    asker: Asker,
    ref: str,
    program: str,
    *,
    at: datetime,
) -> FirstContact | None:
    """The first contact with `program` about `ref` (recorded now if it is the first),
    or None when `program`'s contact details are not the caller's to see. The caller
    commits."""
    linked = engine.linked(session, asker.agency_id, ref)
    engine.begin(session)
    shown = engine.decide(
        session,
        asker.agency_id,
        linked,
        at=at,
        levels=("existence", "contact"),
        supervision=asker.purpose == "supervision",
    )
    if not any(e.program == program and e.current and e.levels["contact"].allowed for e in shown):
        return None
    first = session.get(FirstContact, (asker.agency_id, ref, program))
    if first is None:
        first = FirstContact(
            agency_id=asker.agency_id,
            ref=ref,
            program=program,
            staff_id=asker.staff,
            contacted_at=at,
        )
        session.add(first)
    return first
