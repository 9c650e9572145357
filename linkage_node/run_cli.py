"""`pprl node run`: the nightly job in one command, once (for cron or a systemd timer)
or on a schedule (`--every 24h`): encode tonight's export, then sync it to the hub and
witness the ledger, exactly as `pprl node encode` and `pprl node sync` do.

A lock in the state directory (`run.lock`, held with `flock` for the whole round) keeps
two runs from ever overlapping: a second one started while the first works says so and
exits 1 without touching anything. The lock goes with the process, so a run killed
outright never leaves a stale lock behind.

On a schedule a failed round (the hub down, an export refused) is reported and the next
round comes at its time: a scheduler's job must not die of one bad night. Run once, the
round's own exit status is the command's.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from contract.errors import HubCallError
from linkage_node import encode_cli
from linkage_node.consent_options import Agency, Hub, KeyDir, Passphrase, SecretFile, StateDir
from linkage_node.errors import NodeError
from linkage_node.private_files import FILE_MODE, private_directory
from linkage_node.sync_report_cli import write_sync_report
from linkage_node.witness_cli import LogPublicKey

err = Console(stderr=True, soft_wrap=True)
LOCK_FILE = "run.lock"
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
pause = time.sleep  # between rounds (a test passes the time instead)


def parse_every(text: str | None) -> timedelta | None:
    """`30m`, `6h`, `1d` as a period (at least five minutes), or None (run once)."""
    if text is None:
        return None
    found = _DURATION.match(text.strip().lower())
    period = timedelta(**{_UNITS[found[2]]: int(found[1])}) if found else None
    if period is None or period < timedelta(minutes=5):
        raise typer.BadParameter(
            "give minutes, hours or days, at least 5m (e.g. 24h)", param_hint="--every"
        )
    return period


@contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """Hold the state directory's run lock, or refuse (exit 1) when another run has it."""
    private_directory(directory)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NodeError(
                f"another `pprl node run` is working on {directory}; nothing was done",
                "Let it finish (its round ends by itself), or stop it first.",
                exit_code=1,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def run(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    secret_file: SecretFile,
    input_path: Annotated[Path, typer.Option("--input", help="Tonight's roster export.")],
    plans: Annotated[
        Path | None, typer.Option(help="The plan milestone export, if the agency sends plans.")
    ] = None,
    staff: Annotated[
        Path | None, typer.Option(help="The staff file (contacts and the chain of command).")
    ] = None,
    state_dir: StateDir = None,
    every: Annotated[
        str | None,
        typer.Option(
            metavar="PERIOD",
            help="Run again every PERIOD (e.g. 24h, 6h, 30m) until stopped; without it, "
            "run once (for cron or a systemd timer).",
        ),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="With --every, stop after this many rounds.")
    ] = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            help="After each sync, write the integrated sync report (CSV and JSON) here "
            "for the agency's CMIS to load."
        ),
    ] = None,
) -> None:
    """Encode tonight's export and sync it to the hub: once, or every PERIOD. Two runs
    never overlap (a lock in the state directory); exits as `encode` or `sync` would."""
    period = parse_every(every)
    directory = state_dir or Path("pprl-node") / agency
    # Inside the state directory: its parent may not be writable (a container's /data).
    output = directory / "encodings.jsonl"
    done = 0
    with run_lock(directory):
        while True:
            started = datetime.now(UTC)
            err.print(f"[bold]round {done + 1}[/] at {started.isoformat(timespec='seconds')}")
            try:
                encode_cli.encode(
                    agency=agency,
                    secret_file=secret_file,
                    input_path=input_path,
                    output=output,
                    state_dir=directory,
                    plans=plans,
                )
                from linkage_node.cli import sync_command

                sync_command(
                    agency=agency,
                    hub=hub,
                    key_dir=key_dir,
                    state_dir=directory,
                    staff=staff,
                    passphrase_file=passphrase_file,
                    log_public_key=log_public_key,
                )
                if report_dir is not None:
                    write_sync_report(
                        agency, hub, key_dir, directory, report_dir, passphrase_file, log_public_key
                    )
            except (NodeError, HubCallError, typer.BadParameter) as exc:
                if period is None:
                    raise
                err.print(f"[red]round {done + 1} failed:[/] {exc}; the next round will try again")
            done += 1
            if period is None or (rounds is not None and done >= rounds):
                return
            wait = started + period - datetime.now(UTC)
            err.print(f"next round at {(started + period).isoformat(timespec='seconds')}")
            pause(max(0.0, wait.total_seconds()))
