"""`pprl consent verify` and `pprl consent prove`: the ledger as stored by the hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from consent import CheckpointInvalid, LedgerTampered, verify_ledger
from consent.cli import LogPublicKey, load_verifier

err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url", envvar="PPRL_DATABASE_URL", help="The hub database (SQLAlchemy URL)."
    ),
]


def verify(
    database_url: DatabaseUrl,
    log_public_key: LogPublicKey,
    hashes_only: Annotated[
        bool,
        typer.Option(help="Check leaf hashes and the tree only, not signatures and replay."),
    ] = False,
    witnessed: Annotated[
        list[Path] | None,
        typer.Option(
            "--witnessed",
            help="A checkpoint an agency's witness accepted: the note `pprl node witness "
            "checkpoint` prints, or the node's state directory. The ledger must contain it. "
            "Repeatable.",
        ),
    ] = None,
) -> None:
    """Re-check the whole ledger; exits 1 naming the first bad entry, or when the ledger
    is shorter than, or differs from, a checkpoint a witness accepted."""
    from sqlmodel import Session

    from hub.db import create_db_engine
    from hub.services.ledger import head_size, stored_checkpoints, stored_rows
    from hub.setup_checks import require_migrated

    verifier = load_verifier(log_public_key)
    notes = [_read_note(path) for path in witnessed or []]
    require_migrated(database_url)  # never verify (or create) an empty file by mistake
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session, _progress() as progress:
            size = head_size(session)
            task = progress.add_task("verifying", total=size)
            report = verify_ledger(
                stored_rows(session),
                stored_checkpoints(session),
                verifier,
                check_entries=not hashes_only,
                progress=lambda i: progress.update(task, completed=i),
                witnessed=notes,
            )
            progress.update(task, completed=report.size)
    finally:
        engine.dispose()
    if size != report.size:
        raise LedgerTampered(
            report.size, f"the ledger head records {size} entries but {report.size} are stored"
        )
    checked = "hashes" if hashes_only else "hashes, signatures and replay"
    err.print(
        f"ledger ok: {report.size} entries ({checked}), {report.checkpoints} checkpoints, "
        f"root {report.root.hex()}"
        + (f"; contains the {len(notes)} witnessed checkpoints" if notes else "")
    )


# The node's witness state (linkage_node.witness), read here without importing the node.
NODE_WITNESS_FILE = "ledger-witness.db"


def _read_note(path: Path) -> str:
    if path.is_dir():
        return _note_from_node_state(path / NODE_WITNESS_FILE)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointInvalid(f"cannot read the witnessed checkpoint {path}: {exc}") from None


def _note_from_node_state(path: Path) -> str:
    import sqlite3

    if not path.exists():
        raise CheckpointInvalid(f"{path.parent} is not a node's state directory (no {path.name})")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT note FROM witnessed").fetchone()
    if row is None:
        raise CheckpointInvalid(f"the node in {path.parent} has not witnessed a checkpoint yet")
    return str(row[0])


def prove(
    database_url: DatabaseUrl,
    index: Annotated[int, typer.Option(min=0, help="The entry to prove.")],
    output: Annotated[Path, typer.Option(help="Where to write the proof bundle (JSON).")],
) -> None:
    """Write an offline proof that entry INDEX is in the ledger (no key needed)."""
    from sqlmodel import Session

    from hub.db import create_db_engine
    from hub.services.ledger import proof_bundle
    from hub.setup_checks import require_migrated

    require_migrated(database_url)
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as session:
            bundle = proof_bundle(session, index)
    finally:
        engine.dispose()
    output.write_bytes(bundle + b"\n")
    err.print(f"proof of entry {index} written to {output}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
