"""`pprl node sync-report`: write tonight's integrated sync report for the agency's CMIS
(`linkage_node.sync_report`); `pprl node run --report-dir` writes it after each sync."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from linkage_node.consent_options import Agency, Hub, KeyDir, Passphrase, StateDir, agency_and_state
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
    from linkage_node import sync_report
    from linkage_node.hub_client import node_client
    from linkage_node.witness import NodeWitness

    identity, directory = agency_and_state(agency, key_dir, state_dir, passphrase_file)

    witness = NodeWitness.open(directory, identity, log_public_key)
    with node_client(hub, identity, retry_for=300, notice=err.print) as client:
        report, files = sync_report.nightly(identity, directory, client, out, witness)
    err.print(
        f"integrated sync report: {sync_report.summary(report)}; "
        f"{', '.join(p.name for p in files)} under {out}"
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
