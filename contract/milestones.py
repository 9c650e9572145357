"""The coded parts of a plan milestone: the lists every program shares.

Free text about why a client is stuck stays at the agency: what reaches the hub is one of
these codes (an agency maps its own codes onto them at the node; anything unmapped is
`other`). The lists are short on purpose, so that a dashboard can count them across
programs; each code's words are what pages show.
"""

from __future__ import annotations

from typing import Literal

StuckReason = Literal[
    "waitlist",
    "provider_unavailable",
    "eligibility",
    "documents",
    "funding",
    "transportation",
    "child_care",
    "schedule_conflict",
    "client_not_ready",
    "contact_lost",
    "health",
    "housing",
    "legal",
    "custody",
    "other",
]

STUCK_REASONS: dict[str, str] = {
    "waitlist": "waiting for a place in the service",
    "provider_unavailable": "the provider cannot serve the client (closed, full, no fit)",
    "eligibility": "eligibility not decided or not met",
    "documents": "missing identification or documents",
    "funding": "no funding or payment approved",
    "transportation": "no way to get there",
    "child_care": "no child care",
    "schedule_conflict": "clashes with another program's requirement or with work",
    "client_not_ready": "the client is not ready or declined",
    "contact_lost": "the client cannot be reached",
    "health": "a health, mental health or substance use crisis",
    "housing": "housing lost or unstable",
    "legal": "a pending court or legal matter",
    "custody": "in custody or detention",
    "other": "another reason (the details stay with the program)",
}

Mandate = Literal["court_order", "condition_of_supervision", "statute", "agency_policy"]

MANDATES: dict[str, str] = {
    "court_order": "court order",
    "condition_of_supervision": "condition of supervision",
    "statute": "statute",
    "agency_policy": "agency policy",
}

BuyIn = Literal["yes", "partly", "no"]

BUY_IN: dict[str, str] = {
    "yes": "the client agrees with it",
    "partly": "the client partly agrees",
    "no": "the client does not agree",
}

DosageUnit = Literal["hours", "sessions", "days"]

# How many hours of the client's week one unit takes, for the capacity rule: a session
# is counted as an hour, a day of a day programme as a working day.
DOSAGE_HOURS: dict[str, float] = {"hours": 1.0, "sessions": 1.0, "days": 8.0}


def stuck_reason_code(value: object) -> str | None:
    """A stuck reason as the hub keeps it: a known code, or `other` for anything else
    (free text from an older node is never kept)."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) and value in STUCK_REASONS else "other"
