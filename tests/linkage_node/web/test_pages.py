"""The case manager's pages: sign-in, caseload, client, proof; and what the hub learns."""

from __future__ import annotations

import html
from pathlib import Path

from typer.testing import CliRunner

from consent import check_proof_bundle
from linkage_node.web.answer_view import day
from pprl.cli import app as pprl_app
from tests.hub.api.factories import Api, add_notification, days_from_today
from tests.linkage_node.web.conftest import PASSWORD, Node


def test_pages_need_sign_in_and_a_valid_form(node: Node) -> None:
    client = node.client
    assert client.get("/caseload", follow_redirects=False).headers["location"] == (
        "/sign-in?next=%2Fcaseload"
    )
    # No CSRF token: refused, nothing signed in.
    refused = client.post("/sign-in", data={"username": "mlopez", "password": PASSWORD})
    assert refused.status_code == 400
    # Wrong password and unknown user: the same answer.
    client.get("/sign-in")
    form = client.get("/sign-in").text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    wrong = client.post("/sign-in", data={"username": "mlopez", "password": "nope", "csrf": token})
    nobody = client.post("/sign-in", data={"username": "ghost", "password": "nope", "csrf": token})
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert "Wrong username or password." in nobody.text


def test_the_caseload_shows_names_from_the_node_and_the_shared_flag(node: Node) -> None:
    client = node.sign_in()
    page = client.get("/caseload")
    assert page.status_code == 200, page.text
    assert "Maria Lopez" in page.text
    assert "Dana Whitfield" in page.text
    assert "Sam Other" not in page.text  # another case manager's client
    row = page.text.split("Maria Lopez")[1].split("</tr>")[0]
    assert "Yes" in row
    assert "corrections" in row
    dana = page.text.split("Dana Whitfield")[1].split("</tr>")[0]
    assert "No" in dana
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_shared_client_shows_contact_milestones_conflicts_and_verified_consent(
    node: Node,
) -> None:
    client = node.sign_in()
    page = client.get("/clients/DCFS-0001")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Officer Reyes" in text
    assert "Report to officer" in text
    # The lease (housing) and the report (supervision) serve different needs: no
    # conflict (the timeline test below has one).
    assert 'class="conflict"' not in text
    assert 'id="conflicts"' not in text
    assert "Consent verified" in text
    assert "high-confidence match (score 0.93)" in text  # corrections
    assert "moderate-confidence match (score 0.88)" in text  # family employment
    assert "Coach Patel" in text  # family employment: contact consented
    assert "Job readiness workshop" not in text  # ... but not its plan
    # One card per program, each reason once, in words a case manager can act on.
    said = "The client's consent to Family employment does not cover plan milestones: ask"
    assert html.unescape(text).count(said) == 1
    assert "Shared with you:</strong> contact details and plan milestones." in text
    # The combined plan names the need each milestone serves and marks what is stuck.
    row = next(r for r in text.split("<tr") if "Job readiness class" in r)
    assert "Self-reliance" in row  # implied by its service kind, job training
    assert f"<td>{day(days_from_today(60))}</td>" in row  # the target end as people write a date
    proof_link = text.split('href="/clients/DCFS-0001/proof/')[1].split('"')[0]
    proof = client.get(f"/clients/DCFS-0001/proof/{proof_link}")
    assert proof.status_code == 200
    assert "Verified" in proof.text
    assert "inclusion_proof" in proof.text


def test_other_clients_and_unknown_case_numbers_look_the_same(node: Node) -> None:
    client = node.sign_in()
    other = client.get("/clients/DCFS-0003")
    missing = client.get("/clients/DCFS-9999")
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text


def test_the_hub_never_sees_a_name_or_a_case_number(node: Node) -> None:
    client = node.sign_in()
    client.get("/caseload")
    client.get("/clients/DCFS-0001")
    client.get("/clients/DCFS-0002")
    assert node.hub_requests  # the node did ask the hub
    seen = "\n".join(node.hub_requests)
    for secret in ("Maria", "Lopez", "Dana", "DCFS-0001", "DCFS-0002", "1990-04-02"):
        assert secret not in seen


def test_sign_out_needs_the_form_token(node: Node) -> None:
    client = node.sign_in()
    assert client.post("/sign-out", data={"csrf": "forged"}).status_code == 400
    assert client.get("/caseload", follow_redirects=False).status_code == 200
    page = client.get("/caseload").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    client.post("/sign-out", data={"csrf": token}, follow_redirects=False)
    assert client.get("/caseload", follow_redirects=False).status_code == 303


