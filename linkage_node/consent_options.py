"""What the `pprl node consent` commands share: their options, and the consent desk a
command works through (the agency's keys, its state, its witness and the hub)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from linkage_node.errors import StateError

if TYPE_CHECKING:
    from keys import AgencyIdentity
    from linkage_node.consent_desk import ConsentDesk

err = Console(stderr=True, soft_wrap=True)

Agency = Annotated[str, typer.Option(help="Your agency id.")]
Hub = Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")]
KeyDir = Annotated[
    Path, typer.Option("--key-dir", envvar="PPRL_KEY_DIR", help="Your agency's key directory.")
]
StateDir = Annotated[
    Path | None, typer.Option(help="The node's state directory (default: pprl-node/AGENCY).")
]
Passphrase = Annotated[Path | None, typer.Option("--passphrase-file")]
SecretFile = Annotated[
    Path,
    typer.Option(
        "--secret-file",
        envvar="PPRL_LINKAGE_SECRET_FILE",
        help="The linkage secret from `pprl keys unseal`.",
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
Day = Annotated[str, typer.Option(metavar="YYYY-MM-DD")]


def agency_and_state(
    agency: str,
    key_dir: Path,
    state_dir: Path | None,
    passphrase_file: Path | None,
    prompt: bool = False,
) -> tuple[AgencyIdentity, Path]:
    """The agency's keys and its node's state directory, refused (exit 2) when the keys
    are another agency's or the node has no state yet."""
    from keys.cli import load_identity
    from linkage_node.job import STATE_FILE

    identity = load_identity(key_dir, passphrase_file, prompt)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    directory = state_dir or Path("pprl-node") / agency
    if not (directory / STATE_FILE).exists():
        raise typer.BadParameter(f"no node state in {directory}; run `pprl node encode` first")
    return identity, directory


@contextmanager
def open_desk(  # noqa: PLR0917  (a command's options, passed on as they came)
    agency: str,
    hub: str,
    key_dir: Path,
    state_dir: Path | None,
    passphrase_file: Path | None,
    log_public_key: Path | None,
) -> Iterator[tuple[ConsentDesk, Path]]:
    """The agency's consent desk and its state directory, closed afterwards; refuses a
    node with no state or no pinned hub log key (exit 2) before anything is asked."""
    from keys.cli import load_identity
    from linkage_node.consent_desk import ConsentDesk
    from linkage_node.hub_client import node_client
    from linkage_node.job import REF_KEY_FILE, STATE_FILE
    from linkage_node.refs import RefKey
    from linkage_node.state import NodeState
    from linkage_node.witness import NodeWitness

    identity = load_identity(key_dir, passphrase_file, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    directory = state_dir or Path("pprl-node") / agency
    if not (directory / STATE_FILE).exists():
        raise StateError(
            f"no node state in {directory}",
            "Run `pprl node encode` and `pprl node sync` first, or give --state-dir.",
            exit_code=2,
        )
    witness = NodeWitness.open(directory, identity, log_public_key)
    if witness is None:
        raise StateError(
            f"this node does not witness the hub's consent ledger yet ({directory})",
            "Give --log-public-key with the .vkey file the hub operator published; it is "
            "pinned and consent is then checked against it.",
            exit_code=2,
        )
    ref_key = RefKey.load_or_create(directory / REF_KEY_FILE, create=False)
    state = NodeState(directory / STATE_FILE, agency)
    client = node_client(hub, identity)
    try:
        yield ConsentDesk(identity, state, ref_key, witness, client), directory
    finally:
        client.close()
        state.close()


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} must be a date YYYY-MM-DD") from None


def split_values(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())
