"""`pprl node review`: the steward's answers to the hub's review queue. Each item is a
link in the review band that involves the agency's own records; the steward sees their
own record by case number and name (never the other agency's) and answers same,
different or unsure. Two "same" answers make the link disclosable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from contract.errors import HubRefused
from linkage_node.witness_cli import LogPublicKey, witness_round

if TYPE_CHECKING:
    from contract.client import HubClient

err = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    help="Answer the hub's review queue about your own records.", no_args_is_help=True
)


def _review_client(
    agency: str,
    hub: str,
    key_dir: Path,
    steward: str,
    passphrase_file: Path | None,
    *,
    state_dir: Path | None,
    log_public_key: Path | None,
) -> HubClient:
    from keys.cli import load_identity
    from linkage_node.hub_client import node_client

    identity = load_identity(key_dir, passphrase_file, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    # The review queue is about linked records: witness the ledger before answering.
    witness_round(hub, identity, state_dir or Path("pprl-node") / agency, log_public_key)
    # The steward asks through the node's role; the hub records the steward with the answer.
    return node_client(hub, identity, subject=steward)


ReviewHub = Annotated[str, typer.Option("--hub", envvar="PPRL_HUB_URL", help="The hub's URL.")]
ReviewKeys = Annotated[Path, typer.Option("--key-dir", help="Your agency's keys.")]
Steward = Annotated[str, typer.Option(help="Your staff id (recorded with each answer).")]


@app.command("list")
def review_list(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    hub: ReviewHub,
    key_dir: ReviewKeys,
    steward: Steward,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    passphrase_file: Annotated[Path | None, typer.Option("--passphrase-file")] = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """Items waiting for your answer, each with your own record (never the other
    agency's): item id, score, your case number and name."""
    from linkage_node.job import STATE_FILE
    from linkage_node.state import NodeState
    from linkage_node.state_rows import ClientName

    with _review_client(
        agency,
        hub,
        key_dir,
        steward,
        passphrase_file,
        state_dir=state_dir,
        log_public_key=log_public_key,
    ) as client:
        items = client.review_queue(agency)
    state = NodeState((state_dir or Path("pprl-node") / agency) / STATE_FILE, agency)
    try:
        wanted = [r for item in items for r in (item.ref, item.other_ref) if r]
        known = state.clients_by_ref(wanted)
    finally:
        state.close()
    table = Table("item", "score", "case number", "name", "born", "your answer", "other side")
    gone = ClientName("(not in your current roster)", "", "")
    for item in items:
        record_id, name, born = known.get(item.ref, gone)
        other = "answered" if item.other_answered else "waiting"
        if item.other_ref:  # the agency's own two records: both are shown
            twin = known.get(item.other_ref, gone)
            record_id, name, born = (
                f"{record_id} and {twin.record_id}",
                f"{name} / {twin.name}",
                f"{born} / {twin.date_of_birth}",
            )
            other = "your own two records"
        table.add_row(
            item.item_id,
            f"{item.score:.3f}",
            record_id,
            name,
            born,
            item.my_answer or "-",
            other,
        )
    Console(soft_wrap=True).print(table)


@app.command("answer")
def review_answer(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    hub: ReviewHub,
    key_dir: ReviewKeys,
    steward: Steward,
    item: Annotated[str, typer.Option(help="The item id from `pprl node review list`.")],
    answer: Annotated[
        Literal["same", "different", "unsure"],
        typer.Option(help="Whether the two records are the same person."),
    ],
    passphrase_file: Annotated[Path | None, typer.Option("--passphrase-file")] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """Say whether your record and the other agency's are the same person."""
    with _review_client(
        agency,
        hub,
        key_dir,
        steward,
        passphrase_file,
        state_dir=state_dir,
        log_public_key=log_public_key,
    ) as client:
        try:
            recorded = client.answer_review(agency, item, answer)
        except HubRefused as refused:
            refused.fix = "Is the item id from `pprl node review list`?"
            raise
    other = (
        "the other agency has answered too"
        if recorded.other_answered
        else "waiting for the other agency"
    )
    err.print(f"recorded: {answer} ({other})")
