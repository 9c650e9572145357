"""Chunked scoring gives the same pairs on threads and on a Dask cluster."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from distributed import Client, LocalCluster

from hub.linkage.executors import DaskExecutor, ThreadExecutor
from hub.linkage.kernel import Matrix, load_kernel
from hub.linkage.results import LinkConfig
from hub.linkage.scoring import Candidates, score_between
from hub.linkage.state import LinkageState


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def _population(seed: int, n: int) -> tuple[Matrix, Matrix]:
    rng = np.random.default_rng(seed)
    base = rng.random((n, 1024)) < 0.45
    noisy = base ^ (rng.random(base.shape) < 0.05)
    noisy[n // 3 :] = rng.random((n - n // 3, 1024)) < 0.45
    pack = lambda bits: np.packbits(bits, axis=1, bitorder="little").view(np.uint64)  # noqa: E731
    return pack(base), pack(noisy)


@pytest.mark.parametrize("lsh", [False, True])
def test_dask_and_threads_find_the_same_pairs_with_the_same_scores(
    dask_client: Client, lsh: bool
) -> None:
    a, b = _population(1, 1500)
    candidates = Candidates.lsh(a) if lsh else Candidates()
    on_threads, report_threads = score_between(
        a, b, 0.6, candidates=candidates, executor=ThreadExecutor(load_kernel(), threads=2)
    )
    on_dask, report_dask = score_between(
        a, b, 0.6, candidates=candidates, executor=DaskExecutor(dask_client, in_flight=3)
    )
    assert len(on_threads) > 400
    assert np.array_equal(on_threads.left, on_dask.left)
    assert np.array_equal(on_threads.right, on_dask.right)
    assert np.array_equal(on_threads.scores, on_dask.scores)
    assert report_threads == report_dask


def test_a_linkage_state_updated_on_dask_equals_one_updated_on_threads(
    dask_client: Client,
) -> None:
    a, b = _population(2, 600)
    refs = [f"r{i}" for i in range(600)]
    states = []
    for executor in (ThreadExecutor(threads=1), DaskExecutor(dask_client)):
        state = LinkageState(LinkConfig(threshold=0.8))
        state.update({"cw": (refs, a), "dj": (refs[:300], b[:300])}, executor=executor)
        state.update({"dj": (refs[300:], b[300:])}, {"cw": refs[:10]}, executor=executor)
        states.append(state)
    assert states[0].partition() == states[1].partition()
    assert states[0].links() == states[1].links()
    assert len(states[0].partition()) > 150
