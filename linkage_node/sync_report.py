"""The integrated sync report: what the agency's case-management system (CMIS) loads
each night, so "who else serves this client, how to reach them, what are we all working
on" shows in the agency's own screens.

For every current client of the agency (family-only rows have no case manager and are
left out), the node asks the hub "is this client shared?" as the client's case manager,
exactly as their page does: the hub decides each program, contact and plan by consent or
the agreement and records each disclosure as an ACCESS entry under that case manager.
Where the node witnesses the ledger, every grant an answer relies on is checked against
the history it saw ("consent verified"); an alarm stops the report with nothing written.

Only clients with something shared appear; the files are the agency's own client data
(case numbers, names), so they are written owner-only, each whole or not at all:
`shared-clients.csv` (one row per other program), `milestones.csv` (the other programs'
milestones the plan level discloses), `conflicts.csv` and `sync-report.json` (all of it,
with what was withheld and why).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contract import SharedOut, SharedProgramOut
from contract.client import HubClient
from contract.errors import HubRefused
from contract.tokens import CachedToken
from keys import AgencyIdentity, Role
from keys.files import write_private
from linkage_node.hub_client import agency_token
from linkage_node.job import STATE_FILE
from linkage_node.private_files import private_directory
from linkage_node.state import NodeState
from linkage_node.state_rows import DirectoryEntry
from linkage_node.witness import NodeWitness

# A token for one case manager (the node mints it with the agency key).
TokenFor = Callable[[str], Callable[[], str]]

CLIENT_COLUMNS = (
    "case_number", "client_name", "case_manager_id", "status", "program", "agency_id",
    "confidence", "enrolled_on", "exited_on", "contact_name", "contact_phone",
    "contact_email", "contact_office", "plan_shared", "consent_verified", "decided_at",
)  # fmt: skip
MILESTONE_COLUMNS = (
    "case_number", "program", "milestone_id", "goal", "milestone", "activity",
    "service_kind", "need", "target_start", "target_end", "actual_start", "actual_end",
    "status", "stuck_reason", "stuck_since", "non_negotiable", "mandate", "dosage",
)  # fmt: skip
CONFLICT_COLUMNS = ("case_number", "kind", "non_negotiable", "programs", "detail")


@dataclass
class IntegratedReport:
    agency: str
    generated_at: datetime
    asked: int = 0
    not_at_hub: int = 0
    clients: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "clients_asked": self.asked,
            "clients_not_at_hub_yet": self.not_at_hub,
            "clients_shared": len(self.clients),
            "programs": sum(len(c["programs"]) for c in self.clients),
            "contacts": sum(
                1 for c in self.clients for p in c["programs"] if p["contact"] is not None
            ),
            "milestones": sum(len(c["milestones"]) for c in self.clients),
            "conflicts": sum(len(c["conflicts"]) for c in self.clients),
        }


def nightly(
    identity: AgencyIdentity,
    state_dir: Path,
    hub: HubClient,
    out_dir: Path,
    witness: NodeWitness | None,
) -> tuple[IntegratedReport, list[Path]]:
    """The whole night's work for the agency whose node state is in `state_dir`: ask
    about every current client, then write the files; returns the report and them."""
    state = NodeState(state_dir / STATE_FILE, identity.agency_id)
    try:
        entries = state.directory()
    finally:
        state.close()
    report = build(
        identity.agency_id,
        identity.programs,
        entries,
        hub=hub,
        token_for=case_manager_tokens(identity),
        witness=witness,
    )
    return report, write(report, out_dir)


def summary(report: IntegratedReport) -> str:
    """The report in one line: how many clients shared, contacts, milestones, conflicts."""
    counts = report.counts()

    def n(count: int, word: str) -> str:
        return f"{count:,} {word}{'' if count == 1 else 's'}"

    return (
        f"{counts['clients_shared']:,} of {n(counts['clients_asked'], 'client')} shared with "
        f"another program: {n(counts['contacts'], 'contact')}, "
        f"{n(counts['milestones'], 'milestone')}, {n(counts['conflicts'], 'conflict')}"
    )


def case_manager_tokens(identity: AgencyIdentity) -> TokenFor:
    """A token source per case manager, minted with the agency's key and reused until
    near its end (a night's report asks about each case manager's clients in a row)."""
    sources: dict[str, CachedToken] = {}

    def token_for(staff_id: str) -> Callable[[], str]:
        if staff_id not in sources:
            sources[staff_id] = agency_token(
                identity,
                subject=staff_id,
                roles=(Role.CASE_MANAGER,),
                lifetime=timedelta(minutes=5),
            )
        return sources[staff_id]

    return token_for


def build(
    agency: str,
    programs: tuple[str, ...],
    directory: Iterable[DirectoryEntry],
    *,
    hub: HubClient,
    token_for: TokenFor,
    witness: NodeWitness | None,
) -> IntegratedReport:
    """Ask about every current client as their case manager; keep what is shared."""
    report = IntegratedReport(agency, datetime.now(UTC))
    if witness is not None:
        witness.run(hub)  # an alarm (WitnessAlarm) stops the report here
    for entry in directory:
        if entry.member_only or not entry.case_manager_id:
            continue
        report.asked += 1
        try:
            answer = hub.call(
                "GET",
                f"/v1/clients/{entry.ref}/shared",
                SharedOut,
                what="the answer",
                token=token_for(entry.case_manager_id),
                retry=True,  # paced by the hub's questions-per-minute limit (429)
            )
        except HubRefused as exc:
            if exc.status != 404:
                raise
            report.not_at_hub += 1  # not synced yet (or reassigned since): next night
            continue
        if not answer.shared:
            continue
        verified = "not needed"
        if witness is not None:
            check = witness.check_answer(hub, answer, programs)
            verified = {None: "not needed", True: "yes", False: "no"}[check.verified]
        report.clients.append(_client(entry, answer, programs, verified))
    return report


def _program(item: SharedProgramOut, status: str) -> dict[str, Any]:
    contact = item.contact_details
    return {
        "status": status,
        "program": item.program,
        "agency_id": item.agency_id,
        "confidence": item.confidence,
        "enrolled_on": item.enrolled_on,
        "exited_on": item.exited_on,
        "contact": contact.model_dump(mode="json") if contact else None,
        "plan_shared": item.milestones is not None,
    }


def _client(
    entry: DirectoryEntry, answer: SharedOut, own: tuple[str, ...], verified: str
) -> dict[str, Any]:
    return {
        "case_number": entry.record_id,
        "client_name": entry.name,
        "case_manager_id": entry.case_manager_id,
        "decided_at": answer.decided_at,
        "consent_verified": verified,
        "programs": [
            *(_program(p, "current") for p in answer.programs),
            *(_program(p, "past") for p in answer.past_enrollments),
        ],
        "milestones": [m.model_dump(mode="json") for m in answer.plan if m.program not in own],
        "conflicts": [c.model_dump(mode="json") for c in answer.conflicts],
        "withheld": list(answer.withheld),
    }


def _rows(report: IntegratedReport) -> dict[str, list[dict[str, Any]]]:
    clients, milestones, conflicts = [], [], []
    for c in report.clients:
        for p in c["programs"]:
            contact = p["contact"] or {}
            clients.append(
                {
                    **{k: c[k] for k in ("case_number", "client_name", "case_manager_id")},
                    **{k: p[k] for k in ("status", "program", "agency_id", "confidence")},
                    "enrolled_on": p["enrolled_on"] or "",
                    "exited_on": p["exited_on"] or "",
                    "contact_name": contact.get("display_name") or "",
                    "contact_phone": contact.get("phone") or "",
                    "contact_email": contact.get("email") or "",
                    "contact_office": contact.get("office") or "",
                    "plan_shared": "yes" if p["plan_shared"] else "no",
                    "consent_verified": c["consent_verified"],
                    "decided_at": c["decided_at"].isoformat(timespec="seconds"),
                }
            )
        for m in c["milestones"]:
            milestones.append({"case_number": c["case_number"], **m})
        for conflict in c["conflicts"]:
            conflicts.append(
                {
                    "case_number": c["case_number"],
                    "kind": conflict["kind"],
                    "non_negotiable": "yes" if conflict["non_negotiable"] else "no",
                    "programs": " ".join(sorted({m["program"] for m in conflict["milestones"]})),
                    "detail": conflict["detail"],
                }
            )
    return {"clients": clients, "milestones": milestones, "conflicts": conflicts}


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        # A cell starting with =, +, - or @ is text, not a formula, in a spreadsheet.
        writer.writerow({k: _safe_cell(row.get(k)) for k in columns})
    return out.getvalue()


def _safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write(report: IntegratedReport, out_dir: Path) -> list[Path]:
    """Write the four files (owner-only), each replaced whole; returns their paths."""
    private_directory(out_dir)
    rows = _rows(report)
    document = {
        "agency": report.agency,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "counts": report.counts(),
        "clients": report.clients,
    }
    files = {
        "shared-clients.csv": _csv(rows["clients"], CLIENT_COLUMNS),
        "milestones.csv": _csv(rows["milestones"], MILESTONE_COLUMNS),
        "conflicts.csv": _csv(rows["conflicts"], CONFLICT_COLUMNS),
        "sync-report.json": json.dumps(document, indent=2, default=str) + "\n",
    }
    for name, text in files.items():
        write_private(out_dir / name, text.encode(), overwrite=True)
    return [out_dir / name for name in files]
