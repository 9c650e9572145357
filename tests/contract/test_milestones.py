"""The shared code lists of the milestone model: one list each, written down once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from contract import MilestoneIn
from contract.milestones import (
    BUY_IN,
    DOSAGE_HOURS,
    MANDATES,
    STUCK_REASONS,
    BuyIn,
    DosageUnit,
    Mandate,
    StuckReason,
    stuck_reason_code,
)

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("literal", "words"),
    [
        (StuckReason, STUCK_REASONS),
        (Mandate, MANDATES),
        (BuyIn, BUY_IN),
        (DosageUnit, DOSAGE_HOURS),
    ],
)
def test_each_type_and_its_words_are_the_same_list(
    literal: object, words: dict[str, object]
) -> None:
    assert list(get_args(literal)) == list(words)


def test_the_readme_documents_every_stuck_reason_code() -> None:
    section = README.read_text().split("#### Plan milestones")[1].split("####")[0]
    listed = section.split("Stuck reasons are codes")[1].split("An agency with its own")[0]
    assert re.findall(r"`([a-z_]+)`", listed) == list(STUCK_REASONS)


def test_the_hub_keeps_a_code_never_free_text() -> None:
    base = {"ref": "0" * 64, "milestone_id": "m1", "goal": "g", "milestone": "m"}
    said = MilestoneIn(**base, status="stuck", stuck_reason="Jane's car broke down")
    assert said.stuck_reason == "other"
    assert stuck_reason_code("waitlist") == "waitlist"
    assert stuck_reason_code("") is None
    with pytest.raises(ValueError, match="needs its mandate"):
        MilestoneIn(**base, status="in_progress", non_negotiable=True)
    with pytest.raises(ValueError, match="need dosage_unit"):
        MilestoneIn(**base, status="in_progress", planned_dosage=3)
    assert MilestoneIn(**base, status="in_progress", mandate="statute").non_negotiable
