"""Consent on the client page: a case manager records a signed form, the other program
sees what it covers at once, and revoking (after a confirmation) withholds it at once."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from keys import Role
from tests.hub.api.factories import A, Api, B
from tests.linkage_node.web.conftest import Node

TODAY = datetime.now(UTC).date()
SCAN = ("release.pdf", b"%PDF-1.4 signed by Maria Lopez", "application/pdf")


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"', maxsplit=1)[0]


def _record(client: TestClient, **fields: object) -> Any:
    page = client.get("/clients/DCFS-0001")
    data = {
        "csrf": _csrf(page.text),
        "to": ["corrections"],
        "classes": ["existence", "contact"],
        "signer": "client",
        "signed_on": TODAY.isoformat(),
        "expires": (TODAY + timedelta(days=365)).isoformat(),
        **fields,
    }
    return client.post(
        "/clients/DCFS-0001/consent", data=data, files={"scan": SCAN}, follow_redirects=False
    )


def _doc_sees(api: Api) -> dict[str, Any]:
    """What corrections' case manager of the shared client is told about child welfare."""
    headers = api.as_("DOC", "cm-0007", Role.CASE_MANAGER)
    answer = api.client.get(f"/v1/clients/{B}/shared", headers=headers)
    assert answer.status_code == 200, answer.text
    (welfare,) = [p for p in answer.json()["programs"] if p["program"] == "child_welfare"]
    return cast(dict[str, Any], welfare)


