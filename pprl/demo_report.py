"""The demo's step 11: tonight's integrated sync report for child welfare's CMIS, asked
as each client's case manager (each disclosure an ACCESS entry under their name), every
grant checked by the node's witness, written owner-only for the agency's systems."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.console import Console

from keys import AgencyIdentity
from linkage_node import sync_report
from linkage_node.hub_client import node_client
from linkage_node.witness import NodeWitness


def report_story(
    out: Console, base: str, *, root: Path, identity: AgencyIdentity, consented: str
) -> None:
    """Tell step 11 (`consented`: the case number of the client who stays consented)."""
    agency = identity.agency_id
    directory = root / "nodes" / agency
    witness = NodeWitness.open(directory, identity, root / "hub-log.key.vkey")
    with node_client(base, identity, retry_for=120) as hub:
        report, files = sync_report.nightly(
            identity, directory, hub, root / "cmis" / agency, witness
        )
    out.print(
        f"integrated sync report for {agency}'s CMIS: {sync_report.summary(report)}; "
        f"{', '.join(p.name for p in files)} under {root / 'cmis' / agency} (mode 0600)"
    )
    with (root / "cmis" / agency / "shared-clients.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["case_number"] == consented:
                contact = row["contact_name"] or "no contact (not consented)"
                out.print(
                    f"  {row['case_number']} ({row['case_manager_id']}): {row['program']}, "
                    f"contact {contact}, plan shared: {row['plan_shared']}, "
                    f"consent verified: {row['consent_verified']}"
                )
