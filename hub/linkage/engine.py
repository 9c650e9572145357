"""Batch linkage: every agency's encodings against every other's, into clusters.

Candidates are all pairs when the comparisons fit `exact_limit`, LSH bands otherwise (the
positions are drawn once and kept with the run, so later incremental updates find the
same candidates). Without an operator's threshold, a first pass scores candidates down to
`floor` to collect each record's best score, the threshold is proposed from those, and
the pairs already kept (at or above `keep`) are reused when the proposal is above `keep`.
Links scoring below `threshold + review_margin` await review: they count for clusters but
are not disclosed until an agency confirms them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import numpy.typing as npt

from hub.linkage.blocking import LshParams
from hub.linkage.executors import Executor, ThreadExecutor
from hub.linkage.kernel import Kernel, Matrix, Pairs, load_kernel
from hub.linkage.memory import keep_big_arrays_out_of_the_heap, release_free_memory
from hub.linkage.refs import Refs
from hub.linkage.results import LinkConfig, UpdateReport
from hub.linkage.runner_up import stranger_sample
from hub.linkage.scoring import Candidates, score_between
from hub.linkage.state import LinkageState
from hub.linkage.threshold import (
    GRID,
    StrangerSample,
    ThresholdProposal,
    lowest_meeting,
    propose_threshold,
)

EXACT_LIMIT = 400_000_000
_POSITION_SAMPLE = 20_000


@dataclass(frozen=True)
class Dataset:
    """One agency's encodings: references and their CLK matrix, row for row."""

    agency: str
    refs: Refs
    clks: Matrix


@dataclass(frozen=True)
class LinkParams:
    """What a linkage run is asked to do."""

    threshold: float | None = None  # None: propose one from the scores
    # A proposed threshold is raised to meet these (the disclosure policy).
    min_threshold: float = 0.0
    min_precision: float = 0.0
    review_margin: float = 0.05
    floor: float = 0.55
    keep: float = 0.70
    dedupe_within: bool = False
    exact_limit: int = EXACT_LIMIT
    lsh: LshParams = field(default_factory=LshParams)


@dataclass
class LinkResult:
    """The linked state and what an operator reviews about the run."""

    state: LinkageState
    threshold_source: str
    proposal: ThresholdProposal | None
    records: dict[str, int]
    comparisons: int
    candidates_scored: int
    seconds: float
    best_scores: npt.NDArray[np.float64]

    @property
    def threshold(self) -> float:
        """The threshold the clusters were solved at."""
        return self.state.config.threshold


