"""The disclosure policy: the floor under which no unconfirmed link is disclosed and the
estimated precision no run may go under. The hub's settings choose them; the ledger
records every change as a POLICY entry every agency can read, and from then on refuses
any ACCESS entry that breaks the floor (`consent.ConsentState`)."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import select
from sqlmodel import Session, col

from consent import basis_points, policy_statement
from hub.errors import Unprocessable
from hub.linkage.threshold import MixtureFit, estimate, lowest_meeting
from hub.models import LinkageRun
from hub.services.ledger import HubLedger
from hub.settings import HubSettings


def ensure_recorded(ledger: HubLedger, session: Session, settings: HubSettings) -> int | None:
    """Append a POLICY entry if the ledger's policy is not the configured one (the first
    disclosure after a change records it); returns its index. The caller holds the
    ledger's write lock (`sync_as_writer`) and commits."""
    wanted = policy_statement(settings.disclosure_floor, settings.disclosure_min_precision)
    current = ledger.state.policy
    if current is not None and (current.disclosure_floor_bp, current.min_precision_bp) == (
        wanted["disclosure_floor_bp"],
        wanted["min_precision_bp"],
    ):
        return None
    index, _ = ledger.append_hub_entry(session, wanted)
    return index


def floor_of(settings: HubSettings) -> float:
    """The disclosure floor, exactly as the ledger records it (whole basis points)."""
    return basis_points(settings.disclosure_floor) / 10_000


def check_run_threshold(session: Session, settings: HubSettings, threshold: float) -> None:
    """Refuse an operator's threshold under the floor, or one whose precision, estimated
    from the newest score distribution the hub fitted, is under the policy's minimum."""
    floor = floor_of(settings)
    if threshold < floor:
        raise Unprocessable(
            f"threshold {threshold:.3f} is under the disclosure floor {floor:.2f} "
            "(PPRL_DISCLOSURE_FLOOR, on the ledger as a POLICY entry every agency reads)"
        )
    fit = latest_fit(session)
    if fit is None:
        return
    precision = float(estimate(fit, np.array([threshold]))["precision"][0])
    wanted = settings.disclosure_min_precision
    if precision < wanted:
        lowest = lowest_meeting(fit, wanted)
        hint = f"; the lowest threshold meeting it is {lowest:.3f}" if lowest else ""
        raise Unprocessable(
            f"at threshold {threshold:.3f} the estimated precision is {precision:.4f}, under "
            f"the policy's minimum {wanted:.2f} (PPRL_DISCLOSURE_MIN_PRECISION){hint}"
        )


def latest_fit(session: Session) -> MixtureFit | None:
    """The mixture fitted by the newest run that proposed a threshold."""
    proposals = session.execute(
        select(col(LinkageRun.proposal))
        .where(col(LinkageRun.status) == "succeeded", col(LinkageRun.proposal).is_not(None))
        .order_by(col(LinkageRun.run_id).desc())
    ).scalars()
    for text in proposals:
        fit = json.loads(text).get("fit")
        if fit:
            return MixtureFit(**fit)
    return None
