"""`pprl node sync-report`: write tonight's integrated sync report for the agency's CMIS
(`linkage_node.sync_report`); `pprl node run --report-dir` writes it after each sync."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from linkage_node.consent_options import Agency, Hub, KeyDir, Passphrase, StateDir
from linkage_node.witness_cli import LogPublicKey

err = Console(stderr=True, soft_wrap=True)

ReportDir = Annotated[
    Path,
    typer.Option(
        "--out", help="The folder the agency's CMIS loads from (files replaced each night)."
    ),
]


def write_sync_report(
    agency: str,
    hub: str,
    key_dir: Path,
    state_dir: Path | None,
    out: Path,
    passphrase_file: Path | None = None,
    log_public_key: Path | None = None,
) -> None:
    """Ask, check and write; raises what `pprl` reports (an alarm exits 4, nothing written)."""
    from keys import Role, issue_token
    from keys.cli import load_identity
    from linkage_node import sync_report
    from linkage_node.hub_client import hub_audience, node_client
    from linkage_node.job import STATE_FILE
    from linkage_node.state import NodeState
    from linkage_node.witness import NodeWitness

    identity = load_identity(key_dir, passphrase_file, False)
    if identity.agency_id != agency:
        raise typer.BadParameter(f"the keys in {key_dir} are agency {identity.agency_id}'s")
    directory = state_dir or Path("pprl-node") / agency
    if not (directory / STATE_FILE).exists():
        raise typer.BadParameter(f"no node state in {directory}; run `pprl node encode` first")

    def token_for(staff_id: str) -> Callable[[], str]:
        return lambda: issue_token(
            identity,
            subject=staff_id,
            audience=hub_audience(),
            roles=(Role.CASE_MANAGER,),
            lifetime=timedelta(minutes=5),
        )

    state = NodeState(directory / STATE_FILE, agency)
    witness = NodeWitness.open(directory, identity, log_public_key)
    try:
        entries = state.directory()
    finally:
        state.close()
    with node_client(hub, identity, retry_for=300, notice=err.print) as client:
        report = sync_report.build(
            agency, identity.programs, entries, hub=client, token_for=token_for, witness=witness
        )
    files = sync_report.write(report, out)
    counts = report.counts()
    err.print(
        f"integrated sync report: {counts['clients_shared']} of {counts['clients_asked']} "
        f"clients shared ({counts['contacts']} contacts, {counts['milestones']} milestones, "
        f"{counts['conflicts']} conflicts) in {', '.join(p.name for p in files)} under {out}"
    )
    if witness is None:
        err.print(
            "warning: consent was not verified (this node does not witness the ledger); "
            "give --log-public-key hub-log.key.vkey once and it is pinned"
        )


def sync_report_command(
    agency: Agency,
    hub: Hub,
    key_dir: KeyDir,
    out: ReportDir,
    state_dir: StateDir = None,
    passphrase_file: Passphrase = None,
    log_public_key: LogPublicKey = None,
) -> None:
    """Write the integrated sync report (CSV and JSON) for the agency's own systems: each
    current client's other programs, their case managers' contacts, shared milestones
    and conflicts, as far as consent allows; every disclosure is an ACCESS entry."""
    write_sync_report(agency, hub, key_dir, state_dir, out, passphrase_file, log_public_key)
