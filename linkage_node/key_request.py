"""`pprl node request-key`: an agency's request for new keys, approved with its current
key. The hub operator's `pprl hub add-key` is the second approval the ledger requires, so
a stolen agency key alone can never add one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from consent import key_request, public_key_fields
from keys import AgencyIdentity

err = Console(stderr=True, soft_wrap=True)


def request_key(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    key_dir: Annotated[
        Path, typer.Option("--key-dir", help="Your current keys (they sign the request).")
    ],
    new_key_dir: Annotated[
        Path, typer.Option("--new-key-dir", help="Where to create the new keys (files 0600).")
    ],
    output: Annotated[Path, typer.Option(help="The request file for the hub operator.")],
    passphrase_file: Annotated[
        Path | None,
        typer.Option("--passphrase-file", help="Passphrase of the current and the new keys."),
    ] = None,
) -> None:
    """Create new keys for your agency and a request, signed with your current key, that
    the hub operator approves with `pprl hub add-key`."""
    from keys.cli import load_identity, read_passphrase

    old = load_identity(key_dir, passphrase_file, False)
    if old.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {old.agency_id}'s")
    new = AgencyIdentity.create(agency, old.programs)
    new.save(new_key_dir, passphrase=read_passphrase(passphrase_file))
    request = key_request(old, agency, public_key_fields(new.public_keys()), datetime.now(UTC))
    output.write_text(json.dumps(request, indent=2) + "\n", encoding="utf-8")
    err.print(
        f"new keys for {agency} in {new_key_dir} (signing key {new.signing_key_id}); send "
        f"{output} to the hub operator, who approves it with `pprl hub add-key`. Use the new "
        "key directory once it is added; then revoke the old keys."
    )
