"""Households from the roster to the client page's family (issue 21): a family spread
over three agencies, each member typed with mistakes somewhere, linked for real; a
member without consent is not named; a guardian's consent for a minor names the minor's
program; the household edges stay the same through an incremental run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from consent import sign_entry, validate_entry
from contract import FamilyOut
from contract.client import HubClient
from hub.services.families_report import household_edges
from keys import Role, canonical, issue_token
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.synthetic import linked_rosters
from tests.hub.api.factories import grant_entry
from tests.hub.live import LiveHub, encode_and_sync, run_linkage
from tests.linkage_node.jobs import encode

HOME = {"address": "88 Larkspur Lane", "city": "Springfield", "zip": "62704"}
MOTHER = {
    "given_name": "Rosalind",
    "family_name": "Okonkwo-Baptiste",
    "date_of_birth": "1984-03-09",
    "sex": "F",
    "ssn": "431-72-0915",
    **HOME,
}
SON = {
    "given_name": "Teodoro",
    "family_name": "Okonkwo-Baptiste",
    "date_of_birth": "2012-07-21",
    "sex": "M",
    "ssn": "431-72-1844",
    **HOME,
}
DAUGHTER = {
    "given_name": "Marisol",
    "family_name": "Okonkwo-Baptiste",
    "date_of_birth": "2015-11-02",
    "sex": "F",
    "ssn": "",
    **HOME,
}


def _row(record_id: str, person: dict[str, str], **extra: str) -> dict[str, str]:
    return {"record_id": record_id, "case_manager_id": "", **person, **extra}


def _family_rows() -> dict[str, list[dict[str, str]]]:
    """Each agency's rows of the family, with its own typing mistakes."""
    return {
        # Child welfare serves both children; the mother is family only, her name run
        # together and her SSN's digits swapped.
        "DCFS": [
            _row(
                "CW-SON",
                {**SON, "given_name": "Teodro"},
                case_manager_id="cm-0001",
                household_id="CW-H-77",
                household_role="Child",
            ),
            _row(
                "CW-DAU",
                {**DAUGHTER, "family_name": "Okonkwo Baptiste"},
                case_manager_id="cm-0002",
                household_id="CW-H-77",
                household_role="child",
            ),
            _row(
                "CW-MUM",
                {**MOTHER, "family_name": "OkonkwoBaptiste", "ssn": "431-27-0915"},
                household_id="CW-H-77",
                household_role="Parent/Guardian",
                member_only="yes",
            ),
        ],
        # Corrections serves the mother (a misspelt surname); her son is family only.
        "DOC": [
            _row(
                "DOC-MUM",
                {**MOTHER, "family_name": "Okonkwo-Baptist"},
                case_manager_id="cm-0007",
                household_id="D-5512",
                household_role="mother",
            ),
            _row(
                "DOC-SON",
                {**SON, "date_of_birth": "2012-07-12", "ssn": ""},
                household_id="D-5512",
                household_role="son",
                member_only="y",
            ),
        ],
        # Juvenile justice serves the son (a short given name); the mother is family only.
        "DJJ": [
            _row(
                "JJ-SON",
                {**SON, "given_name": "Teodor"},
                case_manager_id="cm-0009",
                household_id="JJ-31",
                household_role="child",
            ),
            _row(
                "JJ-MUM",
                {**MOTHER, "given_name": "Rosalynd", "ssn": ""},
                household_id="JJ-31",
                household_role="parent_guardian",
                member_only="yes",
            ),
        ],
    }


def _refs(tmp: Path, agency: str) -> dict[str, str]:
    with NodeState(tmp / agency / STATE_FILE, agency) as state:
        return {e.record_id: e.ref for e in state.directory()}


def _ask(hub: LiveHub, agency: str, staff: str, ref: str, what: str = "family") -> Any:
    token = issue_token(
        hub.identities[agency], subject=staff, audience="pprl-hub", roles=[Role.CASE_MANAGER]
    )
    client = HubClient(hub.url, lambda: token)
    try:
        return client.family(ref) if what == "family" else client.shared(ref)
    finally:
        client.close()


