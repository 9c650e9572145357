"""Each record's second-best score against another agency: a sample of what strangers
score.

A record's best score against another agency is its match when that agency holds the
person, and the best of strangers when it does not. Its second-best score against the
same agency is, almost always, the best of strangers: an agency holds a person once
(own duplicates aside). So second-best scores sample what strangers score, for every
record, even where nearly everyone has a match elsewhere (where the best scores alone
hold almost no strangers to learn from). `hub.linkage.threshold` fits the strangers'
law to them.

They are taken from every record of a side of up to `SAMPLE` records, else from every
k-th record (a law is learned as well from 5,000 records as from all), scored in a pass
of their own against the other side with the run's own candidates (the law of the best
of strangers depends on how many strangers a record meets: as many as in the run).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hub.linkage.executors import Executor
from hub.linkage.kernel import Kernel, Matrix
from hub.linkage.scoring import Candidates, score_between
from hub.linkage.threshold import StrangerSample

SAMPLE = 5_000


def sampled_rows(n: int, sample: int = SAMPLE) -> npt.NDArray[np.int64]:
    """Every record when there are at most `sample`, else every k-th."""
    return np.arange(0, n, max(1, -(-n // sample)), dtype=np.int64)


def second_best(
    left: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], rows: int
) -> npt.NDArray[np.float64]:
    """Each of `rows` records' second-best score among distinct pairs (-1: none)."""
    out = np.full(rows, -1.0)
    if not len(left):
        return out
    order = np.lexsort((-scores, left))
    left, scores = left[order], scores[order]
    first = np.ones(len(left), bool)
    first[1:] = left[1:] != left[:-1]
    starts = np.nonzero(first)[0]
    after = starts + 1
    has = after < len(left)
    has[has] = left[after[has]] == left[starts[has]]
    out[left[starts[has]]] = scores[after[has]]
    return out


def stranger_sample(
    a: Matrix,
    b: Matrix,
    floor: float,
    *,
    candidates: Candidates,
    kernel: Kernel,
    executor: Executor,
    sample: int = SAMPLE,
) -> StrangerSample:
    """Second-best scores of sampled records of each side against the other."""
    values, censored = [], 0
    for mine, theirs in ((a, b), (b, a)):
        rows = sampled_rows(len(mine), sample)
        pairs, _ = score_between(
            np.ascontiguousarray(mine[rows]),
            theirs,
            floor,
            candidates=candidates,
            kernel=kernel,
            executor=executor,
        )
        second = second_best(pairs.left, pairs.scores, len(rows))
        values.append(second[second >= 0])
        censored += int(np.count_nonzero(second < 0))
    return StrangerSample(np.concatenate(values), censored)
