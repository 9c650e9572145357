"""The demo's families: one family is planted in the rosters (child welfare serves the
child and lists the mother as family only; corrections serves the mother and lists the
child as family only), and step 10 tells what the child's case manager sees of the
mother before and after she consents at corrections, and the operators' families report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.console import Console

from contract import HOUSEHOLD_ROLES
from contract.client import HubClient
from keys import AgencyIdentity
from linkage_node.consent_forms import store_upload
from linkage_node.consent_terms import ConsentForm
from linkage_node.hub_client import node_client
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.synthetic import LinkedRosters
from linkage_node.witness import NodeWitness
from pprl.demo_consent import _case_manager, _consent_desk

HOUSEHOLD = {"DCFS": "CW-H-2041", "DOC": "DOC-FAM-77"}


def plant_family(rosters: LinkedRosters) -> dict[str, str]:
    """Put one family in households at child welfare and corrections (see the module
    notes); returns the case numbers the story uses."""
    dcfs, doc = rosters.rows["DCFS"], rosters.rows["DOC"]
    at_dcfs = set(rosters.truth["DCFS"].values())
    at_doc = set(rosters.truth["DOC"].values())
    mother = next(r for r in doc if rosters.truth["DOC"][r["record_id"]] not in at_dcfs)
    child = max(
        (r for r in dcfs if rosters.truth["DCFS"][r["record_id"]] not in at_doc),
        key=lambda r: r["date_of_birth"],
    )
    mother.update(household_id=HOUSEHOLD["DOC"], household_role="parent_guardian")
    child.update(household_id=HOUSEHOLD["DCFS"], household_role="child")
    # Each agency types the family member it does not serve its own way: an upper-case
    # surname and no SSN at child welfare, a missing SSN and a typed-over day at corrections.
    dcfs.append(
        {
            **mother,
            "record_id": "DCFS-FAM-0001",
            "family_name": mother["family_name"].upper(),
            "ssn": "",
            "case_manager_id": "",
            "household_id": HOUSEHOLD["DCFS"],
            "household_role": "Parent/Guardian",
            "member_only": "yes",
        }
    )
    doc.append(
        {
            **child,
            "record_id": "DOC-FAM-0001",
            "ssn": "",
            "case_manager_id": "",
            "household_id": HOUSEHOLD["DOC"],
            "household_role": "child",
            "member_only": "yes",
        }
    )
    return {"child": child["record_id"], "mother_at_doc": mother["record_id"]}


def family_story(
    out: Console,
    base: str,
    *,
    root: Path,
    identities: dict[str, AgencyIdentity],
    family: dict[str, str],
    ops: HubClient,
    now: datetime,
) -> None:
    """Tell step 10."""
    with NodeState(root / "nodes" / "DCFS" / STATE_FILE, "DCFS") as dcfs:
        child = dcfs.client(family["child"])
        assert child is not None  # noqa: S101  (planted in the roster)
        names = {m.ref: m for m in dcfs.household_of(child.ref)}
    staff = child.case_manager_id
    witness = NodeWitness.open(
        root / "nodes" / "DCFS", identities["DCFS"], root / "hub-log.key.vkey"
    )
    dcfs_node = node_client(base, identities["DCFS"])
    token = _case_manager(identities["DCFS"], staff)
    try:
        before = dcfs_node.family(child.ref, token=token)
        for member in before.members:
            who = names[member.ref]
            said = ", ".join(p.program for p in member.programs) or "no program named"
            out.print(
                f"[bold]{staff}[/] opens {child.name}'s page; family: {who.name} "
                f"({HOUSEHOLD_ROLES[who.household_role]}, listed as family only: "
                f"{'DCFS does not serve her' if member.member_only else 'a DCFS client'}): "
                f"{said} (no consent from her yet)"
            )
        # She signs corrections' form naming child welfare, for existence only.
        doc_node = node_client(base, identities["DOC"])
        with NodeState(root / "nodes" / "DOC" / STATE_FILE, "DOC") as doc:
            desk = _consent_desk(root, doc_node, identities["DOC"], doc)
            found = doc.client(family["mother_at_doc"])
            assert found is not None  # noqa: S101
            scan = b"%PDF-1.4 demo consent form, existence only"
            sha, stored = store_upload(root / "nodes" / "DOC", scan, ".pdf")
            recorded = desk.record(
                ConsentForm(
                    record_id=found.record_id,
                    recipients=("child_welfare",),
                    data_classes=("existence",),
                    signed_on=now.date(),
                    form_sha256=sha,
                    collected_by=found.case_manager_id,
                ),
                recorded_by=found.case_manager_id,
                form_file=stored,
            )
        doc_node.close()
        after = dcfs_node.family(child.ref, token=token)
        check = (
            witness.check_family(dcfs_node, after, identities["DCFS"].programs) if witness else None
        )
    finally:
        dcfs_node.close()
    for member in after.members:
        named = "; ".join(
            f"{p.program} ({p.confidence} match, on her consent)" for p in member.programs
        )
        out.print(
            f"after she consents at corrections ({recorded.grant_id}): {names[member.ref].name} "
            f"is also served by {named or 'no program named'}"
            + ("; consent verified by DCFS's node" if check and check.verified else "")
        )
    report = ops.families_report()
    several = report.recorded_by_several_agencies
    out.print(
        f"families report (cells under {report.limit} suppressed): "
        f"{len(report.two_generation)} two-generation cells; families recorded by two or "
        f"more agencies: {'suppressed' if several is None else several}"
    )
