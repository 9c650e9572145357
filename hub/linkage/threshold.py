"""Choosing the link threshold from the scores themselves, without labels.

The data: each record's best candidate score. A record another agency also holds has its
true match as its best candidate, which scores near 1; one that nobody else holds has only
strangers, whose best is the maximum of many middling scores. So the best scores form two
groups, and a two-component mixture is fitted to them by EM:

- strangers: a Gumbel distribution (the law of a maximum), fitted by weighted moments;
- matches: a point mass at 1 (identical encodings) and a Gamma on 1 - score.

Where nearly every record has a match (two agencies serving mostly the same people), the
best scores hold too few strangers to learn their law from, and the fit can mistake the
lower tail of the matches for it. So the strangers' law is fitted first, where it can be,
from each record's second-best score against each other agency (`hub.linkage.runner_up`):
a sample of strangers' best scores for every record. It is fitted from two quantiles
(the median, or higher when more runner-ups fell under the scoring floor, and the 85th
percentile: low enough that a few own duplicates of the other agency among the runner-ups
do not reach it), and EM then fits only the matches and the mixing weight.

From the fit follow, for every candidate threshold t, the expected number of false links
(strangers scoring at least t) and of missed matches (matches scoring below t), hence
estimated precision, recall and F1. The proposal maximises estimated F1; how sure it is
shows in the estimated errors and in the width of the band of thresholds within 0.001 of
the best estimated F1.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

_EULER = 0.5772156649015329
_IDENTICAL = 1.0 - 1e-9
GRID = np.round(np.arange(0.50, 0.99, 0.005), 3)


@dataclass(frozen=True)
class MixtureFit:
    """The fitted components and their weights."""

    match_weight: float
    identical_share: float  # of matches, the share scoring exactly 1
    gamma_shape: float
    gamma_scale: float
    gumbel_location: float
    gumbel_scale: float
    records: int
    # Best scores under this were never seen (the scoring floor): the strangers counted
    # are those at or above it, and their law is the Gumbel's above it.
    floor: float = 0.0

    def stranger_tail(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(a stranger's best score >= t), among strangers scoring at least the floor."""
        z = (t - self.gumbel_location) / self.gumbel_scale
        result: npt.NDArray[np.float64] = 1.0 - np.exp(-np.exp(-z))
        if self.floor > 0:
            seen = 1.0 - math.exp(
                -math.exp(-(self.floor - self.gumbel_location) / self.gumbel_scale)
            )
            result = np.minimum(result / max(seen, 1e-300), 1.0)
        return result

    def match_below(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """P(a match scores below t)."""
        gap = np.clip(1.0 - t, 0.0, None)
        result: npt.NDArray[np.float64] = (1 - self.identical_share) * (
            1 - _gamma_cdf(gap, self.gamma_shape, self.gamma_scale)
        )
        return result


@dataclass(frozen=True)
class ThresholdProposal:
    """A proposed threshold, what the fit expects there, and how sure it is."""

    threshold: float
    estimated_precision: float
    estimated_recall: float
    estimated_f1: float
    expected_false_links: float
    expected_missed_links: float
    band: tuple[float, float]
    fit: MixtureFit

    def summary(self) -> str:
        """One sentence for operators."""
        return (
            f"threshold {self.threshold:.3f}: estimated precision {self.estimated_precision:.4f}, "
            f"recall {self.estimated_recall:.4f} (about {self.expected_false_links:.0f} false and "
            f"{self.expected_missed_links:.0f} missed links); any threshold in "
            f"{self.band[0]:.3f}-{self.band[1]:.3f} is within 0.001 of the best estimated F1"
        )


def _gamma_cdf(x: npt.NDArray[np.float64], shape: float, scale: float) -> npt.NDArray[np.float64]:
    """Regularised lower incomplete gamma P(shape, x / scale), by series and continued
    fraction (Numerical Recipes' method), vectorised over x."""
    z = np.asarray(x, dtype=np.float64) / scale
    out = np.zeros_like(z)
    log_gamma = math.lgamma(shape)
    for i, value in np.ndenumerate(z):
        v = float(value)
        if v <= 0:
            continue
        if v < shape + 1:
            term = total = 1.0 / shape
            a = shape
            for _ in range(500):
                a += 1
                term *= v / a
                total += term
                if abs(term) < abs(total) * 1e-12:
                    break
            out[i] = total * math.exp(-v + shape * math.log(v) - log_gamma)
        else:
            b = v + 1 - shape
            c = 1 / 1e-300
            d = 1 / b
            h = d
            for n in range(1, 500):
                an = -n * (n - shape)
                b += 2
                d = an * d + b
                d = 1e-300 if abs(d) < 1e-300 else d
                c = b + an / c
                c = 1e-300 if abs(c) < 1e-300 else c
                d = 1 / d
                step = d * c
                h *= step
                if abs(step - 1) < 1e-12:
                    break
            out[i] = 1 - math.exp(-v + shape * math.log(v) - log_gamma) * h
    return out


def _gamma_logpdf(
    x: npt.NDArray[np.float64], shape: float, scale: float
) -> npt.NDArray[np.float64]:
    x = np.clip(x, 1e-12, None)
    result: npt.NDArray[np.float64] = (
        (shape - 1) * np.log(x) - x / scale - math.lgamma(shape) - shape * math.log(scale)
    )
    return result


def _gumbel_logpdf(
    x: npt.NDArray[np.float64], location: float, scale: float
) -> npt.NDArray[np.float64]:
    z = (x - location) / scale
    result: npt.NDArray[np.float64] = -math.log(scale) - z - np.exp(-z)
    return result


@dataclass(frozen=True)
class StrangerSample:
    """Runner-up scores: those at or above the scoring floor, and how many fell under it
    (or had no runner-up at all)."""

    values: npt.NDArray[np.float64]
    censored: int

    def plus(self, other: StrangerSample) -> StrangerSample:
        """Both samples together."""
        return StrangerSample(
            np.concatenate([self.values, other.values]), self.censored + other.censored
        )

    def gumbel(self, *, sparse: bool = False) -> tuple[float, float] | None:
        """(location, scale) of the strangers' law from the median (or the first quantile
        above the share under the floor) and the 85th percentile, or None when the sample
        is too small (under 5 runner-ups seen) to give them. When most runner-ups fell
        under the floor, only a `sparse` caller (whose best scores hold too few strangers
        for anything better) gets a law from the few seen."""
        total = len(self.values) + self.censored
        if len(self.values) < 5 or total == 0:
            return None
        censored = self.censored / total
        low, high = max(0.5, censored + 0.05), 0.85
        if high - low < 0.1:
            if not sparse:
                return None
            # Most runner-ups fell under the floor and the best scores hold too few
            # strangers to do better (a small run): the law is fitted to what was seen,
            # its lower quarter against the top of its upper part.
            low, high = censored + 0.25 * (1 - censored), censored + 0.85 * (1 - censored)

        def quantile(p: float) -> float:
            return float(np.quantile(self.values, (p - censored) / (1 - censored)))

        x_low, x_high = quantile(low), quantile(high)
        spread = math.log(-math.log(low)) - math.log(-math.log(high))
        if x_high <= x_low:
            return None
        scale = (x_high - x_low) / spread
        return x_low + scale * math.log(-math.log(low)), scale


def fit_mixture(
    best_scores: npt.NDArray[np.float64],
    iterations: int = 200,
    strangers: tuple[float, float] | None = None,
    floor: float = 0.0,
) -> MixtureFit:
    """EM for the two-component model on each record's best score; with `strangers`
    (location, scale) the strangers' law is held at it, taken above `floor` (no best
    score under it was seen), and only the rest is fitted."""
    s = np.asarray(best_scores, dtype=np.float64)
    # log P(a stranger scores at least the floor): the held law's density is divided by
    # it, as only scores above the floor are here.
    above = 0.0
    if strangers is not None and floor > 0:
        z_floor = (floor - strangers[0]) / strangers[1]
        above = math.log(max(1.0 - math.exp(-math.exp(-z_floor)), 1e-300))
    identical = s >= _IDENTICAL
    cont = s[~identical]
    gap = 1.0 - cont
    # Start: the middle of the range splits the groups.
    split = 0.5 * (np.quantile(s, 0.1) + 1.0)
    resp = (cont >= split).astype(np.float64)  # P(match) for continuous scores
    weight = (identical.sum() + resp.sum()) / len(s)
    shape, scale, loc, beta = 1.0, 0.05, float(np.median(cont)), 0.03
    if strangers is not None:
        loc, beta = strangers
        # Start from what the fixed law says each score is.
        log_stranger = _gumbel_logpdf(cont, loc, beta) - above
        log_match = _gamma_logpdf(gap, 2.0, 0.05)
        resp = 1.0 / (1.0 + np.exp(np.clip(log_stranger - log_match, -700, 700)))
    for _ in range(iterations):
        w1, w0 = resp, 1.0 - resp
        if w1.sum() > 1e-9:
            mean1 = float(np.average(gap, weights=w1))
            var1 = float(np.average((gap - mean1) ** 2, weights=w1)) or 1e-6
            shape, scale = max(mean1**2 / var1, 0.05), max(var1 / mean1, 1e-6)
        if strangers is None and w0.sum() > 1e-9:
            mean0 = float(np.average(cont, weights=w0))
            var0 = float(np.average((cont - mean0) ** 2, weights=w0)) or 1e-6
            beta = max(math.sqrt(6 * var0) / math.pi, 1e-4)
            loc = mean0 - _EULER * beta
        matches_cont = resp.sum()
        weight = (identical.sum() + matches_cont) / len(s)
        p_identical = identical.sum() / max(identical.sum() + matches_cont, 1e-9)
        log_match = math.log(max(weight * (1 - p_identical), 1e-300)) + _gamma_logpdf(
            gap, shape, scale
        )
        log_stranger = math.log(max(1 - weight, 1e-300)) + _gumbel_logpdf(cont, loc, beta) - above
        new = 1.0 / (1.0 + np.exp(np.clip(log_stranger - log_match, -700, 700)))
        if np.max(np.abs(new - resp)) < 1e-7:
            resp = new
            break
        resp = new
    matches = identical.sum() + resp.sum()
    return MixtureFit(
        match_weight=float(matches / len(s)),
        identical_share=float(identical.sum() / max(matches, 1e-9)),
        gamma_shape=shape,
        gamma_scale=scale,
        gumbel_location=loc,
        gumbel_scale=beta,
        records=len(s),
        floor=floor if strangers is not None else 0.0,
    )


def estimate(
    fit: MixtureFit, thresholds: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """Expected links, false links, missed links, precision, recall and F1 at each threshold."""
    n1 = fit.match_weight * fit.records
    n0 = fit.records - n1
    false = n0 * fit.stranger_tail(thresholds)
    missed = n1 * fit.match_below(thresholds)
    true = n1 - missed
    precision = np.where(true + false > 0, true / np.maximum(true + false, 1e-12), 1.0)
    recall = true / max(n1, 1e-12)
    f1 = np.where(
        precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0
    )
    return {
        "links": true + false,
        "false": false,
        "missed": missed,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def lowest_meeting(fit: MixtureFit, min_precision: float) -> float | None:
    """The lowest threshold on the grid whose estimated precision is at least
    `min_precision` (None: none is)."""
    ok = GRID[estimate(fit, GRID)["precision"] >= min_precision]
    return float(ok.min()) if len(ok) else None


def propose_threshold(
    best_scores: npt.NDArray[np.float64],
    strangers: StrangerSample | None = None,
    floor: float = 0.0,
    *,
    sparse: bool = False,
) -> ThresholdProposal:
    """Fit the mixture and pick the threshold with the best estimated F1 (the strangers'
    law from the runner-up scores, when given and usable)."""
    if len(best_scores) < 20:
        raise ValueError("too few scored records to propose a threshold; give one explicitly")
    if np.count_nonzero(best_scores < _IDENTICAL) < 20:
        raise ValueError(
            "the scores show too few records below a perfect match to tell strangers from "
            "matches; give a threshold explicitly"
        )
    law = strangers.gumbel(sparse=sparse) if strangers else None
    fit = fit_mixture(best_scores, strangers=law, floor=floor)
    est = estimate(fit, GRID)
    best = int(np.argmax(est["f1"]))
    near = GRID[est["f1"] >= est["f1"][best] - 0.001]
    return ThresholdProposal(
        threshold=float(GRID[best]),
        estimated_precision=float(est["precision"][best]),
        estimated_recall=float(est["recall"][best]),
        estimated_f1=float(est["f1"][best]),
        expected_false_links=float(est["false"][best]),
        expected_missed_links=float(est["missed"][best]),
        band=(float(near.min()), float(near.max())),
        fit=fit,
    )


def best_scores(
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    n_left: int,
    n_right: int,
) -> npt.NDArray[np.float64]:
    """Each record's best candidate score, on both sides (records with none are left out)."""
    out = []
    for index, n in ((left, n_left), (right, n_right)):
        best = np.full(n, -1.0)
        np.maximum.at(best, index, scores)
        out.append(best[best >= 0])
    return np.concatenate(out)


def proposal_document(proposal: ThresholdProposal | None, best: np.ndarray[Any, Any]) -> str:
    """A run's stored proposal: the histogram of each record's best score, and the
    proposed threshold with its estimates and fitted mixture (from which the operators'
    threshold table is recomputed at any threshold)."""
    edges = np.round(np.arange(0.5, 1.0001, 0.005), 3)
    counts, _ = np.histogram(np.clip(best, 0.5, 1.0), bins=edges)
    data: dict[str, Any] = {
        "best_score_histogram": {"edges": edges.tolist(), "counts": counts.tolist()}
    }
    if proposal is not None:
        data.update(
            summary=proposal.summary(),
            threshold=proposal.threshold,
            estimated_precision=proposal.estimated_precision,
            estimated_recall=proposal.estimated_recall,
            estimated_f1=proposal.estimated_f1,
            band=list(proposal.band),
            # The fitted mixture, so the threshold table can be recomputed at any threshold.
            fit=dataclasses.asdict(proposal.fit),
        )
    return json.dumps(data)
