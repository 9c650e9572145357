"""/v1/lookups: "who is this?" for an agency's intake staff, before the person is on any
synced roster. The node encodes the typed identifiers under the linkage secret; the hub
scores that one encoding against every stored one, names the other programs that serve
a matching person (existence only, under the agreement or the person's consent), records
each naming on the ledger, and keeps nothing of the encoding beyond the request."""

from __future__ import annotations

import binascii
from datetime import UTC, date, datetime
from typing import Literal

from fastapi import APIRouter

from contract import LookupIn, LookupOut, LookupPastOut, LookupProgramOut
from hub.auth import require_intake
from hub.deps import DisclosureDep, HubDep, PrincipalDep, WriterSessionDep
from hub.disclosure import HIGH_CONFIDENCE, Asker
from hub.errors import Conflict, Unprocessable, problem_responses
from hub.services import policy

router = APIRouter(prefix="/v1/lookups", tags=["clients"])

CLK_BYTES = 128


@router.post(
    "",
    summary="Which other programs serve a person matching these identifiers?",
    responses=problem_responses(409, 422, 429),
)
def lookup(
    body: LookupIn,
    hub: HubDep,
    session: WriterSessionDep,
    principal: PrincipalDep,
    engine: DisclosureDep,
) -> LookupOut:
    """Intake staff only. Counts against the caller's rate limit like any question."""
    agency = require_intake(principal)
    hub.questions.take(agency, principal.subject)
    settings = hub.settings
    if (settings.secret_epoch and body.epoch != settings.secret_epoch) or (
        settings.schema_fingerprint and body.schema_fingerprint != settings.schema_fingerprint
    ):
        raise Conflict("the encoding was made under another secret epoch or schema than the hub's")
    try:
        clk = binascii.a2b_base64(body.clk, strict_mode=True)
    except binascii.Error:
        raise Unprocessable("clk: not base64") from None
    if len(clk) != CLK_BYTES:
        raise Unprocessable(f"clk: {len(clk)} bytes; an encoding is {CLK_BYTES}")
    matches = hub.intake.match(
        session,
        (body.epoch, body.schema_fingerprint),
        clk,
        policy.floor_of(settings),
        skip=agency,
    )
    now = datetime.now(UTC)
    named = engine.intake(session, Asker(agency, principal.subject), matches, at=now)
    best: dict[str, float] = {}
    past: dict[str, tuple[float, date]] = {}
    for entry in named:
        if entry.exited_on is None:
            best[entry.program] = max(best.get(entry.program, 0.0), entry.path.score)
        else:
            score, exited = past.get(entry.program, (0.0, entry.exited_on))
            past[entry.program] = (max(score, entry.path.score), max(exited, entry.exited_on))
    session.commit()
    return LookupOut(
        decided_at=now,
        programs=[
            LookupProgramOut(program=program, confidence=_band(score))
            for program, score in sorted(best.items())
        ],
        # A program that serves the person now is not also listed as a past one.
        past_programs=[
            LookupPastOut(program=program, confidence=_band(score), exited_on=exited)
            for program, (score, exited) in sorted(past.items())
            if program not in best
        ],
    )


def _band(score: float) -> Literal["high", "moderate"]:
    return "high" if score >= HIGH_CONFIDENCE else "moderate"
