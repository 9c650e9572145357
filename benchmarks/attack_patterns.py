"""A pattern-mining attack on stored encodings: what the hub (or anyone holding the
encoding table) can learn with no secret.

A feature value that always sets the same bits (an exact date part, a ZIP code, one
digit at one position of an SSN) makes a group of bit positions that are set together in
exactly the records holding that value. The attack finds such groups by clustering bit
positions on their correlation across records, takes the records in which a group is
(nearly) fully set as that group's members, and labels each group with the value most of
its members hold, learnt from the half of the records whose values it is given (as an
attacker with known records would: a canary, public figures, its own agency's clients
matched in). That is far more than a real attacker has, so what it cannot recover, a
real attacker cannot either.

`recovery(...)` scores the attack per attribute on the other half: the share of records
whose value it gets right, against chance (always guessing the most common value).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Bits = npt.NDArray[np.bool_]
Group = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Recovery:
    """How well the attack guesses one attribute."""

    attribute: str
    accuracy: float
    chance: float
    groups_used: int

    @property
    def lift(self) -> float:
        """Accuracy above always guessing the most common value."""
        return self.accuracy - self.chance


def unpack(clks: Sequence[bytes]) -> Bits:
    """CLKs as a records x bits boolean matrix."""
    raw = np.frombuffer(b"".join(clks), dtype=np.uint8).reshape(len(clks), -1)
    return np.unpackbits(raw, axis=1).astype(bool)


def bit_groups(bits: Bits, cuts: Sequence[int] = (100, 200, 300)) -> list[list[Group]]:
    """Groups of bit positions that are set together: average-linkage clustering of the
    positions on their correlation across records (distance 1 - r), cut into each number
    of clusters in `cuts` (the attacker tries several and keeps what works)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    varying = np.flatnonzero(bits.any(axis=0) & ~bits.all(axis=0))
    corr = np.nan_to_num(np.corrcoef(bits[:, varying].astype(np.float32).T))
    distance = np.clip(1.0 - (corr + corr.T) / 2, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), "average")
    out = []
    for cut in cuts:
        labels = fcluster(tree, cut, "maxclust")
        out.append([varying[labels == c] for c in np.unique(labels) if (labels == c).sum() >= 3])
    return out


def members(bits: Bits, group: npt.NDArray[np.intp], *, full: float = 0.95) -> Bits:
    """The records in which (nearly) every position of `group` is set."""
    result: Bits = bits[:, group].mean(axis=1) >= full
    return result


def recovery(
    bits: Bits,
    truth: Mapping[str, Sequence[str]],
    *,
    min_members: int = 10,
    seed: int = 0,
    groupings: list[list[Group]] | None = None,
) -> list[Recovery]:
    """Score the attack on each attribute of `truth` (attribute -> value per record;
    empty values are left out). The attacker labels each group from half the records
    (those it knows) and guesses the other half, so a group that is pure by chance
    alone gains nothing; of the cuts tried, the best is reported."""
    groupings = bit_groups(bits) if groupings is None else groupings
    rng = np.random.default_rng(seed)
    known_half = rng.random(len(bits)) < 0.5
    memberships = [[members(bits, group) for group in groups] for groups in groupings]
    results = []
    for attribute, values in truth.items():
        best: Recovery | None = None
        for member_sets in memberships:
            scored = _recover(attribute, values, member_sets, known_half, min_members)
            if scored is not None and (best is None or scored.accuracy > best.accuracy):
                best = scored
        if best is not None:
            results.append(best)
    return results


def _recover(
    attribute: str,
    values: Sequence[str],
    member_sets: list[Bits],
    known_half: Bits,
    min_members: int,
) -> Recovery | None:
    array = np.array(values, dtype=object)
    has = np.array([bool(v) for v in values])
    train, test = has & known_half, has & ~known_half
    if not train.any() or not test.any():
        return None
    common, common_n = Counter(array[train].tolist()).most_common(1)[0]
    chance = float((array[test] == common).mean())
    guess = np.full(len(values), common, dtype=object)
    best = np.full(len(values), common_n / train.sum())
    used = 0
    for member in member_sets:
        labelled = member & train
        if labelled.sum() < min_members:
            continue
        label, label_n = Counter(array[labelled].tolist()).most_common(1)[0]
        purity = label_n / labelled.sum()
        better = member & (purity > best)
        if not better.any():
            continue
        used += 1
        guess[better] = label
        best[better] = purity
    accuracy = float((guess[test] == array[test]).mean())
    return Recovery(attribute, accuracy, chance, used)
