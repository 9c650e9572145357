"""`pprl node state backup|restore`: keep the node's state safe (see linkage_node.backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="Back up and restore the node's state (the record-reference key and databases).",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True)

Agency = Annotated[str, typer.Option(help="Your agency id.")]
StateDir = Annotated[
    Path | None, typer.Option(help="The node's state directory (default: pprl-node/AGENCY).")
]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="The agency's key passphrase, which encrypts the backup (else "
        "$PPRL_KEY_PASSPHRASE; without one the backup is not encrypted).",
    ),
]


@app.command("backup")
def backup(
    agency: Agency,
    output: Annotated[Path, typer.Option(help="The backup file to write (mode 0600).")],
    state_dir: StateDir = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write the node's state to one file: copy it off the machine after every run."""
    from keys.cli import read_passphrase
    from linkage_node.backup import create_backup
    from linkage_node.errors import check_writable

    check_writable(output, "--output")
    passphrase = read_passphrase(passphrase_file)
    info = create_backup(state_dir or Path("pprl-node") / agency, agency, output, passphrase)
    err.print(f"backed up {agency}'s node state ({', '.join(info.files)}) to {output}")
    if not info.encrypted:
        err.print(
            "[yellow]warning:[/] the backup is not encrypted (the agency's keys have no "
            "passphrase) and holds clients' names and dates of birth: store it as you "
            "store the roster exports"
        )


@app.command("restore")
def restore(
    agency: Agency,
    input_path: Annotated[
        Path, typer.Option("--input", help="A file from `pprl node state backup`.")
    ],
    state_dir: StateDir = None,
    passphrase_file: PassphraseFile = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace an existing state (it is renamed and kept aside, not deleted).",
        ),
    ] = False,
) -> None:
    """Put a backed-up node state back; the next encode and sync carry on from it."""
    from keys.cli import read_passphrase
    from linkage_node.backup import restore_backup

    target = state_dir or Path("pprl-node") / agency
    info, kept_aside = restore_backup(
        input_path, target, agency, read_passphrase(passphrase_file), replace=replace
    )
    err.print(f"restored {agency}'s node state from {input_path} (made {info.created_at})")
    if kept_aside is not None:
        err.print(f"the state it replaced was kept aside in {kept_aside}")
    err.print(
        "Run `pprl node encode` and `pprl node sync` as usual: clients changed since the "
        "backup are sent again"
    )
