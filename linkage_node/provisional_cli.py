"""`pprl node provisional add|list|remove`: a person met at intake, registered by the data
steward so that the next `pprl node encode` and `sync` send them like a roster row, before
the agency's own system exports them (see linkage_node.provisional). Exit statuses: 0
done, 2 usage, 3 identifiers that cannot be matched, 4 no such provisional record."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from linkage_node import person_options as options
from linkage_node.person_options import Dob, Family, Given, Phone, Sex, Ssn, Zip
from linkage_node.provisional import DEFAULT_DAYS

app = typer.Typer(
    help="Provisional records: people met at intake, sent before the roster lists them.",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True)

Agency = Annotated[str, typer.Option(help="Your agency id.")]
StateDir = Annotated[
    Path | None, typer.Option(help="The node's state directory (default: pprl-node/AGENCY).")
]


def _state_file(agency: str, state_dir: Path | None) -> Path:
    """The node's state, which must exist: a provisional record joins a roster's run."""
    from linkage_node.errors import StateError
    from linkage_node.job import STATE_FILE

    path = (state_dir or Path("pprl-node") / agency) / STATE_FILE
    if not path.exists():
        raise StateError(
            f"no node state at {path}",
            "Run `pprl node encode` for the agency's roster first, or pass --state-dir.",
        )
    return path


@app.command("add")
def add(
    agency: Agency,
    added_by: Annotated[str, typer.Option(help="Your staff id, kept with the record.")],
    given: Given,
    family: Family,
    dob: Dob,
    ssn: Ssn = "",
    sex: Sex = "",
    zip_code: Zip = "",
    phone: Phone = "",
    days: Annotated[
        int, typer.Option(min=1, max=180, help="Days until it expires (and is removed).")
    ] = DEFAULT_DAYS,
    state_dir: StateDir = None,
) -> None:
    """Register a person as a provisional record; prints its case number."""
    from linkage_node.state import NodeState

    person = options.person(given, family, dob, ssn=ssn, sex=sex, zip_code=zip_code, phone=phone)
    today = date.today()  # noqa: DTZ011  (the steward's calendar)
    with NodeState(_state_file(agency, state_dir), agency) as state:
        record_id = state.provisional.add(person, added_by=added_by, today=today, days=days)
    typer.echo(record_id)
    until = today + timedelta(days=days)
    err.print(
        f"registered provisional record {record_id} until {until}: the next `pprl node "
        "encode` and `pprl node sync` send it; once the export lists the person, remove it "
        f"(`pprl node provisional remove --record-id {record_id}`)"
    )


@app.command("list")
def list_provisional(agency: Agency, state_dir: StateDir = None) -> None:
    """The provisional records, newest first (names shown here only)."""
    from linkage_node.state import NodeState

    with NodeState(_state_file(agency, state_dir), agency) as state:
        found = state.provisional.listed()
    if not found:
        err.print("no provisional records")
    for p in found:
        typer.echo(
            f"{p.record_id}\t{p.name}\tadded {p.added_on} by {p.added_by}\tuntil {p.expires_on}"
        )


@app.command("remove")
def remove(
    agency: Agency,
    record_id: Annotated[str, typer.Option(help="The provisional case number.")],
    state_dir: StateDir = None,
) -> None:
    """Remove a provisional record; the next run removes it at the hub too."""
    from linkage_node.state import NodeState

    with NodeState(_state_file(agency, state_dir), agency) as state:
        removed = state.provisional.remove(record_id)
    if not removed:
        err.print(f"error: no provisional record {record_id}. See `pprl node provisional list`.")
        raise typer.Exit(4)
    err.print(f"removed {record_id}; the next `pprl node encode` and `sync` remove it at the hub")
