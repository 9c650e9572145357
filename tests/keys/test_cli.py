"""`pprl keys ...` end to end through the command line, with its exit statuses."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keys import LinkageSecret
from pprl.cli import app

PASSPHRASE = "a long enough passphrase"


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_agencies(tmp_path: Path) -> Path:
    """DCFS (passphrase-protected) and DOC (not), both registered."""
    (tmp_path / "pass.txt").write_text(PASSPHRASE + "\n")
    code, _, _ = run(
        "keys",
        "init-agency",
        "--agency",
        "DCFS",
        "--programs",
        "child_welfare",
        "--key-dir",
        str(tmp_path / "DCFS"),
        "--passphrase-file",
        str(tmp_path / "pass.txt"),
    )
    assert code == 0
    code, _, err = run(
        "keys",
        "init-agency",
        "--agency",
        "DOC",
        "--programs",
        "corrections",
        "--key-dir",
        str(tmp_path / "DOC"),
    )
    assert code == 0
    assert "not passphrase-protected" in err
    for agency in ("DCFS", "DOC"):
        code, _, _ = run(
            "keys",
            "registry",
            "add",
            "--registry",
            str(tmp_path / "registry.json"),
            "--public",
            str(tmp_path / agency / "agency.json"),
        )
        assert code == 0
    return tmp_path


def test_secret_sealed_by_one_agency_is_unsealed_by_the_other(two_agencies: Path) -> None:
    d = two_agencies
    code, _, err = run(
        "keys",
        "new-linkage-secret",
        "--key-dir",
        str(d / "DCFS"),
        "--registry",
        str(d / "registry.json"),
        "--epoch",
        "2026-11",
        "--output",
        str(d / "sealed.json"),
        "--passphrase-file",
        str(d / "pass.txt"),
    )
    assert code == 0, err
    outputs = {}
    for agency, extra in (("DOC", []), ("DCFS", ["--passphrase-file", str(d / "pass.txt")])):
        code, _, err = run(
            "keys",
            "unseal",
            "--key-dir",
            str(d / agency),
            "--registry",
            str(d / "registry.json"),
            "--input",
            str(d / "sealed.json"),
            "--output",
            str(d / f"{agency}.secret"),
            *extra,
        )
        assert code == 0, err
        assert stat.S_IMODE((d / f"{agency}.secret").stat().st_mode) == 0o600
        outputs[agency] = LinkageSecret.load(d / f"{agency}.secret")
    assert outputs["DOC"] == outputs["DCFS"]
    assert outputs["DOC"].epoch == "2026-11"
    # The secret never appears on the terminal or in the relayed bundle.
    assert outputs["DOC"].secret.hex() not in err
    assert (d / "sealed.json").read_bytes().find(outputs["DOC"].secret) == -1


def test_issued_token_verifies_and_its_claims_print_as_json(two_agencies: Path) -> None:
    d = two_agencies
    code, token, _ = run(
        "keys",
        "issue-token",
        "--key-dir",
        str(d / "DCFS"),
        "--subject",
        "cm-0042",
        "--role",
        "case_manager",
        "--role",
        "supervisor",
        "--passphrase-file",
        str(d / "pass.txt"),
    )
    assert code == 0
    (d / "token.txt").write_text(token)
    code, out, err = run(
        "keys",
        "verify-token",
        "--registry",
        str(d / "registry.json"),
        "--token-file",
        str(d / "token.txt"),
    )
    assert code == 0, err
    claims = json.loads(out)
    assert claims["issuer"] == "DCFS"
    assert claims["roles"] == ["case_manager", "supervisor"]
    code, out, _ = run(
        "keys",
        "verify-token",
        "--registry",
        str(d / "registry.json"),
        "--token-file",
        "-",
        stdin=token,
    )
    assert code == 0
    assert json.loads(out)["subject"] == "cm-0042"


def test_passphrase_from_environment_or_prompt(two_agencies: Path) -> None:
    d = two_agencies
    args = ("keys", "issue-token", "--key-dir", str(d / "DCFS"), "--subject", "cm-1")
    code, token, _ = run(*args, env={"PPRL_KEY_PASSPHRASE": PASSPHRASE})
    assert code == 0
    assert token.count(".") == 2
    code, token, _ = run(*args, "--passphrase-prompt", stdin=PASSPHRASE + "\n")
    assert code == 0
    assert token.strip().count(".") == 2


def test_missing_passphrase_fails_with_advice_and_status_1(two_agencies: Path) -> None:
    code, out, err = run(
        "keys", "issue-token", "--key-dir", str(two_agencies / "DCFS"), "--subject", "cm-1"
    )
    assert code == 1
    assert out == ""
    assert "passphrase-protected" in err
    assert "--passphrase-file" in err


def test_rejected_token_exits_1_naming_the_rule(two_agencies: Path) -> None:
    d = two_agencies
    _, token, _ = run(
        "keys",
        "issue-token",
        "--key-dir",
        str(d / "DOC"),
        "--subject",
        "cm-1",
        "--audience",
        "another-hub",
    )
    (d / "token.txt").write_text(token)
    code, out, err = run(
        "keys",
        "verify-token",
        "--registry",
        str(d / "registry.json"),
        "--token-file",
        str(d / "token.txt"),
    )
    assert code == 1
    assert out == ""
    assert "'aud' must be exactly" in err


def test_malformed_registry_is_invalid_input_status_3(tmp_path: Path) -> None:
    (tmp_path / "registry.json").write_text('{"type": "pprl.key-registry.v1", "agencies": [1]}')
    (tmp_path / "t").write_text("x.y.z")
    code, _, err = run(
        "keys",
        "verify-token",
        "--registry",
        str(tmp_path / "registry.json"),
        "--token-file",
        str(tmp_path / "t"),
    )
    assert code == 3
    assert "agencies[0]" in err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = run("keys", "init-agency", "--agency", "DCFS")
    assert code == 2
    assert "--programs" in err
    code, _, _ = run("keys", "no-such-command")
    assert code == 2


def test_existing_key_directory_is_not_overwritten(two_agencies: Path) -> None:
    before = (two_agencies / "DOC" / "signing-key.pem").read_bytes()
    code, _, err = run(
        "keys",
        "init-agency",
        "--agency",
        "DOC",
        "--programs",
        "corrections",
        "--key-dir",
        str(two_agencies / "DOC"),
    )
    assert code == 1
    assert "already exists" in err
    assert (two_agencies / "DOC" / "signing-key.pem").read_bytes() == before


def test_revoked_key_no_longer_verifies_tokens(two_agencies: Path) -> None:
    d = two_agencies
    _, token, _ = run("keys", "issue-token", "--key-dir", str(d / "DOC"), "--subject", "cm-1")
    (d / "token.txt").write_text(token)
    kid = json.loads((d / "DOC" / "agency.json").read_text())["signing_key_id"]
    code, _, _ = run(
        "keys",
        "registry",
        "revoke",
        "--registry",
        str(d / "registry.json"),
        "--agency",
        "DOC",
        "--key-id",
        kid,
    )
    assert code == 0
    code, _, err = run(
        "keys",
        "verify-token",
        "--registry",
        str(d / "registry.json"),
        "--token-file",
        str(d / "token.txt"),
    )
    assert code == 1
    assert "revoked" in err


def test_registry_list_and_show_print_public_material_only(two_agencies: Path) -> None:
    d = two_agencies
    code, out, _ = run("keys", "registry", "list", "--registry", str(d / "registry.json"), "--json")
    assert code == 0
    assert [r["agency_id"] for r in json.loads(out)] == ["DCFS", "DOC"]
    code, out, _ = run("keys", "show", "--key-dir", str(d / "DOC"))
    assert code == 0
    assert "PRIVATE" not in out
    assert json.loads(out)["agency_id"] == "DOC"


def test_a_token_written_to_a_file_is_readable_by_its_owner_only(two_agencies: Path) -> None:
    d = two_agencies
    target = d / "token.txt"
    code, out, _ = run(
        "keys",
        "issue-token",
        "--key-dir",
        str(d / "DOC"),
        "--subject",
        "cm-1",
        "--output",
        str(target),
    )
    assert code == 0
    assert out == ""  # nothing on stdout: the token is in the file
    assert target.read_text().count(".") == 2
    assert target.stat().st_mode & 0o777 == 0o600
