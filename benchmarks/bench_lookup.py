"""Intake lookup: one encoding scored against every stored encoding (issue 19's target:
p95 under 200 ms at 1,000,000 stored records on 2 cores).

Five agencies' worth of random 1,024-bit CLKs (45% of bits set, as the v4 schema sets)
at 100,000 and 1,000,000 records; 200 questions, half a stored person with 40 bits
flipped (a typo'd intake), half a stranger. Reference, measured in the same run on the
same encodings: anonlink's `dice_coefficient_accelerated`, the scorer clkhash users
reach for, on a 100,000-record slice (scaled to the full size, since it is linear).
"found / asked for" counts the typo'd people found at their own stored record.
"""

from __future__ import annotations

import os
import time

import numpy as np
from anonlink.similarities import dice_coefficient_accelerated
from bitarray import bitarray
from rich.console import Console
from rich.table import Table

from hub.linkage.lookup import EncodingIndex

SIZES = [int(s) for s in os.environ.get("PPRL_BENCH_LOOKUP_SIZES", "100000,1000000").split(",")]
QUESTIONS = int(os.environ.get("PPRL_BENCH_LOOKUP_QUESTIONS", "200"))
AGENCIES = ("DCFS", "DJJ", "DWD", "DOR", "DOC")
FLOOR = 0.8
REFERENCE_SLICE = 100_000
REFERENCE_QUESTIONS = 10


def run() -> None:
    """Measure and print."""
    table = Table(
        "stored records",
        "p50",
        "p95",
        "found / asked for",
        "reference (anonlink)",
        "ratio",
        title=f"intake lookup: one encoding against every stored one ({QUESTIONS} questions)",
    )
    for size in SIZES:
        table.add_row(*_row(size))
    Console(width=140).print(table)


def _row(size: int) -> list[str]:
    rng = np.random.default_rng(size)
    # In chunks: a million rows of 1,024 random floats at once would be 8 GB.
    clks = np.concatenate(
        [
            np.packbits(rng.random((min(50_000, size - start), 1024)) < 0.45, axis=1)
            for start in range(0, size, 50_000)
        ]
    )
    index = EncodingIndex()
    per = size // len(AGENCIES)
    for k, agency in enumerate(AGENCIES):
        rows = clks[k * per : (k + 1) * per]
        index.replace(agency, [f"{agency}-{i}" for i in range(len(rows))], rows.view(np.uint64))
    wanted = rng.choice(per * len(AGENCIES), QUESTIONS // 2, replace=False)
    questions = [_typo(bytes(clks[i]), rng) for i in wanted]
    questions += [bytes(np.packbits(rng.random(1024) < 0.45)) for _ in range(QUESTIONS // 2)]
    timings, found = [], 0
    for n, clk in enumerate(questions):
        started = time.perf_counter()
        matches = index.match(clk, FLOOR)
        timings.append(time.perf_counter() - started)
        if n < len(wanted):
            agency, row = AGENCIES[wanted[n] // per], wanted[n] % per
            found += any(m.agency == agency and m.ref == f"{agency}-{row}" for m in matches)
    p50, p95 = np.percentile(timings, [50, 95]) * 1000
    reference_ms = _reference(clks[: min(size, REFERENCE_SLICE)], questions) * size
    return [
        f"{size:,}",
        f"{p50:.1f} ms",
        f"{p95:.1f} ms",
        f"{found} / {len(wanted)}",
        f"{reference_ms:.0f} ms a question",
        f"{reference_ms / p50:.1f}x faster",
    ]


def _typo(clk: bytes, rng: np.random.Generator) -> bytes:
    bits = np.unpackbits(np.frombuffer(clk, np.uint8))
    bits[rng.choice(1024, 40, replace=False)] ^= 1
    return bytes(np.packbits(bits))


def _reference(stored: np.ndarray, questions: list[bytes]) -> float:
    """anonlink's milliseconds per stored record for one question, on `stored`."""
    filters = []
    for row in stored:
        bits = bitarray()
        bits.frombytes(bytes(row))
        filters.append(bits)
    started = time.perf_counter()
    for clk in questions[:REFERENCE_QUESTIONS]:
        query = bitarray()
        query.frombytes(clk)
        dice_coefficient_accelerated([[query], filters], threshold=FLOOR)
    seconds = (time.perf_counter() - started) / REFERENCE_QUESTIONS
    return seconds * 1000 / len(stored)