def test_notifications_show_on_the_caseload_and_can_be_marked_read(api: Api, node: Node) -> None:
    add_notification(api)
    client = node.sign_in()
    page = client.get("/caseload").text
    assert "Matches changed for one or more clients" in page
    token = page.split('name="csrf" value="')[1].split('"')[0]
    action = page.split('action="/notifications/')[1].split('"')[0]
    done = client.post(f"/notifications/{action}", data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "Matches changed for one or more clients" not in client.get("/caseload").text
    # The same through htmx answers with nothing to swap in.
    add_notification(api, run_id=2)
    page = client.get("/caseload").text
    action = page.split('action="/notifications/')[1].split('"')[0]
    swapped = client.post(
        f"/notifications/{action}", data={"csrf": token}, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 200
    assert swapped.text == ""
    forged = client.post(f"/notifications/{action}", data={"csrf": "forged"})
    assert forged.status_code == 400


def test_the_proof_page_offers_a_bundle_check_proof_accepts(
    node: Node,
    api: Api,
    tmp_path: Path,
) -> None:
    client = node.sign_in()
    page = client.get("/clients/DCFS-0001").text
    index = int(page.split('href="/clients/DCFS-0001/proof/')[1].split('"')[0])
    proof_page = client.get(f"/clients/DCFS-0001/proof/{index}")
    assert f"/clients/DCFS-0001/proof/{index}?download=1" in proof_page.text
    download = client.get(f"/clients/DCFS-0001/proof/{index}?download=1")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    proven = check_proof_bundle(download.content, api.log.verifier)
    assert proven.index == index
    (tmp_path / "proof.json").write_bytes(download.content)
    (tmp_path / "log.vkey").write_text(api.log.verifier.vkey())
    checked = CliRunner().invoke(
        pprl_app,
        [
            "consent",
            "check-proof",
            "--input",
            str(tmp_path / "proof.json"),
            "--log-public-key",
            str(tmp_path / "log.vkey"),
        ],
    )
    assert checked.exit_code == 0, checked.output


def test_a_program_that_closed_the_case_shows_as_served_before(api: Api, node: Node) -> None:
    from tests.hub.api.factories import B
    from tests.hub.api.test_history import exit_record

    client = node.sign_in()
    client.get("/caseload")  # the visit before the exit
    assert exit_record(api, "DOC", B, "2026-10-31", key="exit-00009").status_code == 200
    caseload = client.get("/caseload").text
    row = caseload.split("Maria Lopez")[1].split("</tr>")[0]
    assert "exited from corrections on 2026-10-31" in row
    assert "Before: corrections (until 2026-10-31)" in row
    page = client.get("/clients/DCFS-0001").text
    served = page.split('id="before"')[1].split("</section>")[0]
    assert "Corrections</strong> served this client until 2026-10-31" in served
    assert "Officer Reyes" not in page  # the contact left with the exit
    assert "Report to officer" not in page
    assert "Consent verified" in page  # family employment's grant, still checked


def test_the_timeline_shows_every_field_of_each_milestone_in_words(api: Api, node: Node) -> None:
    from tests.hub.api.factories import required_housing

    required_housing(api)
    page = node.sign_in().get("/clients/DCFS-0001").text
    row = next(r for r in page.split("<tr") if "Move into an approved address" in r)
    assert "<strong>Stuck</strong>: waiting for a place in the service" in row
    assert "(required)" in row
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    entries = timeline.split("<li")[1:]
    # In date order: the residence (started 50 days ago) first, then the job class
    # (starts in 5 days), the lease (due in 20) and the report (due in 25).
    order = ["Move into an approved address", "Job readiness class", "Lease signed", "Report"]
    assert [next(n for n in order if n in e) for e in entries] == order
    entry = html.unescape(entries[0])
    for said in (
        f"{day(days_from_today(-50))} to {day(days_from_today(22))}",
        "<dt>Required by</dt><dd>condition of supervision</dd>",
        "<dt>Dosage</dt><dd>3 sessions of 12 sessions delivered</dd>",
        "<dt>Client buy-in</dt><dd>the client partly agrees</dd>",
        "<dt>This program contributes</dt><dd>Deposit assistance</dd>",
        "<dt>Stuck because</dt><dd>waiting for a place in the service</dd>",
        f"<dt>Stuck since</dt><dd>{day(days_from_today(-40))}</dd>",
        "<dt>Aftercare</dt><dd>part of the plan for after the program ends</dd>",
        "<dt>Need served</dt><dd>Basic needs</dd>",
    ):
        assert said in entry, said
    assert "<strong>required</strong>" in entry
    assert "<strong>conflict</strong>" in entry
    conflicts = page.split('id="conflicts"')[1].split("</section>")[0]
    first = conflicts.split("<li>")[1]
    assert "(required milestone)" in first


def test_a_case_manager_says_they_reached_the_other_case_manager(api: Api, node: Node) -> None:
    from sqlalchemy import select

    from hub.models import FirstContact

    client = node.sign_in()
    page = client.get("/clients/DCFS-0001").text
    assert "I have reached this case manager" in page
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    done = client.post(
        "/clients/DCFS-0001/contacted",
        data={"csrf": csrf, "program": "corrections"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert "Noted: you reached the other program" in client.get(done.headers["location"]).text
    kept = api.session.execute(select(FirstContact)).scalars().all()
    assert [(c.program, c.staff_id) for c in kept] == [("corrections", "cm-0001")]
    # A program whose contact is not shown to them cannot be named.
    refused = client.post(
        "/clients/DCFS-0001/contacted", data={"csrf": csrf, "program": "vocational_rehab"}
    )
    assert refused.status_code == 404