def _grant(hub: LiveHub, agency: str, **terms: Any) -> int:
    identity = hub.identities[agency]
    data = grant_entry(identity, **terms)
    signed = sign_entry(validate_entry(data), identity)
    token = issue_token(identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE])
    response = httpx.post(
        f"{hub.url}/v1/ledger/entries",
        json={"leaf": canonical.b64encode(signed.leaf)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["index"])


def _named(answer: FamilyOut) -> dict[str, list[str]]:
    return {m.ref: [p.program for p in m.programs] for m in answer.members}


@pytest.mark.live
def test_a_family_over_three_agencies_is_linked_and_named_on_each_members_consent(
    hub: LiveHub, tmp_path: Path
) -> None:
    agencies = ["DCFS", "DOC", "DJJ"]
    for agency in agencies:
        hub.register(agency)
    background = linked_rosters(agencies, 120, shared=0.3, seed=23)
    family = _family_rows()
    for agency in agencies:
        encode_and_sync(hub, tmp_path, agency, [*background.rows[agency], *family[agency]])
    assert run_linkage(hub, kind="full")["status"] == "succeeded"
    cw, doc, djj = (_refs(tmp_path, a) for a in agencies)

    # The son's family at child welfare: his sister and his mother (family only there).
    answer = _ask(hub, "DCFS", "cm-0001", cw["CW-SON"])
    assert answer.role == "child"
    members = {m.ref: (m.role, m.member_only) for m in answer.members}
    assert members == {
        cw["CW-MUM"]: ("parent_guardian", True),
        cw["CW-DAU"]: ("child", False),
    }
    # Corrections serves the mother, but she has not consented: not named.
    assert _named(answer) == {cw["CW-MUM"]: [], cw["CW-DAU"]: []}

    # She consents at corrections to child welfare knowing she is served there.
    _grant(
        hub,
        "DOC",
        subject=doc["DOC-MUM"],
        disclosing_program="corrections",
        recipient_programs=["child_welfare"],
        data_classes=["existence"],
    )
    answer = _ask(hub, "DCFS", "cm-0001", cw["CW-SON"])
    assert _named(answer) == {cw["CW-MUM"]: ["corrections"], cw["CW-DAU"]: []}
    (program,) = next(m.programs for m in answer.members if m.ref == cw["CW-MUM"])
    assert program.record_ref == doc["DOC-MUM"]  # linked despite three kinds of typo
    assert program.existence.grant is not None

    # The sister's page: her brother is served by juvenile justice once his mother signs
    # for him as his guardian there; juvenile justice's family-only mother is never named.
    _grant(
        hub,
        "DJJ",
        subject=djj["JJ-SON"],
        disclosing_program="juvenile_justice",
        recipient_programs=["child_welfare"],
        data_classes=["existence"],
        signer_type="parent_or_guardian",
    )
    sister = _ask(hub, "DCFS", "cm-0002", cw["CW-DAU"])
    assert _named(sister) == {cw["CW-MUM"]: ["corrections"], cw["CW-SON"]: ["juvenile_justice"]}

    # Corrections' own answer about the mother names no program for the son it lists as
    # family, and child welfare's and juvenile justice's family-only records of her are
    # not "other programs serving" her.
    doc_answer = _ask(hub, "DOC", "cm-0007", doc["DOC-MUM"], what="shared")
    assert [p.program for p in doc_answer.programs] == []

    # The households of the three agencies meet in the same people, and stay put when
    # an incremental run links new arrivals.
    with Session(hub.engine) as session:
        before = household_edges(session)
    # Three agencies, one family of three people: each pair of them, both ways.
    assert len(before) == 6
    arrivals = linked_rosters(["DOC"], 15, seed=99).rows["DOC"]
    for row in arrivals:
        row["record_id"] = row["record_id"].replace("DOC-", "DOC-NEW-")
    encode_and_sync(hub, tmp_path, "DOC", [*background.rows["DOC"], *family["DOC"], *arrivals])
    second = run_linkage(hub)
    assert second["status"] == "succeeded", second
    assert second["counts"]["mode"] == "incremental"
    with Session(hub.engine) as session:
        assert household_edges(session) == before
    assert _named(_ask(hub, "DCFS", "cm-0001", cw["CW-SON"])) == _named(answer)


def test_household_columns_reach_the_hub_as_pseudonyms_and_member_only(tmp_path: Path) -> None:
    """The upsert payload: the household key as a keyed hash (equal for one household,
    never the key itself nor a record reference), the role, and member_only."""
    rows = _family_rows()["DCFS"]
    roster = tmp_path / "roster.csv"
    from linkage_node.synthetic import write_roster

    write_roster(roster, rows)
    result = encode(tmp_path, roster, agency="DCFS")
    assert result.roster.rejected == 0
    with NodeState(tmp_path / "DCFS" / STATE_FILE, "DCFS") as state:
        changes = [c for c in state.changes(result.run_id) if c.op == "upsert"]
        refs = {e.record_id: e.ref for e in state.directory()}
        assert [m.record_id for m in state.household_of(refs["CW-SON"])] == ["CW-DAU", "CW-MUM"]
        assigned = {c.ref for c in state.changes(result.run_id) if c.op == "assign"}
    payloads = {c.ref: json.loads(c.payload or "{}") for c in changes}
    households = {p["household"]["ref"] for p in payloads.values()}
    (household,) = households
    assert household not in refs.values()
    assert "CW-H-77" not in json.dumps(payloads)
    assert payloads[refs["CW-MUM"]] == {
        "household": {"ref": household, "role": "parent_guardian"},
        "member_only": True,
    }
    assert payloads[refs["CW-SON"]] == {"household": {"ref": household, "role": "child"}}
    # A family member the agency does not serve has no case manager to send.
    assert refs["CW-MUM"] not in assigned
