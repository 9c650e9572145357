"""`pprl node witness ...`: the node's witness of the hub's consent ledger, by hand or
on a schedule, and the round every other node command runs after talking to the hub.

Exit status 4 means the hub showed this node a history it never witnessed (a rollback,
a second history, or entries that do not make up the signed tree): stop relying on the
hub's answers and send `pprl node witness status --json` to the other agencies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from keys import AgencyIdentity
from linkage_node.errors import StateError

if TYPE_CHECKING:  # httpx and the witness load only for the commands that use them
    from linkage_node.witness import NodeWitness

app = typer.Typer(
    help="Witness the hub's consent ledger: check every new checkpoint, cosign it.",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True)

LogPublicKey = Annotated[
    Path | None,
    typer.Option(
        "--log-public-key",
        envvar="PPRL_LOG_PUBLIC_KEY_FILE",
        help="The hub's published log key (.vkey). Pinned in the state directory the first "
        "time; later runs use the pinned key.",
    ),
]


def witness_round(
    hub: str, identity: AgencyIdentity, state_dir: Path, log_public_key: Path | None
) -> None:
    """The round a node command runs after it talked to the hub: raises WitnessAlarm
    (exit 4) on a rolled-back or forked ledger; warns when no log key was ever given."""
    from linkage_node.witness import NodeWitness

    witness = NodeWitness.open(state_dir, identity, log_public_key)
    if witness is None:
        err.print(
            "warning: this node does not witness the hub's consent ledger yet; give "
            "--log-public-key hub-log.key.vkey once and it is pinned"
        )
        return
    from linkage_node.hub_client import node_client

    with node_client(hub, identity) as client:
        witnessed = witness.run(client)
    if witnessed is not None:
        err.print(f"ledger witnessed at size {witnessed.size} and cosigned")


def _witness(
    agency: str,
    state_dir: Path | None,
    identity: AgencyIdentity | None = None,
    log_public_key: Path | None = None,
) -> NodeWitness:
    from linkage_node.witness import NodeWitness

    directory = state_dir or Path("pprl-node") / agency
    witness = NodeWitness.open(directory, identity, log_public_key)
    if witness is None:
        raise StateError(
            f"no hub log key is pinned in {directory}",
            "Give --log-public-key with the .vkey file the hub operator published.",
        )
    return witness


Agency = Annotated[str, typer.Option(help="Your agency id.")]
KeyDir = Annotated[
    Path, typer.Option("--key-dir", envvar="PPRL_KEY_DIR", help="Your agency's key directory.")
]
StateDir = Annotated[
    Path | None,
    typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
]


@app.command("run")
def run(
    agency: Agency,
    hub: Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's base URL.")],
    key_dir: KeyDir,
    state_dir: StateDir = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """Check the hub's newest checkpoint against everything this node saw, read the
    entries in between, and cosign it. Exits 4 on a rollback or a second history."""
    from keys.cli import load_identity

    identity = load_identity(key_dir, None, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    witness = _witness(agency, state_dir, identity, log_public_key)
    from linkage_node.hub_client import node_client

    with node_client(hub, identity) as client:
        witnessed = witness.run(client)
    if witnessed is None:
        err.print("the hub has not signed a checkpoint yet; nothing to witness")
        return
    err.print(f"ledger witnessed at size {witnessed.size} and cosigned")


@app.command("status")
def status(
    agency: Agency,
    state_dir: StateDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """What this node witnessed and cosigned, and every alarm with its evidence."""
    witness = _witness(agency, state_dir)
    summary = witness.status()
    alarms = witness.alarms()
    if json_out:
        summary["alarm_evidence"] = [alarm.__dict__ for alarm in alarms]
        typer.echo(json.dumps(summary, indent=2))
    else:
        err.print(
            f"log {summary['log']}: witnessed size {summary['witnessed_size']}, "
            f"cosigned size {summary['cosigned_size']}, {summary['alarms']} alarms"
        )
        for alarm in alarms:
            err.print(f"  {alarm.at} {alarm.kind}: {alarm.detail}")


@app.command("checkpoint")
def checkpoint(agency: Agency, state_dir: StateDir = None) -> None:
    """Print the checkpoint this node witnessed (the signed note), for
    `pprl consent verify --witnessed`."""
    witness = _witness(agency, state_dir)
    note = witness.status()["witnessed_checkpoint"]
    if note is None:
        err.print("this node has not witnessed a checkpoint yet")
        raise typer.Exit(1)
    typer.echo(note, nl=False)
