"""The node's JSON API for the agency's own systems (`POST /api/v1/lookups`): only this
agency's tokens for this node with the intake role are accepted, the answer is the
hub's, the hub is asked as the staff member the token names, and a problem names the
field, never the value."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from keys import AgencyIdentity, Role, issue_token
from tests.hub.api.factories import Api
from tests.linkage_node.web.conftest import FakeHub, Node

PERSON = {"given_name": "Quillonette", "family_name": "Zarbowicz", "date_of_birth": "1983-07-19"}


def _token(identity: AgencyIdentity, *roles: Role, audience: str = "pprl-node") -> str:
    return issue_token(
        identity,
        subject="in-0003",
        audience=audience,
        roles=roles or (Role.INTAKE,),
        lifetime=timedelta(minutes=5),
    )


def _ask(node: Node, token: str | None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return node.client.post("/api/v1/lookups", json=body or PERSON, headers=headers)


def test_an_agency_system_looks_a_person_up_as_its_intake_worker(
    api: Api, intake: tuple[Node, FakeHub]
) -> None:
    node, hub = intake
    answer = _ask(node, _token(api.identities["DCFS"]))
    assert answer.status_code == 200, answer.text
    assert [p["program"] for p in answer.json()["programs"]] == ["corrections"]
    assert answer.json()["past_programs"][0]["exited_on"] == "2025-02-28"
    (sent,) = hub.bodies
    assert set(json.loads(sent)) == {"clk", "epoch", "schema_fingerprint"}
    assert b"Quillonette" not in sent
    # The hub is asked as the staff member the agency's token names, for the hub.
    claims = jwt.decode(hub.tokens[0], options={"verify_signature": False})
    assert (claims["sub"], claims["roles"], claims["aud"]) == ("in-0003", ["intake"], "pprl-hub")


@pytest.mark.parametrize(
    "case", ["none", "garbage", "hub audience", "another agency", "case manager"]
)
def test_other_callers_are_refused_before_anything_is_encoded(
    api: Api, intake: tuple[Node, FakeHub], case: str
) -> None:
    node, hub = intake
    api.register("DOC") if "DOC" not in api.identities else None
    token = {
        "none": None,
        "garbage": "not.a.token",
        "hub audience": _token(api.identities["DCFS"], audience="pprl-hub"),
        "another agency": _token(api.identities["DOC"]),
        "case manager": _token(api.identities["DCFS"], Role.CASE_MANAGER),
    }[case]
    refused = _ask(node, token)
    assert refused.status_code == (403 if case == "case manager" else 401)
    assert refused.headers["content-type"] == "application/problem+json"
    if refused.status_code == 401:  # one answer, whatever was wrong
        assert (
            refused.json()["detail"]
            == "a bearer token signed by this agency for this node is needed"
        )
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert hub.bodies == []


def test_identifiers_that_cannot_be_matched_name_the_field_not_the_value(
    api: Api, intake: tuple[Node, FakeHub]
) -> None:
    node, hub = intake
    body = {"given_name": "Quillonette", "date_of_birth": "sometime"}
    refused = _ask(node, _token(api.identities["DCFS"]), body)
    assert refused.status_code == 422
    assert "date_of_birth" in refused.json()["detail"]
    assert "sometime" not in refused.text
    assert "Quillonette" not in refused.text
    assert hub.bodies == []


def test_a_node_without_the_linkage_secret_says_so(
    api: Api, scenario: dict[str, int], tmp_path: Path
) -> None:
    from tests.linkage_node.web.conftest import make_node

    node = make_node(api, tmp_path)
    answer = _ask(node, _token(api.identities["DCFS"]))
    assert answer.status_code == 503
    assert "PPRL_NODE_LINKAGE_SECRET_FILE" in answer.json()["detail"]


def _get(node: Node, path: str, token: str) -> Any:
    return node.client.get(path, headers={"Authorization": f"Bearer {token}"})


def _staff(api: Api, subject: str, role: Role = Role.CASE_MANAGER) -> str:
    return issue_token(
        api.identities["DCFS"],
        subject=subject,
        audience="pprl-node",
        roles=[role],
        lifetime=timedelta(minutes=5),
    )


def test_an_agency_system_asks_by_its_own_case_number(api: Api, node: Node) -> None:
    answer = _get(node, "/api/v1/clients/DCFS-0001/shared", _staff(api, "cm-0001"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["case_number"] == "DCFS-0001"
    assert "record_ref" not in body
    programs = {p["program"]: p for p in body["programs"]}
    assert programs["corrections"]["contact_details"]["display_name"] == "Officer Reyes"
    caseload = _get(node, "/api/v1/caseload", _staff(api, "cm-0001")).json()
    assert {c["case_number"] for c in caseload["clients"]} == {"DCFS-0001", "DCFS-0002"}
    assert all("record_ref" not in c for c in caseload["clients"])
    notes = _get(node, "/api/v1/notifications", _staff(api, "cm-0001"))
    assert notes.status_code == 200
    assert isinstance(notes.json(), list)


def test_a_case_number_the_caller_may_not_see_is_not_found_like_one_that_does_not_exist(
    api: Api, node: Node
) -> None:
    other = _get(node, "/api/v1/clients/DCFS-0001/shared", _staff(api, "cm-0002"))
    missing = _get(node, "/api/v1/clients/NO-SUCH-CASE/shared", _staff(api, "cm-0001"))
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    intake = _get(node, "/api/v1/caseload", _token(api.identities["DCFS"]))
    assert intake.status_code == 403
    assert _get(node, "/api/v1/caseload", "not.a.token").status_code == 401
