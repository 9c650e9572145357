"""Where chunks of scoring run: threads of this process (the default), or a Dask cluster.

The native kernel releases the GIL, so on one machine threads give what worker processes
would, without copying the encodings into each process. A Dask cluster spreads chunks over
machines: the two matrices are scattered to every worker once, then each chunk travels as a
small description. Both run the same function on the same chunks, so results are the same.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from hub.linkage.kernel import Kernel, Matrix, Pairs, load_kernel

# ("block", a0, a1, b0, b1): every pair of a[a0:a1] x b[b0:b1].
# ("pairs", left, right): the listed pairs.
WorkItem = tuple[Any, ...]


def score_item(  # noqa: PLR0917  (the data, the chunk, and how to score it)
    kernel: Kernel,
    a: Matrix,
    pa: npt.NDArray[np.uint32],
    b: Matrix,
    pb: npt.NDArray[np.uint32],
    item: WorkItem,
    floor: float,
    same: bool,
) -> Pairs:
    """Pairs of one chunk scoring at least `floor`, indices into a and b."""
    if item[0] == "block":
        _, a0, a1, b0, b1 = item
        part = kernel.block(a[a0:a1], pa[a0:a1], b[b0:b1], pb[b0:b1], floor)
        left, right, scores = part.left + a0, part.right + b0, part.scores
    else:
        _, left, right = item
        scores = kernel.score_pairs(a, pa, b, pb, left, right)
        hit = scores >= floor
        left, right, scores = left[hit], right[hit], scores[hit]
    if same:
        upper = left < right
        left, right, scores = left[upper], right[upper], scores[upper]
    return Pairs(left, right, scores)


class Executor(Protocol):
    """Runs `score_item` over chunks; results may come back in any order."""

    name: str

    def score(
        self, a: Matrix, b: Matrix, items: Iterator[WorkItem], floor: float, *, same: bool
    ) -> Iterator[Pairs]:
        """Each chunk's pairs at or above `floor`."""
        ...


class ThreadExecutor:
    """Threads of this process; at most one chunk per thread waits, so memory stays
    bounded however many candidates blocking produces."""

    def __init__(self, kernel: Kernel | None = None, threads: int | None = None) -> None:
        self.kernel = kernel or load_kernel()
        self.threads = threads or os.cpu_count() or 1
        self.name = f"threads:{self.threads}"

    def score(
        self, a: Matrix, b: Matrix, items: Iterator[WorkItem], floor: float, *, same: bool
    ) -> Iterator[Pairs]:
        """Each chunk's pairs at or above `floor`."""
        pa, pb = self.kernel.popcounts(a), self.kernel.popcounts(b)
        if self.threads == 1:
            for item in items:
                yield score_item(self.kernel, a, pa, b, pb, item, floor, same)
            return
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            pending: deque[Future[Pairs]] = deque()
            for item in items:
                pending.append(
                    pool.submit(score_item, self.kernel, a, pa, b, pb, item, floor, same)
                )
                while len(pending) > self.threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


@cache
def _worker_kernel() -> Kernel:
    return load_kernel()


def _score_on_worker(*args: Any) -> Pairs:
    # The kernel holds a loaded library, which does not pickle: each worker loads its own.
    return score_item(_worker_kernel(), *args)


class DaskExecutor:
    """A Dask cluster, by its client (`distributed.Client`). Workers need this package."""

    def __init__(self, client: Any, in_flight: int | None = None) -> None:
        self.client = client
        workers = client.scheduler_info().get("workers", {})
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
        self.in_flight = in_flight or 2 * threads
        self.name = f"dask:{client.scheduler.address}"
        self.kernel = load_kernel()

    @classmethod
    def connect(cls, address: str) -> DaskExecutor:
        """Connect to a running scheduler, e.g. 'tcp://10.0.0.5:8786'."""
        from distributed import Client

        return cls(Client(address, set_as_default=False))

    def score(
        self, a: Matrix, b: Matrix, items: Iterator[WorkItem], floor: float, *, same: bool
    ) -> Iterator[Pairs]:
        """Each chunk's pairs at or above `floor`."""
        from distributed import as_completed

        pa, pb = self.kernel.popcounts(a), self.kernel.popcounts(b)
        data = self.client.scatter([a, pa, b, pb], broadcast=True, hash=False)
        running = as_completed(loop=self.client.loop)
        count = 0
        try:
            for item in items:
                running.add(
                    self.client.submit(_score_on_worker, *data, item, floor, same, pure=False)
                )
                count += 1
                while count >= self.in_flight:
                    yield next(running).result()
                    count -= 1
            for future in running:
                yield future.result()
        finally:
            self.client.cancel(data)
