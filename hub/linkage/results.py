"""What a linkage state links at (`LinkConfig`) and what it gives back: the rows a
store writes (`ClusterRow`, `LinkRow`) and what one update did (`UpdateReport`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.linkage.scoring import Candidates


@dataclass(frozen=True)
class LinkConfig:
    """What a linkage state links at: its threshold, review band and candidates."""

    threshold: float
    review_margin: float = 0.05
    dedupe_within: bool = False
    candidates: Candidates = field(default_factory=Candidates)

    @property
    def disclose_at(self) -> float:
        """The least score of a link that needs no review. Rounded, so that 0.8 + 0.05
        is 0.85 and not 0.8500000000000001: a Dice score of exactly 0.85 is past the
        band the operator set, not in it."""
        return round(self.threshold + self.review_margin, 12)

    def describe(self) -> dict[str, Any]:
        """JSON-able; `from_description` gives the same config back."""
        return {
            "threshold": self.threshold,
            "review_margin": self.review_margin,
            "dedupe_within": self.dedupe_within,
            "candidates": self.candidates.describe(),
        }

    @classmethod
    def from_description(cls, data: Mapping[str, Any]) -> LinkConfig:
        """The inverse of `describe`."""
        return cls(
            threshold=float(data["threshold"]),
            review_margin=float(data["review_margin"]),
            dedupe_within=bool(data["dedupe_within"]),
            candidates=Candidates.from_description(data["candidates"]),
        )


@dataclass
class UpdateReport:
    """What one update did and what it cost."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    comparisons: int = 0
    candidates_scored: int = 0
    pairs_added: int = 0
    pairs_removed: int = 0
    records_resolved: int = 0
    clusters_created: int = 0
    clusters_dissolved: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Counts by name."""
        return dict(vars(self))


@dataclass(frozen=True)
class ClusterRow:
    """One record's place: its cluster id, agency and reference."""

    cluster_id: int
    agency: str
    ref: str


@dataclass(frozen=True)
class LinkRow:
    """One link the solver used, with its score and whether it awaits review."""

    agency_a: str
    ref_a: str
    agency_b: str
    ref_b: str
    score: float
    review: bool
