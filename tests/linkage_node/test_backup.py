"""`pprl node state backup|restore`: the record-reference key and the state databases in
one file, encrypted with the agency's passphrase, restored whole or not at all."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from keys import new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.backup import BackupError, create_backup, restore_backup
from linkage_node.consent_forms import FORMS_DIR, store_upload
from linkage_node.job import REF_KEY_FILE, STATE_FILE
from linkage_node.state import NodeState
from linkage_node.state_rows import DirectoryEntry
from linkage_node.synthetic import synthetic_roster

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 30)
    run_encoding_job(
        agency_id="DCFS",
        schema=load_schema(),
        secret=new_linkage_secret("2026-11"),
        roster_path=roster,
        output=tmp_path / "out.jsonl",
        state_dir=tmp_path / "DCFS",
        workers=1,
    )
    return tmp_path / "DCFS"


def _installation(directory: Path) -> tuple[str, list[DirectoryEntry]]:
    state = NodeState(directory / STATE_FILE, "DCFS")
    try:
        return state.installation_id, state.directory()
    finally:
        state.close()


def test_a_backup_restores_the_same_key_and_clients_under_a_new_installation(
    state_dir: Path, tmp_path: Path
) -> None:
    key = (state_dir / REF_KEY_FILE).read_bytes()
    installation, clients = _installation(state_dir)
    sha, scan = store_upload(state_dir, b"%PDF-1.4 a signed consent form", ".pdf")
    backup = tmp_path / "dcfs.backup"
    info = create_backup(state_dir, "DCFS", backup, PASSPHRASE)
    assert info.encrypted
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert clients[0][2].encode() not in backup.read_bytes()  # no name in clear
    restored = tmp_path / "elsewhere" / "DCFS"
    restore_backup(backup, restored, "DCFS", PASSPHRASE, replace=False)
    assert (restored / REF_KEY_FILE).read_bytes() == key
    again, restored_clients = _installation(restored)
    assert restored_clients == clients
    assert again != installation
    assert stat.S_IMODE(restored.stat().st_mode) == 0o700
    for path in restored.iterdir():
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
    # The scanned consent forms come back too (the ledger holds only their hashes).
    kept = restored / FORMS_DIR / scan
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_restore_refuses_a_wrong_passphrase_a_changed_file_and_another_agency(
    state_dir: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "dcfs.backup"
    create_backup(state_dir, "DCFS", backup, PASSPHRASE)
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match="passphrase is wrong or the file was changed"):
        restore_backup(backup, target, "DCFS", "another long passphrase", replace=False)
    with pytest.raises(BackupError, match="is encrypted") as missing:
        restore_backup(backup, target, "DCFS", None, replace=False)
    assert missing.value.exit_code == 2
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 1
    backup.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="passphrase is wrong or the file was changed"):
        restore_backup(backup, target, "DCFS", PASSPHRASE, replace=False)
    create_backup(state_dir, "DCFS", backup, None)
    with pytest.raises(BackupError, match="agency DCFS's backup, not DOC's"):
        restore_backup(backup, target, "DOC", None, replace=False)
    assert not target.exists(), "a refused restore leaves nothing behind"


def test_restore_over_a_state_needs_replace_and_keeps_the_old_one_aside(
    state_dir: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "dcfs.backup"
    create_backup(state_dir, "DCFS", backup, None)
    with pytest.raises(BackupError, match="already holds a node state"):
        restore_backup(backup, state_dir, "DCFS", None, replace=False)
    _, aside = restore_backup(backup, state_dir, "DCFS", None, replace=True)
    assert aside is not None
    assert (aside / STATE_FILE).exists()
    assert (state_dir / STATE_FILE).exists()


@pytest.mark.e2e
def test_the_commands_back_up_and_restore(state_dir: Path, tmp_path: Path) -> None:
    pprl = str(Path(sys.executable).parent / "pprl")
    (tmp_path / "passphrase").write_text(PASSPHRASE, encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  (our own entry point)
            [pprl, "node", "state", *args, "--agency", "DCFS", "--passphrase-file", "passphrase"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    made = run("backup", "--state-dir", "DCFS", "--output", "b.backup")
    assert made.returncode == 0, made.stderr
    assert "not encrypted" not in made.stderr
    again = run("restore", "--state-dir", "DCFS", "--input", "b.backup")
    assert again.returncode == 2, again.stderr
    assert "--replace" in again.stderr
    restored = run("restore", "--state-dir", "copy", "--input", "b.backup")
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "copy" / REF_KEY_FILE).exists()
