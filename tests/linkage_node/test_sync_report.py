"""The integrated sync report for the agency's CMIS: the hub's consent-gated answers
about every current client, asked as each client's case manager (ACCESS entries under
their name), checked against the witnessed ledger, written owner-only and whole."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
import pytest

from consent import WitnessAlarm
from contract.client import HubClient
from linkage_node import sync_report
from linkage_node.hub_client import agency_token
from linkage_node.state_rows import DirectoryEntry
from linkage_node.witness import NodeWitness
from tests.hub.api.conftest import api, scenario  # noqa: F401  (fixtures used here)
from tests.hub.api.factories import A, Api, D, access_entries, revoke

DIRECTORY = [
    DirectoryEntry(A, "DCFS-0001", "Maria Lopez", "1990-04-02", "cm-0001"),
    DirectoryEntry(D, "DCFS-0002", "Dana Whitfield", "1985-11-30", "cm-0001"),
    DirectoryEntry("f" * 64, "DCFS-0003", "Sam Other", "2001-01-01", "cm-0002"),
    DirectoryEntry("e" * 64, "DCFS-0004", "A Parent", "1970-01-01", "", "H-1", "parent", True),
]


def report_of(api: Api, tmp_path: Path) -> sync_report.IntegratedReport:  # noqa: F811
    identity = api.identities["DCFS"]
    vkey = tmp_path / "hub-log.vkey"
    vkey.write_text(api.log.verifier.vkey())
    witness = NodeWitness.open(tmp_path / "node", identity, vkey)
    asked: list[str] = []
    tokens = sync_report.case_manager_tokens(identity)

    def token_for(staff_id: str) -> Callable[[], str]:
        asked.append(staff_id)
        return tokens(staff_id)

    hub = HubClient(
        "http://testserver", agency_token(identity), http=cast(httpx.Client, api.client)
    )
    report = sync_report.build(
        "DCFS", identity.programs, DIRECTORY, hub=hub, token_for=token_for, witness=witness
    )
    assert asked == ["cm-0001", "cm-0001", "cm-0002"]  # each client as its case manager
    return report


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_report_holds_what_consent_allows_and_each_disclosure_is_recorded(
    api: Api,  # noqa: F811
    scenario: dict[str, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    before = len(access_entries(api))
    report = report_of(api, tmp_path)
    files = sync_report.write(report, tmp_path / "cmis")
    assert [f.name for f in files] == [
        "shared-clients.csv",
        "milestones.csv",
        "conflicts.csv",
        "sync-report.json",
    ]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cmis").stat().st_mode) == 0o700

    shared = {r["program"]: r for r in rows(tmp_path / "cmis" / "shared-clients.csv")}
    assert set(shared) == {"corrections", "family_employment"}
    doc = shared["corrections"]
    assert (doc["case_number"], doc["client_name"], doc["case_manager_id"]) == (
        "DCFS-0001",
        "Maria Lopez",
        "cm-0001",
    )
    assert (doc["contact_name"], doc["contact_phone"], doc["contact_email"]) == (
        "Officer Reyes",
        "(555) 010-0007",
        "reyes@doc.example.gov",
    )
    assert doc["plan_shared"] == "yes"
    assert doc["consent_verified"] == "yes"
    dwd = shared["family_employment"]
    assert (dwd["contact_name"], dwd["plan_shared"]) == ("Coach Patel", "no")  # no plan consent

    milestones = rows(tmp_path / "cmis" / "milestones.csv")
    assert {(m["program"], m["milestone_id"]) for m in milestones} == {
        ("corrections", "p1"),
        ("corrections", "p2"),
    }  # the agency's own m1 is its own; DWD's w1 is not consented

    body = json.loads((tmp_path / "cmis" / "sync-report.json").read_text())
    assert body["counts"]["clients_asked"] == 3  # the family-only row is nobody's client
    assert body["counts"]["clients_not_at_hub_yet"] == 1  # DCFS-0003, never synced
    assert [c["case_number"] for c in body["clients"]] == ["DCFS-0001"]
    assert "Dana Whitfield" not in (tmp_path / "cmis" / "sync-report.json").read_text()

    disclosed = access_entries(api)[before:]
    assert disclosed
    assert {e.requester_staff for e in disclosed} == {"cm-0001"}
    assert {e.disclosing_program for e in disclosed} == {"corrections", "family_employment"}


def test_a_revoked_consent_leaves_the_next_report_and_the_files_are_replaced_whole(
    api: Api,  # noqa: F811
    scenario: dict[str, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    sync_report.write(report_of(api, tmp_path), tmp_path / "cmis")
    revoke(api, "DOC", scenario["doc"])
    api.checkpoint()
    sync_report.write(report_of(api, tmp_path), tmp_path / "cmis")
    shared = {r["program"]: r for r in rows(tmp_path / "cmis" / "shared-clients.csv")}
    # Corrections may still be named (the agreement covers existence), no more.
    assert (shared["corrections"]["contact_name"], shared["corrections"]["plan_shared"]) == (
        "",
        "no",
    )
    assert shared["family_employment"]["contact_name"] == "Coach Patel"
    assert "Officer Reyes" not in (tmp_path / "cmis" / "sync-report.json").read_text()
    assert rows(tmp_path / "cmis" / "milestones.csv") == []
    assert sorted(p.name for p in (tmp_path / "cmis").iterdir()) == [  # no half-written file
        "conflicts.csv",
        "milestones.csv",
        "shared-clients.csv",
        "sync-report.json",
    ]


def test_a_cell_a_spreadsheet_would_run_is_written_as_text(tmp_path: Path) -> None:
    report = sync_report.IntegratedReport("DCFS", datetime.now(UTC))
    report.clients.append(
        {
            "case_number": "=HYPERLINK(1)",
            "client_name": "+x",
            "case_manager_id": "cm-1",
            "decided_at": report.generated_at,
            "consent_verified": "yes",
            "programs": [
                {
                    "status": "current",
                    "program": "p",
                    "agency_id": "A",
                    "confidence": "high",
                    "enrolled_on": None,
                    "exited_on": None,
                    "contact": {"display_name": "@boss"},
                    "plan_shared": False,
                }
            ],
            "milestones": [],
            "conflicts": [],
            "withheld": [],
        }
    )
    sync_report.write(report, tmp_path)
    row = rows(tmp_path / "shared-clients.csv")[0]
    assert (row["case_number"], row["client_name"], row["contact_name"]) == (
        "'=HYPERLINK(1)",
        "'+x",
        "'@boss",
    )


def test_a_ledger_alarm_stops_the_report_with_nothing_written(
    api: Api,  # noqa: F811
    scenario: dict[str, int],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def alarm(self: NodeWitness, hub: HubClient) -> None:
        raise WitnessAlarm("fork", "the hub showed two histories")

    monkeypatch.setattr(NodeWitness, "run", alarm)
    with pytest.raises(WitnessAlarm):
        report_of(api, tmp_path)
    assert not (tmp_path / "cmis").exists()
