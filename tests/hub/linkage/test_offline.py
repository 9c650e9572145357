"""Offline batch mode end to end: rosters encoded by nodes, `pprl hub link` on the files,
and each steward's `pprl node resolve` of the clusters CSV."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hub.linkage.engine import Dataset, LinkParams, link
from hub.linkage.files import EncodingsFileError, read_compatible, read_encodings_file
from hub.linkage.refs import RAW_REF
from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.synthetic import LinkedRosters, linked_rosters, write_roster
from pprl.cli import app

AGENCIES = ["cw", "dj", "voc"]
SECRET = new_linkage_secret("2026-11")


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LinkedRosters]:
    root = tmp_path_factory.mktemp("offline")
    rosters = linked_rosters(AGENCIES, 400, shared=0.3, seed=5)
    for agency in AGENCIES:
        write_roster(root / f"{agency}.csv", rosters.rows[agency])
        run_encoding_job(
            agency_id=agency,
            schema=load_schema(),
            secret=SECRET,
            roster_path=root / f"{agency}.csv",
            output=root / f"{agency}.jsonl",
            state_dir=root / "pprl-node" / agency,
            workers=1,
        )
    return root, rosters


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _pairs(rows: list[dict[str, str]], a: str, b: str) -> set[tuple[str, str]]:
    clusters: dict[str, dict[str, str]] = {}
    for row in rows:
        clusters.setdefault(row["cluster_id"], {})[row["agency"]] = row["record_id"]
    return {(c[a], c[b]) for c in clusters.values() if a in c and b in c}


def test_link_then_resolve_gives_each_steward_their_own_ids_and_nothing_else(
    encoded: tuple[Path, LinkedRosters], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, rosters = encoded
    monkeypatch.chdir(root)
    runner = CliRunner()
    linked = runner.invoke(
        app, ["hub", "link", *(f"{a}.jsonl" for a in AGENCIES), "--output", "clusters.csv"]
    )
    assert linked.exit_code == 0, linked.output
    assert "proposed from the score distribution" in linked.output
    rows = _csv(root / "clusters.csv")
    assert rows
    assert all(re.fullmatch(r"c\d{7}", r["cluster_id"]) for r in rows)
    # The hub's file holds references only: no roster's record id appears in it.
    ids = {r for agency in AGENCIES for r in rosters.truth[agency]}
    assert not ids & {r["record_id"] for r in rows}

    resolved = runner.invoke(
        app,
        ["node", "resolve", "--agency", "dj", "--input", "clusters.csv", "--output", "mine.csv"],
    )
    assert resolved.exit_code == 0, resolved.output
    mine = _csv(root / "mine.csv")
    assert [(r["cluster_id"], r["agency"]) for r in mine] == [
        (r["cluster_id"], r["agency"]) for r in rows
    ]
    for before, after in zip(rows, mine, strict=True):
        if after["agency"] == "dj":
            assert after["record_id"] in rosters.truth["dj"]
        else:
            assert after["record_id"] == before["record_id"]  # others' rows stay opaque
    # And the links are right. The test, not any one steward, sees every agency's ids.
    ids_by_row = {}
    for agency in AGENCIES:
        out = root / f"mine-{agency}.csv"
        result = runner.invoke(
            app,
            [
                "node",
                "resolve",
                "--agency",
                agency,
                "--input",
                "clusters.csv",
                "--output",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        ids_by_row.update(
            {i: r["record_id"] for i, r in enumerate(_csv(out)) if r["agency"] == agency}
        )
    everyone = [{**r, "record_id": ids_by_row[i]} for i, r in enumerate(rows)]
    for a, b in (("dj", "cw"), ("dj", "voc"), ("cw", "voc")):
        found, truth = _pairs(everyone, a, b), rosters.true_pairs(a, b)
        assert len(found & truth) >= 0.9 * len(truth)
        assert len(found & truth) >= 0.95 * len(found)


def test_a_fixed_threshold_is_used_as_given(encoded: tuple[Path, LinkedRosters]) -> None:
    root, _ = encoded
    datasets = read_compatible([root / f"{a}.jsonl" for a in AGENCIES])
    strict = link(datasets, LinkParams(threshold=0.95))
    loose = link(datasets, LinkParams(threshold=0.8))
    assert strict.threshold_source == "set by the operator"
    assert strict.threshold == 0.95
    assert len(strict.state.links()) < len(loose.state.links())
    assert all(r.score >= 0.95 for r in strict.state.links())
    review = [r for r in loose.state.links() if r.review]
    assert review
    assert all(0.8 <= r.score < 0.85 for r in review)


def test_the_auto_threshold_reuses_its_first_pass_and_matches_a_fixed_run(
    encoded: tuple[Path, LinkedRosters],
) -> None:
    root, _ = encoded
    datasets = read_compatible([root / f"{a}.jsonl" for a in AGENCIES])
    auto = link(datasets)
    assert auto.proposal is not None
    fixed = link(datasets, LinkParams(threshold=auto.threshold))
    assert auto.state.partition() == fixed.state.partition()
    assert auto.state.links() == fixed.state.links()


def test_with_within_agency_scoring_the_auto_threshold_still_scores_once(
    encoded: tuple[Path, LinkedRosters],
) -> None:
    root, _ = encoded
    datasets = read_compatible([root / f"{a}.jsonl" for a in AGENCIES])
    # Twenty of cw's records again under new case numbers: its own duplicates.
    cw = datasets[0]
    again = np.frombuffer(hashlib.sha256(b"again").digest() * 20, RAW_REF)
    again = again.copy()
    again.view(np.uint8).reshape(20, 32)[:, 0] = np.arange(20)  # twenty distinct refs
    refs = np.concatenate([cw.refs, again])
    datasets[0] = Dataset(cw.agency, refs, np.concatenate([cw.clks, cw.clks[:20]]))
    auto = link(datasets, LinkParams(dedupe_within=True, min_threshold=0.8))  # as served
    fixed = link(datasets, LinkParams(threshold=auto.threshold, dedupe_within=True))
    assert auto.state.partition() == fixed.state.partition()
    assert len(auto.state.links(duplicates=True)) == 20
    assert auto.state.links(duplicates=True) == fixed.state.links(duplicates=True)
    # The pairs kept from the threshold pass are linked as they are: nothing is scored
    # a second time (the run scores what a run at a fixed threshold scores).
    assert auto.candidates_scored == fixed.candidates_scored


def _rewrite_header(source: Path, target: Path, **changes: object) -> None:
    lines = source.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header.update(changes)
    target.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epoch": "2026-12"}, "secret epoch 2026-12"),
        ({"schema_fingerprint": "00" * 32}, "another linkage schema"),
        ({"canary_digest": "AAAA" * 10 + "AAA="}, "canary differs"),
    ],
)
def test_files_made_under_another_context_are_refused_before_anything_is_written(
    encoded: tuple[Path, LinkedRosters],
    tmp_path: Path,
    change: dict[str, object],
    message: str,
) -> None:
    root, _ = encoded
    _rewrite_header(root / "dj.jsonl", tmp_path / "dj.jsonl", **change)
    result = CliRunner().invoke(
        app,
        [
            "hub",
            "link",
            str(root / "cw.jsonl"),
            str(tmp_path / "dj.jsonl"),
            "--output",
            str(tmp_path / "clusters.csv"),
        ],
    )
    assert result.exit_code == 3
    assert message in result.output
    assert not (tmp_path / "clusters.csv").exists()


def test_malformed_files_say_where(tmp_path: Path, encoded: tuple[Path, LinkedRosters]) -> None:
    root, _ = encoded
    lines = (root / "cw.jsonl").read_text().splitlines(keepends=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + lines[1] + '{"ref": "x"}\n' + "".join(lines[3:]))
    with pytest.raises(EncodingsFileError, match="line 3 is not a record"):
        read_encodings_file(broken)
    short = tmp_path / "short.jsonl"
    short.write_text("".join(lines[:-1]))
    with pytest.raises(EncodingsFileError, match="399 records, the header says 400"):
        read_encodings_file(short)
    twice = tmp_path / "twice.jsonl"
    twice.write_text(lines[0] + lines[1] + "".join(lines[1:-1]))
    with pytest.raises(EncodingsFileError, match="appears twice"):
        read_encodings_file(twice)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(EncodingsFileError, match="line 1 is not a JSON header"):
        read_encodings_file(tmp_path / "empty.jsonl")


def test_bad_thresholds_and_bad_clusters_files_are_refused(
    encoded: tuple[Path, LinkedRosters], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = encoded
    monkeypatch.chdir(root)
    runner = CliRunner(env={"COLUMNS": "200"})
    for bad in ("high", "1.5", "0"):
        result = runner.invoke(
            app, ["hub", "link", "cw.jsonl", "dj.jsonl", "--output", "x.csv", "--threshold", bad]
        )
        assert result.exit_code == 2
        assert "Invalid value for --threshold" in result.output
    assert not (root / "x.csv").exists()
    (root / "other.csv").write_text("a,b,c\n1,2,3\n")
    result = runner.invoke(
        app, ["node", "resolve", "--agency", "dj", "--input", "other.csv", "--output", "m.csv"]
    )
    assert result.exit_code == 2
    assert "cluster_id,agency,record_id" in result.output
    assert not (root / "m.csv").exists()
    result = runner.invoke(
        app,
        ["node", "resolve", "--agency", "nobody", "--input", "other.csv", "--output", "m.csv"],
    )
    assert result.exit_code == 2
    assert "no node state" in result.output


def test_a_proposed_threshold_is_raised_to_meet_the_disclosure_policy(
    encoded: tuple[Path, LinkedRosters],
) -> None:
    root, _ = encoded
    datasets = read_compatible([root / f"{a}.jsonl" for a in AGENCIES])
    auto = link(datasets)
    raised = link(datasets, LinkParams(min_threshold=0.93))
    assert auto.threshold < 0.93
    assert raised.threshold == 0.93
    assert raised.threshold_source == "proposed, raised to the disclosure policy (0.930)"
    assert all(r.score >= 0.93 for r in raised.state.links())
    assert raised.proposal is not None
    precise = link(datasets, LinkParams(min_precision=0.9999))
    assert precise.threshold >= auto.threshold


def test_the_runner_up_pass_runs_where_best_scores_cannot_be_trusted(
    encoded: tuple[Path, LinkedRosters], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large runs whose best scores hold strangers enough skip the extra pass; small runs
    and runs where nearly every record has a match take it."""
    from hub.linkage import engine, runner_up

    files = sorted(encoded[0].glob("*.jsonl"))
    calls: list[int] = []
    real = runner_up.stranger_sample

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "stranger_sample", counted)
    link(read_compatible(files))
    assert calls  # a small run: always
    calls.clear()
    monkeypatch.setattr(engine, "_SMALL_SIDE", 10)  # as if the sides were large
    link(read_compatible(files))
    assert not calls  # strangers enough among the best scores
    monkeypatch.setattr(engine, "_SCARCE_STRANGERS", 0.01)  # as if nearly all matched
    link(read_compatible(files))
    assert calls
