"""The demo's step 9: a client leaves corrections. Corrections' next export no longer
lists them; the nightly job records the exit (it does not delete them), the hub keeps the
record as history and drops its contact and plan, and the child welfare case manager
sees "exited from corrections" on the caseload, a notification, and the program under
"served before" in the answer."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from keys import AgencyIdentity
from linkage_node.hub_client import node_client
from linkage_node.job import STATE_FILE
from linkage_node.staff_file import load_staff
from linkage_node.state import NodeState
from linkage_node.sync import sync
from pprl.demo_consent import _assigned, _case_manager, _shared_with


def exit_story(
    out: Console,
    base: str,
    *,
    url: str,
    root: Path,
    identities: dict[str, AgencyIdentity],
    encode: Callable[[str], Any],
) -> str:
    """Tell step 9; returns the child welfare case number whose client left corrections."""
    dcfs_ref, doc_ref = _shared_with(url, "DCFS", "DOC")[1]  # the one who never consented
    with NodeState(root / "nodes" / "DOC" / STATE_FILE, "DOC") as doc:
        leaving = doc.record_id_of(doc_ref) or ""
    roster = root / "rosters" / "DOC.csv"
    with roster.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(r for r in rows if r["record_id"] != leaving)
    result = encode("DOC")
    node = node_client(base, identities["DOC"])
    state = NodeState(root / "nodes" / "DOC" / STATE_FILE, "DOC")
    try:
        sync(state, "DOC", node, staff=load_staff(root / "rosters" / "DOC-staff.csv"))
    finally:
        state.close()
        node.close()
    out.print(
        f"corrections' export no longer lists client {leaving}: the nightly job recorded "
        f"{result.diff.removed} exit (kept at the hub as history, with today's date; "
        "`--missing remove` would delete instead), and the hub dropped its contact and plan"
    )
    with NodeState(root / "nodes" / "DCFS" / STATE_FILE, "DCFS") as dcfs:
        record_id, staff, name = _assigned(dcfs, dcfs_ref)
    dcfs_node = node_client(base, identities["DCFS"])
    token = _case_manager(identities["DCFS"], staff)
    try:
        caseload = dcfs_node.caseload(token=token)
        notes = dcfs_node.notifications(token=token)
        answer = dcfs_node.shared(dcfs_ref, token=token)
    finally:
        dcfs_node.close()
    item = next(c for c in caseload.clients if c.record_ref == dcfs_ref)
    out.print(f"[bold]{staff}[/]'s caseload, {name} ({record_id}): {'; '.join(item.changes)}")
    told = [n.message for n in notes if n.kind == "enrollment_changed"]
    out.print(f"  notification: {told[0].splitlines()[0] if told else 'none'}")
    for past in answer.past_enrollments:
        out.print(
            f"  served before: {past.program} until {past.exited_on}; contact and plan "
            f"no longer shared ({past.contact.reason})"
        )
    return record_id