def test_record_then_revoke_consent_from_the_client_page(
    node: Node, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    client = node.sign_in()
    page = client.get("/clients/DCFS-0001")
    assert page.status_code == 200, page.text
    assert "Consent on file at DCFS" in page.text
    assert page.text.count("Consent on file at DCFS") == 1
    assert "<title>Maria Lopez · DCFS</title>" in page.text  # the section is not in the title
    assert "No consent is on file for this client yet." in page.text
    # Recipients are the other agencies' registered programs, as checkboxes.
    assert 'name="to" value="corrections"' in page.text
    assert 'name="to" value="family_employment"' in page.text
    assert 'name="to" value="child_welfare"' not in page.text
    assert _doc_sees(api)["contact"]["allowed"] is False

    with caplog.at_level(logging.INFO, logger="pprl.node.consent"):
        recorded = _record(client)
    assert recorded.status_code == 303, recorded.text
    found = re.search(r"grant=(G-[0-9A-Z]{5}-[0-9A-Z]{5})", recorded.headers["location"])
    assert found is not None
    grant = found[1]
    shown = client.get(recorded.headers["location"]).text
    assert f"The consent form is recorded: {grant}." in shown
    row = shown.split(f"<td>{grant}</td>")[1].split("</tr>")[0]
    assert "effective" in row
    assert "corrections" in row
    # Corrections sees child welfare's contact from the next question on, and its case
    # manager of the shared client is told (family employment, not named, is not).
    assert _doc_sees(api)["contact"]["allowed"] is True
    assert _kinds(api, "DOC", "cm-0007") == ["consent_recorded"]
    assert _kinds(api, "DWD", "cm-0009") == []
    # Logged by staff id and grant id; never the client's name or case number.
    logged = [r for r in caplog.records if getattr(r, "event", None) == "consent_recorded"]
    assert [(r.__dict__["staff_id"], r.__dict__["grant_id"]) for r in logged] == [
        ("cm-0001", grant)
    ]
    assert "Maria" not in caplog.text
    assert "DCFS-0001" not in caplog.text

    # The same form again records nothing new.
    again = _record(client)
    assert f"grant={grant}" in again.headers["location"]
    assert "notice=already" in again.headers["location"]

    # Revoking asks first, then takes effect at once.
    confirm = client.get(f"/clients/DCFS-0001/consent/{grant}/revoke")
    assert confirm.status_code == 200
    assert f"Revoke consent {grant}?" in confirm.text
    assert _doc_sees(api)["contact"]["allowed"] is True  # asking changed nothing
    refused = client.post(f"/clients/DCFS-0001/consent/{grant}/revoke", data={"csrf": "x"})
    assert refused.status_code == 400
    done = client.post(
        f"/clients/DCFS-0001/consent/{grant}/revoke",
        data={"csrf": _csrf(confirm.text), "reason": "client_request"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    after = _doc_sees(api)
    assert after["contact"]["allowed"] is False
    assert "revoked" in after["contact"]["reason"]
    assert _kinds(api, "DOC", "cm-0007") == ["consent_revoked", "consent_recorded"]
    shown = client.get(done.headers["location"]).text
    assert f"Consent {grant} is revoked." in shown
    assert "revoked" in shown.split(f"<td>{grant}</td>")[1].split("</tr>")[0]


def test_a_bad_form_records_nothing_and_says_what_to_fix(node: Node, api: Api) -> None:
    client = node.sign_in()
    grants = _grants(api)
    missing = _record(client, to=[], signed_on="")
    assert missing.status_code == 422
    assert "The consent form was not recorded." in missing.text
    assert "Tick at least one program" in missing.text
    assert "Give the day the form was signed." in missing.text
    future = _record(client, signed_on=(TODAY + timedelta(days=2)).isoformat())
    assert "cannot be in the future" in future.text
    short = _record(client, expires=TODAY.isoformat())
    assert short.status_code == 422
    assert "expires" in short.text
    assert _grants(api) == grants


def _kinds(api: Api, agency: str, case_manager: str) -> list[str]:
    """The kinds of a case manager's notifications, newest first; none names a client."""
    feed = api.client.get(
        "/v1/notifications", headers=api.as_(agency, case_manager, Role.CASE_MANAGER)
    ).json()
    assert not any("Maria" in n["message"] or "DCFS-0001" in n["message"] for n in feed)
    return [n["kind"] for n in feed]


def _grants(api: Api) -> int:
    ledger = api.hub.ledger
    assert ledger is not None
    ledger.sync(api.session)
    return len(ledger.state.grants)


def test_consent_pages_answer_not_found_beyond_the_caseload(node: Node, api: Api) -> None:
    client = node.sign_in()
    page = client.get("/clients/DCFS-0001")
    token = _csrf(page.text)
    other = client.post(
        "/clients/DCFS-0003/consent",
        data={
            "csrf": token,
            "to": ["corrections"],
            "classes": ["existence"],
            "signed_on": TODAY.isoformat(),
        },
        files={"scan": SCAN},
    )
    assert other.status_code == 404  # another case manager's client
    assert client.get("/clients/DCFS-0001/consent/G-00000-00000/revoke").status_code == 404
    assert client.get("/clients/DCFS-0003/consent/G-00000-00000/revoke").status_code == 404
    signed_out = TestClient(client.app, base_url="https://node.test")
    assert signed_out.post("/clients/DCFS-0001/consent", follow_redirects=False).status_code == 303
    _ = A


def test_an_expired_consent_is_listed_so_and_withheld_as_expired(node: Node, api: Api) -> None:
    client = node.sign_in()
    signed = TODAY - timedelta(days=10)
    recorded = _record(client, signed_on=signed.isoformat(), expires=TODAY.isoformat())
    assert recorded.status_code == 303, recorded.text
    grant = recorded.headers["location"].split("grant=")[1]
    page = client.get(recorded.headers["location"]).text
    assert "expired" in page.split(f"<td>{grant}</td>")[1].split("</tr>")[0]
    welfare = _doc_sees(api)
    assert welfare["contact"]["allowed"] is False
    assert welfare["contact"]["why"] == "expired"
    assert welfare["contact"]["why_at"].startswith(TODAY.isoformat())


def test_a_form_for_the_case_manager_only_reaches_their_case_manager_not_the_supervisors(
    node: Node, api: Api
) -> None:
    org = {
        "staff": [{"staff_id": "cm-0007", "supervisor_id": "sup-0007"}, {"staff_id": "sup-0007"}]
    }
    assert api.client.put("/v1/agencies/DOC/staff", json=org, headers=api.as_("DOC")).is_success
    client = node.sign_in()
    assert 'name="seen_by" value="case_manager"' in client.get("/clients/DCFS-0001").text
    recorded = _record(client, seen_by="case_manager")
    assert recorded.status_code == 303, recorded.text
    assert _doc_sees(api)["contact"]["allowed"] is True  # corrections' case manager
    supervisor = api.as_("DOC", "sup-0007", Role.SUPERVISOR)
    answer = api.client.get(f"/v1/clients/{B}/shared", headers=supervisor).json()
    (welfare,) = [p for p in answer["programs"] if p["program"] == "child_welfare"]
    assert welfare["contact"]["allowed"] is False
    assert welfare["contact"]["why"] == "case_manager_only"
