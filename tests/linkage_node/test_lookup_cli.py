"""`pprl node lookup` against a live hub: an intake worker types a person corrections
serves (with a typo) and learns that corrections serves them; a stranger names no one;
unusable identifiers exit 3 naming the field, never its value; only an encoding leaves
the node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linkage_node.synthetic import synthetic_roster
from pprl.cli import app
from tests.hub.live import NODE_SECRET, LiveHub, encode_and_sync
from tests.pii import assert_absent, dump_database

pytestmark = pytest.mark.live


def _lookup(hub: LiveHub, tmp: Path, **typed: str) -> tuple[int, str, str]:
    args = [
        "node",
        "lookup",
        "--agency",
        "DCFS",
        "--hub",
        hub.url,
        "--key-dir",
        str(tmp / "keys"),
        "--secret-file",
        str(tmp / "secret.json"),
        "--staff",
        "in-0003",
        "--json",
    ]
    for name, value in typed.items():
        args += [f"--{name}", value]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_an_intake_worker_learns_which_program_serves_the_person(
    hub: LiveHub, tmp_path: Path
) -> None:
    hub.register("DCFS", tmp_path / "keys")
    hub.register("DOC")
    rows = synthetic_roster(tmp_path / "doc-roster.csv", 40, prefix="D")
    encode_and_sync(hub, tmp_path, "DOC", rows)
    NODE_SECRET.save(tmp_path / "secret.json")
    person = rows[7]
    code, out, err = _lookup(
        hub,
        tmp_path,
        given=person["given_name"][:-1] + "x",  # a typo at intake
        family=person["family_name"],
        dob=person["date_of_birth"],
    )
    assert code == 0, err
    assert [p["program"] for p in json.loads(out)["programs"]] == ["corrections"]
    code, out, err = _lookup(
        hub, tmp_path, given="Quillonette", family="Zarbowicz", dob="1983-07-19"
    )
    assert code == 0, err
    assert json.loads(out)["programs"] == []
    # Nothing typed reached the hub, in any encoded form.
    assert_absent(
        {"database": dump_database(hub.engine)}, ["Quillonette", "Zarbowicz"], NODE_SECRET.secret
    )


def test_identifiers_that_cannot_be_matched_exit_3_naming_the_field(
    hub: LiveHub, tmp_path: Path
) -> None:
    hub.register("DCFS", tmp_path / "keys")
    NODE_SECRET.save(tmp_path / "secret.json")
    code, _, err = _lookup(hub, tmp_path, given="Quillonette", family="", dob="sometime in May")
    assert code == 3
    assert "date_of_birth" in err
    assert "sometime in May" not in err
    assert "Quillonette" not in err
