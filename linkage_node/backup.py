"""`pprl node state backup` and `restore`: the node's state directory in one file.

The state directory holds what cannot be made again: the record-reference key (a new one
would give every client a new reference, so the hub would see them all as new people and
lose their links and consents), the state database (which records the hub holds, the
outbox, the client directory, staff accounts) and the witness's last checkpoint. A
backup holds all of it, each SQLite database copied with SQLite's online backup (a
consistent snapshot while the node runs), in a gzip'd tar. The next run after a restore
sends every record again, since the hub may have been told of runs made after the backup.
One gap remains: a record first sent after the backup and gone from the export by the
time of the restore is unknown to the restored state, so it stays at the hub until a
`pprl node sync --reset`.

It holds clients' names and dates of birth, so it is written 0600 and, when the agency's
keys have a passphrase, encrypted with it: scrypt (n=2^15, r=8, p=1) derives an AES-256-GCM
key; the header (magic, version, salt, nonce) is authenticated too. Restoring gives the
state a new installation id (`NodeState.new_installation`): its run numbers start again
from the backup's, and the idempotency keys of the runs made since must not be reused.

File layout: `PPRL-NODE-BACKUP\\n`, one version byte (1), one flag byte (1: encrypted),
then, if encrypted, a 16-byte salt and a 12-byte nonce, then the (encrypted) tar.gz, then,
if encrypted, the 16-byte GCM tag.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from linkage_node.consent_forms import FORMS_DIR
from linkage_node.errors import NodeError
from linkage_node.private_files import DIRECTORY_MODE, FILE_MODE, private_directory
from linkage_node.state import NodeState

MAGIC = b"PPRL-NODE-BACKUP\n"
VERSION = 1
_ENCRYPTED = 1
_SALT, _NONCE, _TAG = 16, 12, 16
_CHUNK = 1 << 20
MANIFEST = "backup.json"
STATE_FILE = "node-state.db"  # linkage_node.job.STATE_FILE, not imported: job loads clkhash


class BackupError(NodeError):
    """A backup cannot be written or restored."""

    exit_code = 3


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds (its manifest)."""

    agency_id: str
    created_at: str
    files: tuple[str, ...]
    encrypted: bool