def choose_candidates(datasets: list[Dataset], params: LinkParams) -> Candidates:
    """All pairs when they fit `exact_limit`, else LSH positions drawn from every agency."""
    sizes = [len(d.refs) for d in datasets]
    total = sum(x * y for x, y in combinations(sizes, 2))
    if params.dedupe_within:
        total += sum(n * (n - 1) // 2 for n in sizes)
    if total <= params.exact_limit:
        return Candidates()
    share = max(1, _POSITION_SAMPLE // max(1, len(datasets)))
    sample = np.concatenate([d.clks[:share] for d in datasets])
    return Candidates.lsh(sample, params.lsh)


def link(
    datasets: list[Dataset],
    params: LinkParams = LinkParams(),
    *,
    kernel: Kernel | None = None,
    executor: Executor | None = None,
    progress: Callable[[str], None] | None = None,
    clusters: Mapping[str, npt.NDArray[np.int64]] | None = None,
    next_cluster: int = 1,
) -> LinkResult:
    """Link the datasets (see the module notes). `clusters`, row for row with each
    dataset, are the ids records had before: re-solved clusters keep them where they
    can. New clusters are numbered from `next_cluster` up."""
    started = time.perf_counter()
    keep_big_arrays_out_of_the_heap()
    kernel = kernel or load_kernel()
    executor = executor or ThreadExecutor(kernel)
    names = [d.agency for d in datasets]
    if not datasets:
        raise ValueError("nothing to link: no encodings were given")
    if len(set(names)) != len(names):
        raise ValueError("one dataset per agency")
    datasets = sorted(datasets, key=lambda d: d.agency)
    candidates = choose_candidates(datasets, params)
    if progress:
        progress(f"candidates: {candidates.method}")
    kept: dict[tuple[str, str], Pairs] = {}
    comparisons = scored = 0
    proposal = None
    if params.threshold is None:
        scoring = _ScoringContext(candidates, kernel, executor, progress)
        kept, best_scores, comparisons, scored = _first_pass(datasets, params, scoring)
        proposal = _propose(best_scores, datasets, params, scoring)
        threshold, source = proposal.threshold, "proposed from the score distribution"
        meets = lowest_meeting(proposal.fit, params.min_precision) if params.min_precision else 0
        required = max(params.min_threshold, GRID[-1] if meets is None else meets)
        if required > threshold:
            threshold = required
            source = f"proposed, raised to the disclosure policy ({required:.3f})"
    else:
        threshold, source = params.threshold, "set by the operator"
        best_scores = np.zeros(0)
    config = LinkConfig(threshold, params.review_margin, params.dedupe_within, candidates)
    state = LinkageState(config, words=datasets[0].clks.shape[1] if datasets else 16)
    state.next_cluster = next_cluster
    if progress:
        progress(f"linking at threshold {threshold:.3f}")
    upserts = {d.agency: (d.refs, d.clks) for d in datasets}
    if kept and threshold >= params.keep:
        update = state.load_scored(upserts, kept, clusters)
    else:
        update = state.update(
            upserts, kernel=kernel, executor=executor, adopt=True, clusters=clusters
        )
        comparisons, scored = (
            comparisons + update.comparisons,
            scored + update.candidates_scored,
        )
    return LinkResult(
        state=state,
        threshold_source=source,
        proposal=proposal,
        records={d.agency: len(d.refs) for d in datasets},
        comparisons=comparisons,
        candidates_scored=scored,
        seconds=time.perf_counter() - started,
        best_scores=best_scores,
    )


@dataclass(frozen=True)
class _ScoringContext:
    candidates: Candidates
    kernel: Kernel
    executor: Executor
    progress: Callable[[str], None] | None


def _first_pass(
    datasets: list[Dataset], params: LinkParams, ctx: _ScoringContext
) -> tuple[dict[tuple[str, str], Pairs], npt.NDArray[np.float64], int, int]:
    """Pairs scoring at least `keep`, each record's best score against other agencies
    (at least `floor`), and the comparisons and candidates scored."""
    best = {d.agency: np.full(len(d.refs), -1.0) for d in datasets}
    kept: dict[tuple[str, str], Pairs] = {}
    comparisons = scored = 0
    for a, b in combinations(datasets, 2):
        if ctx.progress:
            ctx.progress(f"scoring {a.agency} x {b.agency} for the threshold")
        kept[a.agency, b.agency], report = score_between(
            a.clks,
            b.clks,
            params.floor,
            candidates=ctx.candidates,
            keep=params.keep,
            best=(best[a.agency], best[b.agency]),
            kernel=ctx.kernel,
            executor=ctx.executor,
        )
        comparisons += report.comparisons
        scored += report.candidates_scored
    if params.dedupe_within:
        # An agency's own pairs are kept from the same pass (so the run need not score
        # everything again), but stay out of the best scores: the threshold is learned
        # from pairs between agencies.
        for d in datasets:
            if ctx.progress:
                ctx.progress(f"scoring {d.agency} against itself")
            kept[d.agency, d.agency], report = score_between(
                d.clks,
                d.clks,
                params.keep,
                candidates=ctx.candidates,
                same=True,
                kernel=ctx.kernel,
                executor=ctx.executor,
            )
            comparisons += report.comparisons
            scored += report.candidates_scored
    release_free_memory()
    return kept, np.concatenate([v[v >= 0] for v in best.values()]), comparisons, scored


# Above this share of records with a match, the best scores hold too few strangers to
# learn their law from (two agencies serving nearly the same people).
_SCARCE_STRANGERS = 0.7
# Up to this many records on the smaller side the runner-up pass always runs: it is
# cheap there, and small samples of best scores alone give unsteady fits.
_SMALL_SIDE = 50_000
_FEW_STRANGERS = 100


def _propose(
    best_scores: npt.NDArray[np.float64],
    datasets: list[Dataset],
    params: LinkParams,
    ctx: _ScoringContext,
) -> ThresholdProposal:
    """The threshold from the best scores, with the strangers' law learned from runner-up
    scores where the best scores alone cannot be trusted (few strangers, or few records);
    on large runs with strangers enough, the extra pass (a fifth of the run) is skipped."""
    proposal = propose_threshold(best_scores)
    smallest = min(len(d.refs) for d in datasets)
    if proposal.fit.match_weight <= _SCARCE_STRANGERS and smallest > _SMALL_SIDE:
        return proposal
    strangers = StrangerSample(np.zeros(0), 0)
    for a, b in combinations(datasets, 2):
        strangers = strangers.plus(
            stranger_sample(
                a.clks,
                b.clks,
                params.floor,
                candidates=ctx.candidates,
                kernel=ctx.kernel,
                executor=ctx.executor,
            )
        )
    # Under about a hundred strangers among the best scores, even a law fitted to a few
    # runner-ups beats the best scores' own fit.
    sparse = (1 - proposal.fit.match_weight) * proposal.fit.records < _FEW_STRANGERS
    return propose_threshold(best_scores, strangers, floor=params.floor, sparse=sparse)


__all__ = ["Dataset", "LinkParams", "LinkResult", "UpdateReport", "choose_candidates", "link"]
