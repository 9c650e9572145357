"""The hub's answer about a client, put in words a case manager can act on: one card per
program saying what is shared and what is withheld and why, each reason once.

The hub says why a level is withheld as a code (`why`) and the instant that matters
(`why_at`); the words are the node's, so an agency can change them without touching the
hub. Dates are shown as people write them ("4 December 2027"), not as timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from contract import SharedOut

WHAT = {
    "existence": "that they serve this client",
    "contact": "contact details",
    "plan": "plan milestones",
}
NEEDS = {
    "basic_needs": "Basic needs",
    "freedom": "Freedom",
    "family": "Family",
    "self_reliance": "Self-reliance",
}


@dataclass
class ProgramCard:
    """What one other program shares about the client, and what it withholds."""

    program: str
    shared: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)


def day(value: object) -> str:
    """An ISO date or timestamp as people write it: 4 December 2027."""
    if not value:
        return ""
    text = str(value)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else None
        parsed = when.date() if when else date.fromisoformat(text)
    except ValueError:
        return text
    return f"{parsed.day} {parsed.strftime('%B %Y')}"


def minute(value: object) -> str:
    """An instant to the minute, in UTC as the hub keeps it: 2026-12-05 13:34."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value or "")[:16].replace("T", " ")


def program_name(program: str) -> str:
    """A program id as a name: family_employment -> Family employment."""
    return program.replace("_", " ").capitalize()


def cards(answer: SharedOut) -> list[ProgramCard]:
    """One card per program of the answer, in its order."""
    out = []
    for program in answer.programs:
        name = program_name(program.program)
        card = ProgramCard(name)
        reasons: dict[tuple[str, str], list[str]] = {}
        for level, decided in (
            ("existence", program.existence),
            ("contact", program.contact),
            ("plan", program.plan),
        ):
            if decided.allowed:
                if level != "existence":
                    card.shared.append(WHAT[level])
                continue
            key: tuple[str, str] = (decided.why or "", decided.why_at or "")
            if key == ("", ""):  # no code for it: the hub's own words, once each
                key = ("text", decided.reason)
            reasons.setdefault(key, []).append(level)
        for (why, at), levels in reasons.items():
            what = " and ".join(WHAT[level] for level in levels)
            card.withheld.append(_sentence(name, what, why, at))
        out.append(card)
    return out


def _sentence(program: str, what: str, why: str, at: str) -> str:  # noqa: PLR0911  (one per code)
    if why == "text":
        return f"Withheld: {at.replace('_', ' ')}."
    if why == "no_consent":
        return (
            f"No release on file with {program} for {what}: ask the client to sign a "
            f"release with {program}."
        )
    if why == "case_manager_only":
        return (
            f"The client's consent lets {program} show {what} to their case manager here "
            "only, not to supervisors."
        )
    if why == "revoked":
        return f"The client withdrew their consent for {program} to share {what}."
    if why == "ended":
        return (
            f"{program}'s consent for {what} no longer counts (the key that signed it was "
            f"withdrawn): {program} needs to record it again."
        )
    if why == "expired":
        return (
            f"The client's consent for {program} to share {what} expired on {day(at)}: ask "
            "the client to renew it."
        )
    if why == "not_yet_effective":
        return f"The client's consent for {program} to share {what} starts on {day(at)}."
    if why == "does_not_cover":
        return (
            f"The client's consent to {program} does not cover {what}: ask the client to extend it."
        )
    if why == "not_named":
        return (
            f"The client's consent to {program} does not name your program: ask the client "
            "to add it."
        )
    if why == "no_case_manager":
        return f"{program} has no case manager assigned to this client yet."
    return f"{program} withholds {what}."