def create_backup(
    state_dir: Path, agency_id: str, output: Path, passphrase: str | None
) -> BackupInfo:
    """Write a backup of `state_dir` to `output` (0600, replaced atomically)."""
    if not (state_dir / STATE_FILE).is_file():
        raise BackupError(
            f"there is no node state in {state_dir}",
            "Give the node's --state-dir (default pprl-node/AGENCY)",
            exit_code=2,
        )
    _check_agency(state_dir / STATE_FILE, agency_id)
    files = sorted(p.name for p in state_dir.iterdir() if p.is_file() and _kept(p.name))
    forms = state_dir / FORMS_DIR
    if forms.is_dir():  # the scanned consent forms: evidence the ledger only hashes
        files += sorted(
            f"{FORMS_DIR}/{p.name}" for p in forms.iterdir() if p.is_file() and _kept(p.name)
        )
    info = BackupInfo(
        agency_id, datetime.now(UTC).isoformat(timespec="seconds"), tuple(files), bool(passphrase)
    )
    with tempfile.TemporaryDirectory(prefix="pprl-backup-") as scratch:
        archive = Path(scratch) / "state.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            manifest = json.dumps(info.__dict__, sort_keys=True).encode()
            _add_bytes(tar, MANIFEST, manifest)
            for name in files:
                source = state_dir / name
                if name.endswith(".db"):
                    copy = Path(scratch) / name
                    _sqlite_snapshot(source, copy)
                    source = copy
                tar.add(source, arcname=name, recursive=False)
        tmp = output.with_name(f".{output.name}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "wb") as sink, archive.open("rb") as source_file:
                _write_sealed(source_file, sink, passphrase)
            os.replace(tmp, output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return info


def restore_backup(
    backup: Path, state_dir: Path, agency_id: str, passphrase: str | None, *, replace: bool
) -> tuple[BackupInfo, Path | None]:
    """Restore `backup` into `state_dir`. An existing state is kept aside (renamed with a
    timestamp) only when `replace`; returns the manifest and where the old state went."""
    if (state_dir / STATE_FILE).exists() and not replace:
        raise BackupError(
            f"{state_dir} already holds a node state",
            "Restoring replaces it: add --replace (the current state is kept aside, "
            "renamed, not deleted), or give another --state-dir",
            exit_code=2,
        )
    parent = state_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pprl-restore-", dir=parent) as scratch:
        archive = Path(scratch) / "state.tar.gz"
        with backup.open("rb") as source, archive.open("wb") as sink:
            _read_sealed(source, sink, passphrase, backup)
        staged = Path(scratch) / "state"
        staged.mkdir(mode=DIRECTORY_MODE)
        info = _unpack(archive, staged, backup)
        if info.agency_id != agency_id:
            raise BackupError(
                f"{backup} is agency {info.agency_id}'s backup, not {agency_id}'s",
                "Give the backup of this agency",
            )
        _check_agency(staged / STATE_FILE, agency_id)
        restored = NodeState(staged / STATE_FILE, agency_id)
        try:
            restored.new_installation()
            restored.resend_all()
        finally:
            restored.close()
        kept_aside: Path | None = None
        if state_dir.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            kept_aside = state_dir.with_name(f"{state_dir.name}.replaced-{stamp}")
            state_dir.rename(kept_aside)
        staged.rename(state_dir)
    private_directory(state_dir)
    return info, kept_aside


def _kept(name: str) -> bool:
    # SQLite's journals are folded into the snapshot; temp files are nobody's state.
    return not name.endswith(("-journal", "-wal", "-shm", ".tmp")) and not name.startswith(".")


def _check_agency(db_path: Path, agency_id: str) -> None:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT agency_id FROM node").fetchone()
    except sqlite3.DatabaseError:
        raise BackupError(
            f"{db_path.name} is not a node state database", "Check the files"
        ) from None
    if row is None or row[0] != agency_id:
        raise BackupError(
            f"the state belongs to agency {row[0] if row else '(none)'}, not {agency_id}",
            "Give this agency's --agency and state",
        )


def _sqlite_snapshot(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    member.mode = FILE_MODE
    tar.addfile(member, io.BytesIO(data))


def _unpack(archive: Path, target: Path, backup: Path) -> BackupInfo:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                # Plain files at the top level, or scans in the forms folder, only: a
                # crafted archive cannot write elsewhere.
                folder, _, name = member.name.rpartition("/")
                if not member.isfile() or folder not in {"", FORMS_DIR} or name.startswith("."):
                    raise BackupError(
                        f"{backup} holds an unexpected entry", "Use a backup made by pprl"
                    )
            tar.extractall(target, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(
            f"{backup} is damaged ({type(exc).__name__})", "Use another backup"
        ) from None
    try:
        raw = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        info = BackupInfo(
            str(raw["agency_id"]),
            str(raw["created_at"]),
            tuple(raw["files"]),
            bool(raw["encrypted"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise BackupError(
            f"{backup} has no readable manifest", "Use a backup made by pprl"
        ) from None
    (target / MANIFEST).unlink()
    for path in target.rglob("*"):
        path.chmod(DIRECTORY_MODE if path.is_dir() else FILE_MODE)
    if STATE_FILE not in info.files or not (target / STATE_FILE).is_file():
        raise BackupError(f"{backup} holds no state database", "Use a backup made by pprl")
    return info


def _key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


def _write_sealed(
    source: io.BufferedReader, sink: io.BufferedWriter, passphrase: str | None
) -> None:
    if passphrase is None:
        sink.write(MAGIC + bytes([VERSION, 0]))
        shutil.copyfileobj(source, sink, _CHUNK)
        return
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    header = MAGIC + bytes([VERSION, _ENCRYPTED]) + salt + nonce
    encryptor = Cipher(algorithms.AES(_key(passphrase, salt)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(header)
    sink.write(header)
    for chunk in iter(lambda: source.read(_CHUNK), b""):
        sink.write(encryptor.update(chunk))
    sink.write(encryptor.finalize() + encryptor.tag)


def _read_sealed(
    source: io.BufferedReader, sink: io.BufferedWriter, passphrase: str | None, backup: Path
) -> None:
    head = source.read(len(MAGIC) + 2)
    if len(head) != len(MAGIC) + 2 or not head.startswith(MAGIC):
        raise BackupError(
            f"{backup} is not a node state backup", "Give a file from `pprl node state backup`"
        )
    if head[-2] != VERSION:
        raise BackupError(
            f"{backup} is backup format {head[-2]}",
            "Restore it with the pprl version that wrote it",
        )
    if head[-1] != _ENCRYPTED:
        shutil.copyfileobj(source, sink, _CHUNK)
        return
    if passphrase is None:
        raise BackupError(
            f"{backup} is encrypted",
            "Give the agency's key passphrase (--passphrase-file or PPRL_KEY_PASSPHRASE)",
            exit_code=2,
        )
    salt, nonce = source.read(_SALT), source.read(_NONCE)
    body_start = source.tell()
    source.seek(0, os.SEEK_END)
    end = source.tell()
    if end - body_start < _TAG:
        raise BackupError(f"{backup} is cut short", "Use another backup")
    source.seek(end - _TAG)
    tag = source.read(_TAG)
    source.seek(body_start)
    decryptor = Cipher(algorithms.AES(_key(passphrase, salt)), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(head + salt + nonce)
    left = end - _TAG - body_start
    while left > 0:
        chunk = source.read(min(_CHUNK, left))
        left -= len(chunk)
        sink.write(decryptor.update(chunk))
    try:
        sink.write(decryptor.finalize())
    except InvalidTag:
        raise BackupError(
            f"{backup} cannot be opened: the passphrase is wrong or the file was changed",
            "Give the passphrase the agency's keys had when the backup was made",
        ) from None
