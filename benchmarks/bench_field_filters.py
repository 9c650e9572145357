"""One filter per record (the served design) against one filter per field with
Fellegi-Sunter weights learnt without labels, on the quality sets, and what each design
gives away: `python -m benchmarks field_filters`.

The per-field design is measured here only; nothing in the node or the hub makes such
filters. Both designs here use schema v4's features (v4 hashes the two names apart, as a
per-field design needs; the served column of the table is the bundled schema). Each
record gets five 512-bit filters under the linkage secret: the given name, the family
name (both under one key, so a given/family swap can be seen), the date of birth (schema
v4's whole date and three partial dates), the SSN (whole, first five, last four) and
schema v4's address and phone tokens (each with the year of birth). A pair's comparison
vector is the agreement level of each field (missing, several Dice bands, disagree); a
name that scores better against the other record's other name counts as that agreement.
The u probabilities come from random pairs, the m probabilities and the share of matches
from EM over the candidate pairs (the pairs whose v4 record filter scores at least
0.45), as Splink does in plaintext; pairs with a match probability of at least 0.5 are
linked and clusters are their connected components.

What it gives away is measured with a frequency alignment: the attacker ranks identical
filters by how many records hold them and gives the n-th most frequent the n-th most
frequent given name of the records' true names (a perfect public name list: an upper
bound; ties are broken at random). Under the per-field design a given name always makes
the same filter; under the record design nothing identical is shared but by one
person's records.
"""

from __future__ import annotations

import base64
import copy
import os
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from benchmarks.bench_quality import (
    BenchSet,
    Score,
    _febrl3,
    _febrl4,
    _generated,
    _pairs,
    _true_pairs,
    _write,
    measure,
)
from hub.linkage.kernel import Matrix, as_matrix
from hub.linkage.scoring import score_between
from keys import new_linkage_secret
from linkage_node import CleanRecord, encode_all, load_schema, validate_roster
from linkage_node.features import feature_values
from linkage_node.schema import LinkageSchema, validate_schema

FIELDS = {
    "dob": ("date_of_birth", "dob_year_month", "dob_year_day", "dob_year_monthday"),
    "ssn": ("ssn", "ssn_head", "ssn_tail"),
    "address": ("address_zip_year",),
    "phone": ("phone_year",),
}
# Dice bands per field, best first; below the last is "disagrees", no filter "missing".
BANDS = {
    "given": (0.95, 0.85, 0.7),
    "family": (0.95, 0.85, 0.7),
    "dob": (0.99, 0.4),
    "ssn": (0.99, 0.4),
    "address": (0.99,),
    "phone": (0.99,),
}
CANDIDATE_FLOOR = 0.45
SCHEMA_V4 = Path(__file__).parents[1] / "linkage_node" / "schemas" / "default-v4.json"
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def run() -> None:
    """Measure every chosen set and print the table."""
    chosen = os.environ.get("PPRL_BENCH_QUALITY_SETS", "febrl4,febrl3,generated").split(",")
    makers = {"febrl4": _febrl4, "febrl3": _febrl3, "generated": _generated}
    splink = os.environ.get("PPRL_BENCH_SPLINK_PYTHON")
    table = Table(
        "set",
        "one filter per record (served)",
        "one filter per field + EM",
        "plaintext Splink",
        "given name recovered by frequency: record / field",
        title="Two designs on the same rows (pairwise F1 on clusters)",
    )
    for name in chosen:
        bench = makers[name.strip()]()
        served = measure(bench, splink)
        field_f1, recovered = _per_field(bench)
        table.add_row(bench.name, served[7], f"{field_f1:.4f}", served[10], recovered)
    Console().print(table)


def _per_field(bench: BenchSet) -> tuple[float, str]:
    secret = new_linkage_secret("bench").secret
    records = _records(bench)
    filters = {name: _encode(records, secret, name) for name in ("given", *FIELDS)}
    filters["family"] = _encode(records, secret, "given", family=True)
    record_schema = load_schema(SCHEMA_V4)
    whole = as_matrix(
        encode_all(record_schema, secret, [feature_values(record_schema, r) for r in records])
    )
    found, _ = score_between(whole, whole, CANDIDATE_FLOOR, same=True)
    left, right = found.left.astype(np.int64), found.right.astype(np.int64)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(records), (2, 400_000))
    u = _frequencies(_vectors(filters, a[a != b], b[a != b]))
    vectors = _vectors(filters, left, right)
    probability = _em(vectors, u)
    hit = probability >= 0.5
    groups = _components(len(records), left[hit], right[hit])
    ids = [r.record_id for r in records]
    clusters = [[ids[i] for i in members] for members in groups]
    f1 = Score.of(_pairs(clusters), _true_pairs(bench.person)).f1
    names = [r.given_name for r in records]
    recovered = f"{_aligned(whole, names):.3f} / {_aligned(filters['given'], names):.3f}"
    return f1, recovered


