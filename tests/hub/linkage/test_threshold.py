from __future__ import annotations

import numpy as np
import pytest

from hub.linkage.threshold import (
    StrangerSample,
    _gamma_cdf,
    estimate,
    fit_mixture,
    lowest_meeting,
    propose_threshold,
)


def _sample(
    rng: np.random.Generator, matches: int, strangers: int
) -> tuple[np.ndarray, np.ndarray]:
    identical = np.ones(int(matches * 0.4))
    rest = 1 - rng.gamma(1.5, 0.05, matches - len(identical))
    stranger = rng.gumbel(0.65, 0.03, strangers)
    scores = np.clip(np.concatenate([identical, rest, stranger]), 0, 1)
    is_match = np.concatenate([np.ones(matches, bool), np.zeros(strangers, bool)])
    return scores, is_match


def test_fit_recovers_the_components_and_the_error_estimates_hold() -> None:
    rng = np.random.default_rng(1)
    scores, is_match = _sample(rng, 40_000, 60_000)
    proposal = propose_threshold(scores)
    fit = proposal.fit
    assert fit.match_weight == pytest.approx(0.4, abs=0.01)
    assert fit.gumbel_location == pytest.approx(0.65, abs=0.01)
    t = proposal.threshold
    true_precision = (is_match & (scores >= t)).sum() / (scores >= t).sum()
    true_recall = (is_match & (scores >= t)).sum() / is_match.sum()
    assert proposal.estimated_precision == pytest.approx(true_precision, abs=0.02)
    assert proposal.estimated_recall == pytest.approx(true_recall, abs=0.02)
    # And the proposal is near the threshold with the best true F1.
    grid = np.arange(0.6, 0.95, 0.005)
    f1 = [
        2 * (is_match & (scores >= g)).sum() / ((scores >= g).sum() + is_match.sum()) for g in grid
    ]
    best_true = float(grid[int(np.argmax(f1))])
    assert abs(t - best_true) <= 0.03
    assert proposal.band[0] <= t <= proposal.band[1]
    assert "estimated precision" in proposal.summary()


def test_gamma_cdf_matches_known_values() -> None:
    # Exponential (shape 1): 1 - exp(-x/scale); shape 2: 1 - (1 + x) e^-x.
    x = np.array([0.0, 0.5, 1.0, 3.0, 10.0])
    assert np.allclose(_gamma_cdf(x, 1.0, 1.0), 1 - np.exp(-x), atol=1e-10)
    assert np.allclose(_gamma_cdf(x, 2.0, 1.0), 1 - (1 + x) * np.exp(-x), atol=1e-10)


def test_estimates_are_monotone_in_the_threshold() -> None:
    scores, _ = _sample(np.random.default_rng(2), 5_000, 5_000)
    est = estimate(fit_mixture(scores), np.arange(0.6, 0.95, 0.01))
    assert np.all(np.diff(est["false"]) <= 1e-9)
    assert np.all(np.diff(est["missed"]) >= -1e-9)


def test_too_few_scores_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="too few"):
        propose_threshold(np.array([0.9, 0.5]))


def test_the_lowest_threshold_meeting_a_precision_is_where_the_estimate_crosses_it() -> None:
    scores, _ = _sample(np.random.default_rng(3), 5_000, 5_000)
    fit = fit_mixture(scores)
    lowest = lowest_meeting(fit, 0.99)
    assert lowest is not None
    assert estimate(fit, np.array([lowest]))["precision"][0] >= 0.99
    assert estimate(fit, np.array([lowest - 0.005]))["precision"][0] < 0.99
    assert lowest_meeting(fit, 1.0 + 1e-9) is None


def test_where_nearly_everyone_has_a_match_the_runner_up_scores_teach_the_strangers() -> None:
    """Two agencies serving almost the same people (FEBRL4-like): 97% of the best scores
    are matches, so the best scores alone hold too few strangers and the fit takes the
    matches' lower tail for them. The runner-up scores (strangers, for every record) put
    the strangers where they are; the estimates then hold (scores under the 0.55 floor
    are never seen, as in a run)."""
    rng = np.random.default_rng(7)
    floor = 0.55
    matches = 1 - rng.gamma(1.6, 0.07, 9_700)
    strangers = rng.gumbel(0.60, 0.02, 300)
    best = np.concatenate([matches, strangers])
    is_match = np.concatenate([np.ones(len(matches), bool), np.zeros(len(strangers), bool)])
    seen = best >= floor
    best, is_match = best[seen], is_match[seen]
    runner_up = rng.gumbel(0.58, 0.02, 10_000)
    sample = StrangerSample(runner_up[runner_up >= floor], int((runner_up < floor).sum()))
    proposal = propose_threshold(best, sample, floor=floor)
    t = proposal.threshold
    true_precision = (is_match & (best >= t)).sum() / (best >= t).sum()
    true_recall = (is_match & (best >= t)).sum() / is_match.sum()
    assert proposal.estimated_precision == pytest.approx(true_precision, abs=0.02)
    assert proposal.estimated_recall == pytest.approx(true_recall, abs=0.02)
    assert true_precision >= 0.99
    # Without them the same best scores mislead the fit: its estimate is further off, and
    # its threshold, where strangers are scarce, costs matches.
    blind = propose_threshold(best)
    kept = best >= blind.threshold
    blind_precision = (is_match & kept).sum() / kept.sum()
    blind_recall = (is_match & kept).sum() / is_match.sum()
    assert abs(blind.estimated_precision - blind_precision) > abs(
        proposal.estimated_precision - true_precision
    )
    assert true_recall > blind_recall


def test_a_small_run_learns_the_strangers_from_the_few_runner_ups_it_saw() -> None:
    """150 records a side whose strangers almost never reach the scoring floor: eight
    runner-ups of 300 were seen. Only a caller whose best scores hold too few strangers
    (`sparse`) fits a law to them, and that law says strangers stay under 0.65."""
    seen = np.array([0.553, 0.554, 0.557, 0.557, 0.559, 0.567, 0.601, 0.607])
    sample = StrangerSample(seen, 292)
    assert sample.gumbel() is None
    law = sample.gumbel(sparse=True)
    assert law is not None
    location, scale = law
    above = 1 - np.exp(-np.exp(-(0.65 - location) / scale))
    assert above < 0.001
