"""Scoring one intake encoding against every stored one: a typo'd copy of a stored
person is found at its exact Dice score, a stranger is not, and the asking agency's own
records and removed records never come back."""

from __future__ import annotations

import numpy as np
import pytest
from anonlink.similarities import dice_coefficient_accelerated
from bitarray import bitarray

from hub.linkage.kernel import _LIBRARY, Kernel, NativeKernel, as_matrix
from hub.linkage.lookup import EncodingIndex
from hub.linkage.refs import StateError

KERNELS = [Kernel, NativeKernel] if _LIBRARY.exists() else [Kernel]


def _clks(rng: np.random.Generator, n: int) -> list[bytes]:
    return [bytes(np.packbits(rng.random(1024) < 0.45)) for _ in range(n)]


def _typo(clk: bytes, rng: np.random.Generator, flips: int = 40) -> bytes:
    bits = np.unpackbits(np.frombuffer(clk, np.uint8))
    bits[rng.choice(1024, flips, replace=False)] ^= 1
    return bytes(np.packbits(bits))


@pytest.mark.parametrize("make", KERNELS)
def test_a_typod_intake_finds_the_stored_person_at_the_exact_score(make: type[Kernel]) -> None:
    rng = np.random.default_rng(7)
    stored = _clks(rng, 500)
    index = EncodingIndex(kernel=make())
    index.replace("DOC", [f"d{i}" for i in range(500)], as_matrix(stored))
    index.replace("DWD", [f"w{i}" for i in range(300)], as_matrix(_clks(rng, 300)))
    intake = _typo(stored[123], rng)
    found = index.match(intake, 0.8)
    assert [(c.agency, c.ref) for c in found] == [("DOC", "d123")]
    a, b = bitarray(), bitarray()
    a.frombytes(intake)
    b.frombytes(stored[123])
    sims, _ = dice_coefficient_accelerated([[a], [b]], threshold=0.0)
    assert found[0].score == float(sims[0])  # anonlink's score, bit for bit
    assert index.match(_clks(rng, 1)[0], 0.8) == []  # a stranger


def test_the_asking_agency_and_removed_records_are_not_answered() -> None:
    rng = np.random.default_rng(8)
    person = _clks(rng, 1)[0]
    index = EncodingIndex()
    index.replace("DCFS", ["c1"], as_matrix([person]))
    index.replace("DOC", ["d1", "d2"], as_matrix([person, _clks(rng, 1)[0]]))
    assert [c.agency for c in index.match(person, 0.9, skip="DCFS")] == ["DOC"]
    index.apply("DOC", ([], as_matrix([])), ["d1"])
    assert index.match(person, 0.9, skip="DCFS") == []
    assert len(index) == 2
    index.apply("DOC", (["d3"], as_matrix([person])), [])
    assert [(c.ref, c.score) for c in index.match(person, 0.9, skip="DCFS")] == [("d3", 1.0)]


def test_a_changed_record_is_scored_on_its_new_encoding_only() -> None:
    rng = np.random.default_rng(9)
    old, new = _clks(rng, 2)
    index = EncodingIndex()
    index.replace("DOC", ["d1"], as_matrix([old]))
    index.apply("DOC", (["d1"], as_matrix([new])), [])
    assert index.match(old, 0.9) == []
    assert [c.ref for c in index.match(new, 0.9)] == ["d1"]
    assert len(index) == 1


def test_an_encoding_of_another_size_is_refused() -> None:
    with pytest.raises(StateError, match="64 bytes"):
        EncodingIndex().match(bytes(64), 0.8)


def test_a_typod_intake_is_found_among_a_million_and_a_stranger_is_not() -> None:
    rng = np.random.default_rng(10)
    index = EncodingIndex()
    for agency in ("DCFS", "DJJ", "DWD", "DOR", "DOC"):
        rows = rng.integers(0, 2**64, size=(200_000, 16), dtype=np.uint64)
        index.replace(agency, [f"{agency}-{i}" for i in range(len(rows))], rows)
        if agency == "DOC":
            person = bytes(rows[123_456])
    assert len(index) == 1_000_000
    found = index.match(_typo(person, rng), 0.8, skip="DCFS")
    assert [(c.agency, c.ref) for c in found] == [("DOC", "DOC-123456")]
    assert index.match(bytes(rng.integers(0, 256, 128, dtype=np.uint8)), 0.8) == []
