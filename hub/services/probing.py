"""Flags for membership probing. Under the default existence policy an agency may learn
that another program serves a client from the inter-agency agreement alone; an agency
(or a rogue steward) could enrol a fabricated client from anyone's identifiers, wait for
the routine linkage run, and ask. Two signs are flagged to the hub's operators and to the
agency whose record was disclosed:

- `fresh_record`: the asking agency's record was uploaded or changed shortly before the
  question (`PPRL_PROBE_WINDOW_DAYS`), as a record made to ask with would be;
- `exact_copy`: it links at exactly 1.0, every bit of its encoding equal to the other
  agency's, as identifiers copied from the other agency's own files would.

Genuine questions raise them too (a new intake, clean data); a flag is a prompt to look,
not a verdict, and it holds no PII: agencies, pseudonymous references, a time. Each
(asking record, disclosed record, kind) is flagged once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from hub.disclosure import LinkedProgram
from hub.models import Encoding, ProbeFlag
from hub.settings import HubSettings

# A Dice score this close to 1 is an identical encoding (scores are exact fractions).
IDENTICAL = 1.0 - 1e-9


def flag_probes(
    session: Session,
    settings: HubSettings,
    *,
    asking_agency: str,
    asking_ref: str,
    shown: list[LinkedProgram],
    at: datetime,
) -> int:
    """Record the flags an existence disclosure raises; returns how many were new."""
    if not shown:
        return 0
    asked = session.get(Encoding, (asking_agency, asking_ref))
    fresh = asked is not None and at - asked.updated_at <= timedelta(
        days=settings.probe_window_days
    )
    new = 0
    for entry in shown:
        raised = {"fresh_record": fresh, "exact_copy": entry.path.score >= IDENTICAL}
        for kind in (k for k, up in raised.items() if up):
            key = (asking_agency, asking_ref, entry.agency_id, entry.ref, kind)
            if session.get(ProbeFlag, key) is not None:
                continue
            session.add(
                ProbeFlag(
                    asking_agency=key[0],
                    asking_ref=key[1],
                    disclosing_agency=key[2],
                    disclosing_ref=key[3],
                    kind=kind,
                    disclosing_program=entry.program,
                    run_id=entry.path.run_id,
                    flagged_at=at,
                )
            )
            new += 1
    return new


def flags(session: Session, *, disclosing_agency: str | None = None) -> list[ProbeFlag]:
    """Every flag, newest first (of one disclosing agency's records, if given)."""
    query = select(ProbeFlag).order_by(col(ProbeFlag.flagged_at).desc()).limit(1000)
    if disclosing_agency is not None:
        query = query.where(col(ProbeFlag.disclosing_agency) == disclosing_agency)
    return list(session.execute(query).scalars())
