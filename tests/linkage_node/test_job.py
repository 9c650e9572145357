"""The encoding job: incremental diffs, no PII for the hub, the canary, and its state."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from keys import LinkageSecret, canonical, new_linkage_secret
from linkage_node import StateError, load_schema, read_encodings, run_encoding_job
from linkage_node.guards import Allowance, GuardError
from linkage_node.job import JobResult, Missing
from linkage_node.state import NodeState
from linkage_node.state_rows import DirectoryEntry
from linkage_node.synthetic import synthetic_roster, write_roster

SECRET = new_linkage_secret("2026-11")


def _run(
    tmp: Path,
    roster: Path,
    *,
    agency: str = "DCFS",
    secret: LinkageSecret = SECRET,
    out: str = "out.jsonl",
    allow_removals: str | None = None,
    max_rejected: str | None = None,
    missing: Missing = "exit",
) -> JobResult:
    return run_encoding_job(
        missing=missing,
        allow_removals=Allowance.parse(allow_removals, "--allow-removals")
        if allow_removals
        else None,
        max_rejected=Allowance.parse(max_rejected, "--max-rejected") if max_rejected else None,
        agency_id=agency,
        schema=load_schema(),
        secret=secret,
        roster_path=roster,
        output=tmp / out,
        state_dir=tmp / f"state-{agency}",
        workers=1,
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_unchanged_roster_gives_an_empty_diff_and_one_change_gives_one_record(
    tmp_path: Path,
) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 500)
    first = _run(tmp_path, roster)
    assert (first.diff.new, first.encoded) == (500, 500)
    again = _run(tmp_path, roster)
    assert again.diff.empty
    assert again.encoded == 0
    rows[137]["family_name"] = rows[137]["family_name"] + "-Reyes"
    write_roster(roster, rows)
    changed = _run(tmp_path, roster)
    assert changed.encoded == 1
    assert (changed.diff.new, changed.diff.removed) == (0, 0)
    assert changed.diff.changed == 1
    header, records = read_encodings(tmp_path / "out.jsonl")
    assert header.record_count == 500
    assert len(dict(records)) == 500
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o600  # owner only


def test_cosmetic_changes_that_normalise_away_are_not_changes(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 50)
    _run(tmp_path, roster)
    rows[3]["given_name"] = rows[3]["given_name"].upper()
    rows[4]["ssn"] = rows[4]["ssn"].replace("-", "")
    write_roster(roster, rows)
    assert _run(tmp_path, roster).diff.empty


def test_removed_records_are_reported_and_come_back_as_new(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 40)
    _run(tmp_path, roster)
    write_roster(roster, rows[:-3])
    gone = _run(tmp_path, roster, missing="remove")
    assert gone.diff.removed == 3
    write_roster(roster, rows)
    back = _run(tmp_path, roster)
    assert (back.diff.new, back.diff.removed) == (3, 0)


def test_a_known_record_with_bad_data_tonight_is_not_removed(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 20)
    _run(tmp_path, roster)
    # Too little left to link: the row is refused tonight, and its last good encoding stays.
    rows[5] = {
        **rows[5],
        "given_name": "",
        "family_name": "",
        "date_of_birth": "not a date",
        "ssn": "",
    }
    write_roster(roster, rows)
    result = _run(tmp_path, roster, max_rejected="1")
    assert result.roster.rejected == 1
    assert result.roster.counts_by_rule()["record.not_linkable"] == 1
    assert result.diff.empty


def _snapshot(tmp: Path) -> tuple[bytes, list[DirectoryEntry], int]:
    state = NodeState(tmp / "state-DCFS" / "node-state.db", "DCFS")
    try:
        return (tmp / "out.jsonl").read_bytes(), state.directory(), len(state.pending_runs())
    finally:
        state.close()


def _encoded_once(tmp: Path) -> tuple[Path, list[dict[str, str]], Any]:
    """A roster of 200 encoded once: the file, its rows and what the run left behind."""
    roster = tmp / "roster.csv"
    rows = synthetic_roster(roster, 200)
    _run(tmp, roster)
    return roster, rows, _snapshot(tmp)


def test_a_header_only_export_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    roster, rows, before = _encoded_once(tmp_path)
    write_roster(roster, rows[:0])
    with pytest.raises(
        GuardError, match="header but no rows; encoding it would mark as exited all 200"
    ):
        _run(tmp_path, roster)
    assert _snapshot(tmp_path) == before
    # Told that every client really left, the run goes through.
    assert _run(tmp_path, roster, allow_removals="200").diff.removed == 200


def test_a_truncated_export_is_refused_unless_the_removals_are_allowed(tmp_path: Path) -> None:
    roster, rows, before = _encoded_once(tmp_path)
    write_roster(roster, rows[:150])
    with pytest.raises(GuardError, match="mark as exited 50 of the 200 clients") as caught:
        _run(tmp_path, roster)
    assert "run again with --allow-removals 50" in caught.value.advice()
    assert _snapshot(tmp_path) == before
    with pytest.raises(GuardError):
        _run(tmp_path, roster, allow_removals="49")
    assert _run(tmp_path, roster, allow_removals="25%").diff.removed == 50


def test_the_scratch_copy_of_the_roster_never_outlives_the_job(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 40)
    _run(tmp_path, roster)
    left = tmp_path / "state-DCFS" / ".pprl-staging-killed"  # as a job killed outright leaves it
    left.mkdir()
    write_roster(roster, rows[:0])
    with pytest.raises(GuardError):
        _run(tmp_path, roster)
    assert list(tmp_path.glob("**/.pprl-staging-*")) == []


def test_too_many_rejected_rows_refuse_the_run(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 5)
    for row in rows[1:]:  # nothing left to link on
        row.update(date_of_birth="not a date", given_name="", family_name="", ssn="")
    write_roster(roster, rows)
    with pytest.raises(GuardError, match="4 of 5 roster rows were rejected") as caught:
        _run(tmp_path, roster)
    assert caught.value.exit_code == 3
    assert not (tmp_path / "out.jsonl").exists()


def test_exported_names_are_kept_for_people_apart_from_the_match_keys(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 4)
    names = [
        ("José", "García-Márquez"),
        ("Nguyễn Thị", "Ánh"),
        ("Mary-Kate", "Smith Jones"),
        ("Dillon", "O'Neill"),
    ]
    for row, (given, family) in zip(rows, names, strict=True):
        row["given_name"], row["family_name"] = given, family
    write_roster(roster, rows)
    _run(tmp_path, roster)
    shown = {entry[2] for entry in _snapshot(tmp_path)[1]}
    assert shown == {
        "José García-Márquez",
        "Nguyễn Thị Ánh",
        "Mary-Kate Smith Jones",
        "Dillon O'Neill",
    }


def test_a_new_secret_epoch_re_encodes_everything(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 30)
    _run(tmp_path, roster)
    rotated = _run(tmp_path, roster, secret=new_linkage_secret("2027-01"))
    assert (rotated.diff.changed, rotated.encoded) == (30, 30)


def test_no_pii_in_the_file_for_the_hub(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    rows = synthetic_roster(roster, 30)
    canaries = {
        "record_id": "CASE-CANARY-7731",
        "given_name": "Xanthippeqz",
        "family_name": "Vonbrandtwick",
        "date_of_birth": "1983-07-19",
        "ssn": "531-77-2468",
        "address": "4417 Zephyrcanary Road",
        "city": "Quillmoor",
        "zip": "62799",
        "phone": "(217) 555-8842",
        "case_manager_id": "cm-7319",
    }
    rows[7].update(canaries)
    write_roster(roster, rows)
    _run(tmp_path, roster)
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    # Structure: every record line is exactly a 64-hex reference and a 128-byte CLK,
    # so there is no room for anything else.
    for line in lines[1:]:
        record = json.loads(line)
        assert set(record) == {"ref", "clk"}
        assert re.fullmatch(r"[0-9a-f]{64}", record["ref"])
        assert len(canonical.b64decode(record["clk"])) == 128
    header_text = json.dumps(header).lower()
    # And no planted value, or its normalised form, anywhere in the header; long
    # needles are also searched in the whole file (short digit strings occur by chance
    # in hex and base64).
    needles = {v.lower() for v in canaries.values()} | {
        "19830719",
        "531772468",
        "xanthippeqz",
        "2175558842",
    }
    text = "\n".join(lines).lower()
    for value in needles:
        assert value not in header_text, value
        if len(value) >= 8:
            assert value not in text, value


def test_same_secret_and_schema_give_the_same_canary_at_every_node(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    synthetic_roster(a, 10, seed=1)
    synthetic_roster(b, 10, seed=2)
    first = _run(tmp_path, a, agency="DCFS", out="a.jsonl")
    second = _run(tmp_path, b, agency="DOC", out="b.jsonl")
    third = _run(tmp_path, b, agency="DJJ", out="c.jsonl", secret=new_linkage_secret("2026-11"))
    assert first.header.canary_digest == second.header.canary_digest
    assert third.header.canary_digest != first.header.canary_digest
    # A keyed hash, not the encoding: nobody without the secret can tell what it encodes.
    assert len(first.header.canary_digest) == 32


def test_state_of_another_agency_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 5)
    _run(tmp_path, roster)
    with pytest.raises(StateError, match="belongs to agency DCFS"):
        run_encoding_job(
            agency_id="DOC",
            schema=load_schema(),
            secret=SECRET,
            roster_path=roster,
            output=tmp_path / "x.jsonl",
            state_dir=tmp_path / "state-DCFS",
            workers=1,
        )


def test_lost_reference_key_is_refused_rather_than_silently_replaced(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 5)
    _run(tmp_path, roster)
    (tmp_path / "state-DCFS" / "record-ref.key").unlink()
    with pytest.raises(StateError, match=r"key .* is missing but the node has state") as info:
        _run(tmp_path, roster)
    assert "Restore the key from backup" in info.value.advice()
