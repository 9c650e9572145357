"""`pprl consent ...` commands that need no database: checking an offline proof.

The commands that read the hub's database (`verify`, `prove`) live with the hub's
storage and are added to this group by the `pprl` entry point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from consent.checkpoints import LogVerifier
from consent.errors import ProofInvalid
from consent.proofs import check_proof_bundle

app = typer.Typer(
    help="The consent ledger: verify it, prove entries, check proofs offline.",
    no_args_is_help=True,
)
err = Console(stderr=True)

LogPublicKey = Annotated[
    Path,
    typer.Option(
        "--log-public-key",
        envvar="PPRL_LOG_PUBLIC_KEY_FILE",
        help="The hub's published log verifier key (the .vkey file).",
    ),
]


def load_verifier(path: Path) -> LogVerifier:
    """Read a published verifier key file (a missing file is the caller's usage error)."""
    try:
        return LogVerifier.from_vkey(path.read_text(encoding="ascii"))
    except UnicodeDecodeError:
        raise ProofInvalid(f"the log public key {path} is not a .vkey text file") from None


@app.command("check-proof")
def check_proof(
    log_public_key: LogPublicKey,
    input_path: Annotated[
        Path, typer.Option("--input", help="A bundle from `pprl consent prove`.")
    ],
) -> None:
    """Check an offline proof bundle: checkpoint signature, inclusion, entry form."""
    verifier = load_verifier(log_public_key)
    bundle = input_path.read_bytes()  # a missing file is reported as a usage error
    proven = check_proof_bundle(bundle, verifier)
    entry = proven.entry.entry
    typer.echo(
        json.dumps(
            {
                "index": proven.index,
                "type": entry.type,
                "signer": entry.signer,
                "made_at": entry.made_at,
                "leaf_hash": proven.entry.leaf_hash.hex(),
                "checkpoint_size": proven.checkpoint.size,
                "checkpoint_root": proven.checkpoint.root.hex(),
            },
            indent=2,
        )
    )
    err.print(
        f"entry {proven.index} ({entry.type}) is in the ledger at size "
        f"{proven.checkpoint.size}, under a checkpoint signed by {verifier.name}"
    )
