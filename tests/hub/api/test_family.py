""" "What other programs are family members enrolled in?" (issue 21) on one family.

Child welfare (DCFS) lists a household: the client `KID` (a child, cm-0001), their
sister `SIS` (a child, another DCFS client) and their mother `MUM`, whom DCFS does not
serve (`member_only`). Corrections (DOC) serves the mother (`MUM_DOC`); juvenile justice
(DJJ) serves the sister (`SIS_DJJ`) and lists the mother in its own household as family
only (`MUM_DJJ`). Links are made by hand, as a run would leave them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.disclosure import Asker, DisclosureEngine
from hub.services.families_report import compute_families
from hub.services.family import family_answer
from hub.services.reports import compute_overlap
from keys import Role, canonical
from tests.hub.api.factories import (
    CLKS,
    KID,
    MUM,
    MUM_DJJ,
    MUM_DOC,
    SIS,
    SIS_DJJ,
    Api,
    access_entries,
    family_scenario,
    grant,
    mother_consents,
)


def _family(api: Api, record: str = KID, staff: str = "cm-0001", agency: str = "DCFS") -> Any:
    role = Role.SUPERVISOR if staff.startswith("sup-") else Role.CASE_MANAGER
    return api.client.get(f"/v1/clients/{record}/family", headers=api.as_(agency, staff, role))


def _programs(body: dict[str, Any]) -> dict[str, list[str]]:
    return {m["ref"]: [p["program"] for p in m["programs"]] for m in body["members"]}


def test_the_family_lists_the_household_and_names_no_program_without_consent(api: Api) -> None:
    family_scenario(api)
    before = len(access_entries(api))
    response = _family(api)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "child"
    roles = {m["ref"]: (m["role"], m["member_only"]) for m in body["members"]}
    assert roles == {MUM: ("parent_guardian", True), SIS: ("child", False)}
    # Corrections serves the mother and juvenile justice the sister, but neither consented.
    assert _programs(body) == {MUM: [], SIS: []}
    assert "corrections" not in response.text
    assert "juvenile_justice" not in response.text
    assert len(access_entries(api)) == before


def test_a_members_own_consent_names_their_program_and_is_an_access_entry_about_them(
    api: Api,
) -> None:
    family_scenario(api)
    index = mother_consents(api)
    body = _family(api).json()
    assert _programs(body) == {MUM: ["corrections"], SIS: []}
    (named,) = next(m["programs"] for m in body["members"] if m["ref"] == MUM)
    assert named["existence"]["basis"] == "consent"
    assert named["existence"]["grant"]["index"] == index
    assert named["record_ref"] == MUM_DOC
    (entry,) = [e for e in access_entries(api) if e.subject == MUM_DOC]
    # About the member: her record at the asking agency, for the family's sake.
    assert (entry.requester_record, entry.purpose) == (MUM, "family")
    assert entry.grant is not None
    assert entry.grant.index == index
    assert entry.data_classes == ["existence"]


def test_a_guardians_consent_for_a_minor_names_the_minors_program(api: Api) -> None:
    family_scenario(api)
    grant(
        api,
        "DJJ",
        subject=SIS_DJJ,
        disclosing_program="juvenile_justice",
        recipient_programs=["child_welfare"],
        data_classes=["existence"],
        signer_type="parent_or_guardian",
    )
    assert _programs(_family(api).json()) == {MUM: [], SIS: ["juvenile_justice"]}


def test_a_family_member_an_agency_does_not_serve_is_never_named_as_its_client(
    api: Api,
) -> None:
    family_scenario(api)
    # Even a grant about juvenile justice's family-only record of the mother names nothing.
    grant(
        api,
        "DJJ",
        subject=MUM_DJJ,
        disclosing_program="juvenile_justice",
        recipient_programs=["child_welfare", "corrections"],
        data_classes=["existence", "contact"],
    )
    assert _programs(_family(api).json()) == {MUM: [], SIS: []}
    # Nor is she anyone's client: corrections' answer about her names no other program...
    grant(
        api,
        "DCFS",
        subject=MUM,
        disclosing_program="child_welfare",
        recipient_programs=["corrections"],
        data_classes=["existence"],
    )
    shared = api.client.get(
        f"/v1/clients/{MUM_DOC}/shared", headers=api.as_("DOC", "cm-0007", Role.CASE_MANAGER)
    )
    assert shared.status_code == 200
    assert shared.json()["programs"] == []
    # ...and nobody at DCFS may ask about her as a client.
    for staff in ("cm-0001", "cm-0002"):
        asked = api.client.get(
            f"/v1/clients/{MUM}/shared", headers=api.as_("DCFS", staff, Role.CASE_MANAGER)
        )
        assert asked.status_code == 404


def test_where_the_agreement_covers_families_a_family_only_record_is_still_never_named(
    api: Api,
) -> None:
    family_scenario(api)
    settings = api.settings.model_copy(update={"family_existence_policy": "agreement"})
    assert api.hub.ledger is not None
    engine = DisclosureEngine(api.hub.ledger, api.hub.cipher, settings)
    answer = family_answer(engine, api.session, Asker("DCFS", "cm-0001"), KID, at=datetime.now(UTC))
    named = {m.ref: [(p.program, p.ref) for p in m.programs] for m in answer.members}
    # The mother's corrections record by the agreement; never DJJ's family-only record.
    assert named == {MUM: [("corrections", MUM_DOC)], SIS: [("juvenile_justice", SIS_DJJ)]}
    (entry,) = [e for e in access_entries(api) if e.subject == MUM_DOC]
    assert (entry.basis, entry.purpose) == ("agreement", "family")


def test_only_whoever_may_ask_about_the_client_may_ask_about_their_family(api: Api) -> None:
    family_scenario(api)
    assert _family(api, staff="cm-0002").status_code == 404  # not KID's case manager
    assert _family(api, agency="DOC", staff="cm-0007").status_code == 404  # not DOC's record
    assert _family(api, record=MUM).status_code == 404  # family only: nobody's client
    # A client in no household has an empty family.
    assert _family(api, record=SIS, staff="cm-0002").json()["members"][0]["ref"] == KID


def test_family_members_an_agency_does_not_serve_are_in_no_caseload_or_lookup(
    api: Api,
) -> None:
    family_scenario(api)
    report = compute_overlap(api.session, limit=11, max_programs=3)
    caseloads = {c.programs: c.count for c in report.cells if c.kind == "caseload"}
    # DCFS serves two of its three records, DJJ one of its two.
    assert caseloads == {("child_welfare",): 2, ("corrections",): 1, ("juvenile_justice",): 1}
    # An intake lookup matching DJJ's records finds the sister, never the mother there.
    clk = canonical.b64decode(CLKS["DJJ"])
    found = api.hub.intake.match(api.session, ("2026-11", "ab" * 32), clk, 0.9, skip="DOC")
    assert {(c.agency, c.ref) for c in found} == {("DJJ", SIS_DJJ)}


def test_the_two_generation_report_counts_children_by_their_parents_program(
    api: Api,
) -> None:
    family_scenario(api)
    # With the limit at its floor the one family is suppressed everywhere...
    report = compute_families(api.session, limit=11)
    assert set(report.two_generation.values()) == {None}
    # ...and the counts behind it are right (the rule is the suppression library's).
    exact = compute_families(api.session, limit=1)
    # The sister is served by child welfare and juvenile justice, the client by child
    # welfare; their mother by corrections (not by the two agencies listing her as family).
    assert exact.two_generation == {
        ("child_welfare", "corrections"): 2,
        ("juvenile_justice", "corrections"): 1,
    }
    # DCFS's and DJJ's households share the mother and the sister: one family, recorded
    # by two agencies, served by three programs.
    assert exact.families_by_programs == {"1": None, "2": None, "3": 1, "4+": None}
    assert exact.recorded_by_several_agencies == 1
    response = api.client.get("/v1/reports/families", headers=api.operator(Role.AUDITOR))
    assert response.status_code == 200, response.text
    assert response.json()["limit"] == 11
    csv_text = api.client.get(
        "/v1/reports/families?format=csv", headers=api.operator(Role.AUDITOR)
    ).text
    assert "two_generation,child_welfare,corrections,,suppressed" in csv_text


def test_a_supervisor_sees_the_family_for_supervision_and_not_under_a_case_manager_only_grant(
    api: Api,
) -> None:
    family_scenario(api)
    org = {
        "staff": [{"staff_id": "cm-0001", "supervisor_id": "sup-0001"}, {"staff_id": "sup-0001"}]
    }
    assert api.client.put("/v1/agencies/DCFS/staff", json=org, headers=api.as_("DCFS")).is_success
    mother_consents(api, recipient_staff="assigned_case_manager")
    supervisor = _family(api, staff="sup-0001")
    assert supervisor.status_code == 200
    # The mother's consent covers her son's case manager only, not their supervisor.
    assert _programs(supervisor.json()) == {MUM: [], SIS: []}
    assert _programs(_family(api).json()) == {MUM: ["corrections"], SIS: []}
    mother_consents(api)  # a form for the case manager and the chain
    assert _programs(_family(api, staff="sup-0001").json()) == {MUM: ["corrections"], SIS: []}
    purposes = [e.purpose for e in access_entries(api) if e.subject == MUM_DOC]
    assert purposes == ["family", "supervision"]
