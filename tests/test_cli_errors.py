"""Every `pprl` command reports an ordinary mistake as one `error:` line with advice and a
documented exit status (README "Exit codes"): never a traceback, never an empty file made
by a command that only reads. Each case below was a traceback or a wrong status before."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.processes import (
    free_port,
    one_error,
    pprl,
)

pytestmark = pytest.mark.e2e


def test_serving_before_migrating_says_migrate_and_creates_no_database(tmp_path: Path) -> None:
    result = pprl(
        "hub",
        "serve",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env={"PPRL_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"},
    )
    one_error(result, 1, "no hub database", "pprl hub migrate")
    assert not (tmp_path / "hub.db").exists()


def test_a_data_key_others_can_read_is_refused_before_serving(tmp_path: Path) -> None:
    key = tmp_path / "hub-data.key"
    key.write_bytes(bytes(32))
    key.chmod(0o644)
    result = pprl(
        "hub",
        "serve",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env={
            "PPRL_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
            "PPRL_DATA_KEY_FILE": str(key),
        },
    )
    one_error(result, 2, "readable by other users", "chmod 600")
    assert not (tmp_path / "hub.db").exists()


def test_a_bad_setting_is_named_without_its_value(tmp_path: Path) -> None:
    result = pprl(
        "hub", "serve", cwd=tmp_path, env={"PPRL_MAX_REQUEST_BYTES": "lots-of-bytes-1234"}
    )
    line = one_error(result, 2, "PPRL_MAX_REQUEST_BYTES")
    assert "lots-of-bytes-1234" not in result.stderr, line


def test_operator_commands_with_the_hub_down_say_so(tmp_path: Path) -> None:
    token = tmp_path / "operator.token"
    token.write_text("not-a-real-token\n", encoding="ascii")
    hub = f"http://127.0.0.1:{free_port()}"
    result = pprl("hub", "run-linkage", "--hub", hub, "--token-file", str(token), cwd=tmp_path)
    one_error(result, 1, "cannot reach", "--hub")
    assert "not-a-real-token" not in result.stderr


def test_a_missing_token_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "agency.json").write_text("{}", encoding="utf-8")
    result = pprl(
        "hub",
        "register-agency",
        "--hub",
        "http://127.0.0.1:9",
        "--token-file",
        "missing.token",
        "--public",
        "agency.json",
        cwd=tmp_path,
    )
    one_error(result, 2, "missing.token", "does not exist")


def test_review_list_with_the_hub_down_says_so(tmp_path: Path) -> None:
    made = pprl(
        "keys",
        "init-agency",
        "--agency",
        "DCFS",
        "--programs",
        "child_welfare",
        "--key-dir",
        "keys",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    result = pprl(
        "node",
        "review",
        "list",
        "--agency",
        "DCFS",
        "--key-dir",
        "keys",
        "--steward",
        "s-1",
        "--hub",
        f"http://127.0.0.1:{free_port()}",
        cwd=tmp_path,
    )
    one_error(result, 1, "cannot reach")


@pytest.mark.parametrize("target", ["missing-folder/out.json", "a-folder"])
def test_encode_output_that_cannot_be_written_fails_before_any_work(
    tmp_path: Path, target: str
) -> None:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "secret.key").write_bytes(b"x" * 32)
    (tmp_path / "secret.key").chmod(0o600)
    (tmp_path / "roster.csv").write_text("record_id\n", encoding="utf-8")
    result = pprl(
        "node",
        "encode",
        "--agency",
        "DCFS",
        "--secret-file",
        "secret.key",
        "--input",
        "roster.csv",
        "--output",
        target,
        cwd=tmp_path,
    )
    one_error(result, 2, "--output")
    assert sorted(p.name for p in (tmp_path / "a-folder").iterdir()) == []
    assert not (tmp_path / "pprl-node").exists(), "nothing is written before the check"


def test_linking_one_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text("{}", encoding="utf-8")
    result = pprl("hub", "link", "one.json", "--output", "c.csv", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "at least two" in result.stderr
    assert "Traceback" not in result.stderr


def test_verifying_a_wrong_database_path_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "log.vkey").write_text("hub.example+0a0b0c0d+AAAA\n", encoding="ascii")
    result = pprl(
        "consent",
        "verify",
        "--database-url",
        "sqlite:///typo.db",
        "--log-public-key",
        "log.vkey",
        cwd=tmp_path,
    )
    assert result.returncode in (1, 3), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_verifying_an_unmigrated_database_path_creates_nothing(tmp_path: Path) -> None:
    made = pprl(
        "hub", "init-log-key", "--output", "log.key", "--name", "hub.example/log", cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    result = pprl(
        "consent",
        "verify",
        "--database-url",
        "sqlite:///typo.db",
        "--log-public-key",
        "log.key.vkey",
        cwd=tmp_path,
    )
    one_error(result, 1, "no hub database", "typo.db")
    assert not (tmp_path / "typo.db").exists()


def test_the_demo_refuses_a_database_that_is_not_empty(tmp_path: Path) -> None:
    migrated = pprl("hub", "migrate", "--database-url", "sqlite:///used.db", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    result = pprl("demo", "--database-url", "sqlite:///used.db", "--workdir", "demo", cwd=tmp_path)
    one_error(result, 2, "not empty", "empty database")


@pytest.mark.parametrize(
    "args",
    [
        ("node", "validate", "missing.csv"),
        ("hub", "link", "missing-a.json", "missing-b.json", "--output", "c.csv"),
        ("hub", "run-linkage", "--hub", "http://127.0.0.1:9", "--token-file", "missing.token"),
        ("consent", "check-proof", "--input", "missing.json", "--log-public-key", "missing.vkey"),
        ("keys", "show", "--key-dir", "missing-keys"),
        (
            "node",
            "encode",
            "--agency",
            "DOC",
            "--secret-file",
            "missing-secret.json",
            "--input",
            "missing.csv",
            "--output",
            "out.jsonl",
        ),
        ("keys", "issue-operator-token", "--issuer-dir", "missing-idp", "--subject", "op-1"),
        (
            "node",
            "sync-report",
            "--agency",
            "DOC",
            "--hub",
            "http://127.0.0.1:9",
            "--key-dir",
            "missing-keys",
            "--out",
            "cmis",
        ),
    ],
    ids=[
        "validate",
        "link",
        "run-linkage",
        "check-proof",
        "keys-show",
        "encode",
        "issuer",
        "sync-report",
    ],
)
def test_a_missing_file_is_exit_2_everywhere(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = pprl(*args, cwd=tmp_path)
    one_error(result, 2, "missing")


def test_an_unexpected_fault_shows_its_type_only_and_the_traceback_with_debug() -> None:
    import typer

    from pprl.cli import _ErrorReportingGroup

    app = typer.Typer(cls=_ErrorReportingGroup)

    @app.command()
    def boom() -> None:
        raise ValueError("Maria Lopez 1990-02-03")  # a value that must never be shown

    @app.command()
    def other() -> None:  # two commands, so `boom` is a subcommand as in `pprl`
        pass

    runner = CliRunner()
    plain = runner.invoke(app, ["boom"], env={"PPRL_DEBUG": ""})
    assert plain.exit_code == 1
    assert "unexpected ValueError" in plain.output
    assert "--debug" in plain.output
    assert "Maria" not in plain.output
    debug = runner.invoke(app, ["boom"], env={"PPRL_DEBUG": "1"})
    assert debug.exit_code == 1
    assert isinstance(debug.exception, ValueError)  # re-raised: the traceback is shown


def test_version_short_help_and_plain_placeholders(tmp_path: Path) -> None:
    version = pprl("--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("pprl-hub "), version.stdout
    short = pprl("hub", "link", "-h", cwd=tmp_path)
    assert short.returncode == 0, short.stderr
    assert "FILES" in short.stdout
    for raw in ("<bool>", "<list[", "<str>", "<path>"):
        assert raw not in short.stdout, short.stdout
    serve = pprl("hub", "serve", "-h", cwd=tmp_path)
    assert "8765" in serve.stdout
    answer = pprl("node", "review", "answer", "-h", cwd=tmp_path)
    assert "<same|different|unsure>" in answer.stdout  # a choice, shown as one
    wrong = pprl(
        "node",
        "review",
        "answer",
        "--agency",
        "DCFS",
        "--hub",
        "http://127.0.0.1:9",
        "--key-dir",
        "keys",
        "--steward",
        "s-1",
        "--item",
        "1",
        "--answer",
        "maybe",
        cwd=tmp_path,
    )
    assert wrong.returncode == 2
    assert "maybe" in wrong.stderr
    assert "same" in wrong.stderr


def _encode_setup(tmp_path: Path, rows: int) -> list[dict[str, str]]:
    from keys import new_linkage_secret
    from linkage_node.synthetic import synthetic_roster

    new_linkage_secret("2026-11").save(tmp_path / "secret.json")
    return synthetic_roster(tmp_path / "roster.csv", rows)


def test_encode_with_most_rows_rejected_exits_3_with_the_problem_table(tmp_path: Path) -> None:
    from linkage_node.synthetic import write_roster

    rows = _encode_setup(tmp_path, 5)
    for row in rows[1:]:  # a date of birth nobody can read, and no name or SSN beside it
        row.update(date_of_birth="sometime in May", given_name="", family_name="", ssn="")
    write_roster(tmp_path / "roster.csv", rows)
    result = pprl(
        "node",
        "encode",
        "--agency",
        "DCFS",
        "--secret-file",
        "secret.json",
        "--input",
        "roster.csv",
        "--output",
        "out.jsonl",
        cwd=tmp_path,
    )
    one_error(result, 3, "4 of 5 roster rows were rejected", "--max-rejected")
    assert "date_of_birth" in result.stderr  # the table names the column and the rule
    assert "sometime in May" not in result.stderr  # and never the value
    assert not (tmp_path / "out.jsonl").exists()


ENCODE_WITH_PLANS = (
    "node",
    "encode",
    "--agency",
    "DCFS",
    "--secret-file",
    "secret.json",
    "--input",
    "roster.csv",
    "--output",
    "out.jsonl",
    "--plans",
    "plans.csv",
)


def test_a_plan_file_with_every_row_invalid_exits_3(tmp_path: Path) -> None:
    rows = _encode_setup(tmp_path, 5)
    plans = tmp_path / "plans.csv"
    plans.write_text(
        "record_id,milestone_id,goal,milestone,status\n"
        + "".join(f"{r['record_id']},m1,Housing,Lease,Jane Planter\n" for r in rows),
        encoding="utf-8",
    )
    result = pprl(*ENCODE_WITH_PLANS, cwd=tmp_path)
    one_error(result, 3, "plan rows were rejected")
    assert "status.unknown" in result.stderr
    assert "Jane" not in result.stderr


def test_free_text_stuck_reasons_are_sent_as_other_and_a_bad_map_is_refused(
    tmp_path: Path,
) -> None:
    rows = _encode_setup(tmp_path, 5)
    (tmp_path / "plans.csv").write_text(
        "record_id,milestone_id,goal,milestone,status,stuck_reason\n"
        + "".join(f"{r['record_id']},m1,Housing,Lease,stuck,WL-3\n" for r in rows[:2])
        + f"{rows[2]['record_id']},m1,Housing,Lease,stuck,Jane has no car\n",
        encoding="utf-8",
    )
    (tmp_path / "reasons.csv").write_text("agency_code,code\nWL-3,waitlist\n", encoding="utf-8")
    command = (*ENCODE_WITH_PLANS, "--stuck-reasons", "reasons.csv")
    result = pprl(*command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "plans line 4, column stuck_reason: stuck_reason.unmapped (sent as other)" in (
        result.stderr
    )
    assert "plans: 3 rows, 3 valid" in result.stderr
    assert "Jane" not in result.stderr

    (tmp_path / "reasons.csv").write_text("agency_code,code\nWL-3,no beds\n", encoding="utf-8")
    refused = pprl(*command, cwd=tmp_path)
    one_error(refused, 3, "not on the shared list")
    assert "no beds" not in refused.stderr
