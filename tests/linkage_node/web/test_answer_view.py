"""The hub's answer in a case manager's words: one card per program, each reason once,
dates as people write them, and the hub's own words where it gave no code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contract import SharedOut
from linkage_node.web.answer_view import cards, day, minute


def _level(allowed: bool, why: str | None = None, why_at: str | None = None) -> dict[str, object]:
    return {"allowed": allowed, "reason": "the hub's words", "why": why, "why_at": why_at}


def _answer(*programs: dict[str, Any]) -> SharedOut:
    """An answer as the hub states it, with these programs' levels."""
    link = {"link_score": 0.95, "confirmed_in_review": False, "confidence": "high", "run_id": 1}
    return SharedOut.model_validate(
        {
            "record_ref": "ab" * 32,
            "shared": True,
            "decided_at": datetime.now(UTC),
            "programs": [
                {"agency_id": "X", "record_ref": "cd" * 32, **link, **p} for p in programs
            ],
            "plan": [],
            "conflicts": [],
            "withheld": [],
        }
    )


def test_each_reason_is_said_once_in_words_to_act_on() -> None:
    seen = _level(True)
    answer = _answer(
        {
            "program": "corrections",
            "existence": seen,
            "contact": _level(False, "no_consent"),
            "plan": _level(False, "no_consent"),
        },
        {
            "program": "family_employment",
            "existence": seen,
            "contact": _level(True),
            "plan": _level(False, "expired", "2027-01-05T00:00:00Z"),
        },
        {
            "program": "vocational_rehab",
            "existence": seen,
            "contact": _level(False, "revoked"),
            "plan": _level(False, "does_not_cover"),
        },
    )
    corrections, employment, rehab = cards(answer)
    assert corrections.shared == []
    assert corrections.withheld == [
        "No release on file with Corrections for contact details and plan milestones: ask "
        "the client to sign a release with Corrections."
    ]
    assert employment.shared == ["contact details"]
    assert employment.withheld == [
        "The client's consent for Family employment to share plan milestones expired on "
        "5 January 2027: ask the client to renew it."
    ]
    assert len(rehab.withheld) == 2
    assert rehab.withheld[0].startswith("The client withdrew their consent for Vocational rehab")


def test_a_level_without_a_code_keeps_the_hubs_words() -> None:
    answer = _answer(
        {
            "program": "corrections",
            "existence": {"allowed": True, "reason": "the agreement"},
            "contact": {"allowed": False, "reason": "no consent on record"},
            "plan": {"allowed": False, "reason": "no consent on record"},
        }
    )
    (card,) = cards(answer)
    assert card.withheld == ["Withheld: no consent on record."]


def test_dates_are_written_as_people_write_them() -> None:
    assert day("2027-12-04T00:00:00Z") == "4 December 2027"
    assert day("2026-02-01") == "1 February 2026"
    assert day(None) == ""
    assert day("not a date") == "not a date"


def test_instants_are_shown_to_the_minute_in_utc() -> None:
    assert minute(datetime(2026, 12, 5, 13, 34, 59, tzinfo=UTC)) == "2026-12-05 13:34"
    assert minute("2026-12-05T13:34:59Z") == "2026-12-05 13:34"
    assert minute(None) == ""