def _records(bench: BenchSet) -> list[CleanRecord]:
    out: list[CleanRecord] = []
    with tempfile.TemporaryDirectory(prefix="pprl-bench-fields-") as tmp:
        for agency, rows in bench.rosters.items():
            path = Path(tmp) / f"{agency}.csv"
            _write(path, rows)
            out.extend(validate_roster(path).records)
    return out


def _field_schema(field: str) -> LinkageSchema:
    document = copy.deepcopy(load_schema(SCHEMA_V4).document)
    document["clkConfig"]["l"] = 512
    document["clkConfig"]["kdf"]["info"] = base64.b64encode(f"field {field}".encode()).decode()
    wanted = FIELDS.get(field, ("given_name",))
    document["features"] = [f for f in document["features"] if f["identifier"] in wanted]
    return validate_schema(document, f"per-field {field}")


def _encode(
    records: list[CleanRecord], secret: bytes, field: str, *, family: bool = False
) -> Matrix:
    schema = _field_schema(field)
    values: list[tuple[str, ...]] = (
        [(r.family_name,) for r in records]
        if family
        else [feature_values(schema, r) for r in records]
    )
    return as_matrix(encode_all(schema, secret, values), 64)


def _dice(a: Matrix, b: Matrix) -> tuple[Floats, npt.NDArray[np.bool_]]:
    both = np.bitwise_count(a & b).sum(axis=1)
    sizes = np.bitwise_count(a).sum(axis=1) + np.bitwise_count(b).sum(axis=1)
    missing = (np.bitwise_count(a).sum(axis=1) == 0) | (np.bitwise_count(b).sum(axis=1) == 0)
    return 2 * both / np.maximum(1, sizes), missing


def _vectors(filters: dict[str, Matrix], left: Ints, right: Ints) -> Ints:
    given, given_missing = _dice(filters["given"][left], filters["given"][right])
    family, family_missing = _dice(filters["family"][left], filters["family"][right])
    crossed = np.minimum(
        _dice(filters["given"][left], filters["family"][right])[0],
        _dice(filters["family"][left], filters["given"][right])[0],
    )
    swapped = crossed > np.minimum(given, family) + 0.2
    scores = {
        "given": (np.where(swapped, np.maximum(given, crossed), given), given_missing),
        "family": (np.where(swapped, np.maximum(family, crossed), family), family_missing),
    }
    for field in FIELDS:
        scores[field] = _dice(filters[field][left], filters[field][right])
    columns = []
    for field, bands in BANDS.items():
        dice, missing = scores[field]
        level = np.full(len(left), len(bands) + 1)
        for index, cut in reversed(list(enumerate(bands))):
            level[dice >= cut] = index + 1
        level[missing] = 0
        columns.append(level)
    return np.stack(columns, axis=1)


def _frequencies(vectors: Ints) -> Floats:
    width = max(len(b) for b in BANDS.values()) + 2
    counts = np.stack([np.bincount(vectors[:, j], minlength=width) for j in range(len(BANDS))])
    counts = counts.astype(float) + 1
    result: Floats = counts / counts.sum(axis=1, keepdims=True)
    return result


def _em(vectors: Ints, u: Floats, rounds: int = 30) -> Floats:
    """Match probabilities of the pairs, with m and the share of matches fitted by EM."""
    fields = range(vectors.shape[1])
    m = np.full_like(u, 0.1 / (u.shape[1] - 2))
    m[:, 1], m[:, 0] = 0.9, 0.05
    m /= m.sum(axis=1, keepdims=True)
    share = 0.01
    log_u = sum(np.log(u[j, vectors[:, j]]) for j in fields)
    probability = np.zeros(len(vectors))
    for _ in range(rounds):
        log_m = sum(np.log(m[j, vectors[:, j]] + 1e-12) for j in fields)
        odds = np.log(share) - np.log(1 - share) + log_m - log_u
        probability = 1 / (1 + np.exp(-np.clip(odds, -700, 700)))
        share = float(np.clip(probability.mean(), 1e-6, 1 - 1e-6))
        for j in fields:
            m[j] = np.bincount(vectors[:, j], weights=probability, minlength=u.shape[1]) + 1e-6
            m[j] /= m[j].sum()
    return probability


def _components(size: int, left: Ints, right: Ints) -> list[list[int]]:
    parent = list(range(size))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(size):
        groups[root(i)].append(i)
    return list(groups.values())


def _aligned(filters: Matrix, names: list[str], seed: int = 0) -> float:
    """Share of records (with a name) whose given name the frequency alignment guesses.
    Both rankings are counted in independent random orders, so that ties do not line up
    by the records' order, which the attacker does not know."""
    rng = np.random.default_rng(seed)
    keys = [row.tobytes() for row in filters]
    named = [i for i, n in enumerate(names) if n]
    by_filter = Counter(keys[i] for i in rng.permutation(named))
    by_name = Counter(names[i] for i in rng.permutation(named))
    guess = {
        key: name
        for (key, _), (name, _) in zip(by_filter.most_common(), by_name.most_common(), strict=False)
    }
    right = sum(1 for i in named if guess.get(keys[i]) == names[i])
    return right / max(1, len(named))
