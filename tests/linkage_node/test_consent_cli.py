"""`pprl node consent grant|list|revoke|import` against a live hub: a steward records,
finds, shortens and revokes consent without writing code, and an export imported twice
is recorded once."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from consent import Grant, parse_leaf
from contract.client import HubClient
from keys import Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.consent_terms import canonical_grant_id, grant_id
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import sync
from linkage_node.synthetic import synthetic_roster, write_roster
from linkage_node.web import NodeWebSettings, create_node_app, hash_password
from tests.hub.api.factories import EPOCH
from tests.hub.live import LiveHub
from tests.linkage_node.consent_cli_factories import TODAY, grant_by_cli, ledger_size, run_consent

pytestmark = pytest.mark.live


@pytest.fixture
def hub(consent_hub: LiveHub) -> LiveHub:
    return consent_hub


def test_grant_list_and_revoke_from_the_command_line(hub: LiveHub, tmp_path: Path) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 signed consent form scan")
    before = ledger_size(hub)
    first = grant_by_cli(tmp_path, hub, "C0000001")
    assert first["already_recorded"] is False
    assert first["ledger_index"] == before
    assert canonical_grant_id(str(first["grant_id"])) == first["grant_id"]
    # The scan stays at the node, owner-readable only; only its hash is on the ledger.
    kept = list((tmp_path / "node" / "consent-forms").iterdir())
    assert len(kept) == 1
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    with hub.engine.connect() as conn:
        leaf = conn.execute(
            text("SELECT leaf FROM ledger_entry WHERE entry_index = :i"), {"i": before}
        ).scalar_one()
    entry = parse_leaf(bytes(leaf)).entry
    assert isinstance(entry, Grant)
    terms = entry.grant
    assert terms.recipient_programs == ["child_welfare"]
    assert terms.recipient_staff is None  # not said: the case manager and their chain
    assert b"C0000001" not in bytes(leaf)  # the case number never leaves the node

    # The same form again (a retried command) appends nothing and names the same grant.
    again = grant_by_cli(tmp_path, hub, "C0000001")
    assert (again["grant_id"], again["already_recorded"]) == (first["grant_id"], True)
    assert ledger_size(hub) == before + 1

    # A second client, and a short consent that has already run out.
    second = grant_by_cli(
        tmp_path,
        hub,
        "C0000002",
        "--signer",
        "guardian",
        "--form-version",
        "universal-2026.1",
        to="child_welfare,family_employment",
        classes="existence",
    )
    code, out, err = run_consent(tmp_path, hub, "list", "--json")
    assert code == 0, err
    listed = {g["grant_id"]: g for g in json.loads(out)}
    assert set(listed) == {first["grant_id"], second["grant_id"]}
    mine = listed[str(first["grant_id"])]
    assert (mine["record_id"], mine["status"]) == ("C0000001", "effective")
    assert mine["form_on_file"] is True
    theirs = listed[str(second["grant_id"])]
    assert theirs["recipients"] == ["child_welfare", "family_employment"]
    assert theirs["signer"] == "parent_or_guardian"
    assert theirs["form_version"] == "universal-2026.1"

    # One client's consents only; the table for people names the grant and its status.
    code, out, err = run_consent(tmp_path, hub, "list", "--record-id", "C0000002")
    assert code == 0, err
    assert str(second["grant_id"]) in out
    assert str(first["grant_id"]) not in out
    assert "effective" in out
    # On an 80-column terminal the ids a steward copies are still whole.
    code, out, err = run_consent(tmp_path, hub, "list", "--record-id", "C0000002", columns=80)
    assert str(second["grant_id"]) in out
    assert "C0000002" in out

    # Revoke now, by the id a steward reads off the list (dashes and case forgiven).
    quoted = str(first["grant_id"]).lower().replace("-", "")
    code, out, err = run_consent(tmp_path, hub, "revoke", "--grant", quoted)
    assert code == 0, err
    assert "revoked" in err
    code, out, err = run_consent(tmp_path, hub, "list", "--record-id", "C0000001", "--json")
    assert [g["status"] for g in json.loads(out)] == ["revoked"]
    code, out, err = run_consent(tmp_path, hub, "revoke", "--grant", str(first["grant_id"]))
    assert code == 3
    assert "already ended (revoked)" in err

    # A revocation from a later day shortens the consent: a new grant ending then.
    later = (TODAY + timedelta(days=30)).isoformat()
    code, out, err = run_consent(
        tmp_path, hub, "revoke", "--grant", str(second["grant_id"]), "--effective", later, "--json"
    )
    assert code == 0, err
    shortened = json.loads(out)
    assert shortened["replaces"] == second["grant_id"]
    code, out, err = run_consent(tmp_path, hub, "list", "--record-id", "C0000002", "--json")
    statuses = {g["grant_id"]: (g["status"], g["expires_at"][:10]) for g in json.loads(out)}
    assert statuses[str(second["grant_id"])][0] == "superseded"
    assert statuses[shortened["grant_id"]] == ("effective", later)


def test_a_form_for_the_case_manager_only_says_so_in_the_grant(
    hub: LiveHub, tmp_path: Path
) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 signed consent form scan")
    wide = grant_by_cli(tmp_path, hub, "C0000001")
    narrow = grant_by_cli(tmp_path, hub, "C0000001", "--seen-by", "case_manager")
    assert narrow["grant_id"] != wide["grant_id"]  # another form, another grant
    with hub.engine.connect() as conn:
        leaf = conn.execute(
            text("SELECT leaf FROM ledger_entry WHERE entry_index = :i"),
            {"i": narrow["ledger_index"]},
        ).scalar_one()
    entry = parse_leaf(bytes(leaf)).entry
    assert isinstance(entry, Grant)
    assert entry.grant.recipient_staff == "assigned_case_manager"


def test_bad_forms_are_refused_with_the_field_and_nothing_recorded(
    hub: LiveHub, tmp_path: Path
) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 scan")
    (tmp_path / "form.docx").write_bytes(b"not a scan")
    before = ledger_size(hub)
    cases = [
        (["--record-id", "C0000001", "--to", "no_such_program"], 3, "to: recipient 1 is not"),
        (["--record-id", "C0000001", "--to", "corrections"], 3, "its own recipient"),
        (["--record-id", "NOT-ON-ROSTER", "--to", "child_welfare"], 3, "not on this node's"),
        (
            ["--record-id", "C0000001", "--to", "child_welfare", "--classes", "address"],
            3,
            "classes",
        ),
        (
            ["--record-id", "C0000001", "--to", "child_welfare", "--expires", TODAY.isoformat()],
            3,
            "expires",
        ),
        (
            ["--record-id", "C0000001", "--to", "child_welfare", "--form-version", "Jane Doe"],
            3,
            "form_version",
        ),
    ]
    for args, code_wanted, said in cases:
        code, _, err = run_consent(
            tmp_path,
            hub,
            "grant",
            *args,
            "--signed-on",
            TODAY.isoformat(),
            "--form",
            str(tmp_path / "form.pdf"),
            "--log-public-key",
            str(tmp_path / "hub.vkey"),
        )
        assert code == code_wanted, (args, err)
        assert said in err, (args, err)
        assert "Traceback" not in err
    one = ["--record-id", "C0000001", "--to", "child_welfare"]
    code, _, err = run_consent(
        tmp_path,
        hub,
        "grant",
        *one,
        "--signed-on",
        TODAY.isoformat(),
        "--form",
        str(tmp_path / "form.docx"),
    )
    assert code == 3, err
    assert "PDF or an image" in err
    code, _, err = run_consent(
        tmp_path,
        hub,
        "grant",
        *one,
        "--signed-on",
        "01/12/2026",
        "--form",
        str(tmp_path / "form.pdf"),
    )
    assert code == 2, err
    assert ledger_size(hub) == before


def test_grant_ids_are_short_stable_and_forgiving() -> None:
    consent = "0f6b8d0e-1c7a-4e3b-9d2a-5b8c7e6f1a2b"
    name = grant_id(consent)
    assert name == grant_id(consent)
    assert len(name) == 13
    assert name.startswith("G-")
    assert canonical_grant_id(name.lower().replace("-", "")) == name
    assert canonical_grant_id("G-12345") is None
    assert date.fromisoformat(TODAY.isoformat()) == TODAY


def test_the_page_and_the_command_line_make_the_same_grant_for_the_same_form(
    hub: LiveHub, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A form recorded on a case manager's page and the same form recorded by the steward
    from the command line are one grant: the command finds it and appends nothing."""
    state = NodeState(tmp_path / "node" / STATE_FILE, "DOC")
    found = state.client("C0000001")
    assert found is not None
    case_manager = found[4]
    state.accounts.save("officer", case_manager, "case_manager", hash_password("pw pw pw pw"))
    identity = hub.identities["DOC"]
    node = HubClient(
        hub.url,
        lambda: issue_token(
            identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE]
        ),
        retry_for=1,
    )
    try:
        sync(state, "DOC", node)  # the hub knows the client before a page asks about it
    finally:
        node.close()
        state.close()
    template = tmp_path / "universal-form.json"
    template.write_text(
        json.dumps(
            {
                "form_version": "universal-2026.1",
                "recipients": ["child_welfare"],
                "data_classes": ["existence", "contact"],
                "duration_days": 180,
            }
        )
    )
    settings = NodeWebSettings(
        agency="DOC",
        hub_url=hub.url,
        state_dir=tmp_path / "node",
        log_public_key_file=tmp_path / "hub.vkey",
        consent_form_file=template,
    )
    to_hub = httpx.Client(base_url=hub.url)
    request.addfinalizer(to_hub.close)
    app = create_node_app(settings, identity=hub.identities["DOC"], hub_client=to_hub)
    pages = TestClient(app, base_url="https://node.test")
    form = pages.get("/sign-in").text
    csrf = form.split('name="csrf" value="')[1].split('"', maxsplit=1)[0]
    pages.post("/sign-in", data={"username": "officer", "password": "pw pw pw pw", "csrf": csrf})
    page = pages.get("/clients/C0000001")
    assert page.status_code == 200, page.text
    # The deployment's universal form comes pre-ticked, with its term.
    assert 'value="child_welfare" checked' in page.text
    assert 'value="plan">' in page.text
    assert 'value="contact" checked' in page.text
    expires = (TODAY + timedelta(days=180)).isoformat()
    assert f'value="{expires}"' in page.text
    scan = b"%PDF-1.4 the signed universal form"
    (tmp_path / "form.pdf").write_bytes(scan)
    csrf = page.text.split('name="csrf" value="')[1].split('"', maxsplit=1)[0]
    recorded = pages.post(
        "/clients/C0000001/consent",
        data={
            "csrf": csrf,
            "to": ["child_welfare"],
            "classes": ["existence", "contact"],
            "signer": "client",
            "signed_on": TODAY.isoformat(),
            "expires": expires,
        },
        files={"scan": ("form.pdf", scan, "application/pdf")},
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text
    from_page = recorded.headers["location"].split("grant=")[1]
    before = ledger_size(hub)
    from_cli = grant_by_cli(
        tmp_path,
        hub,
        "C0000001",
        "--expires",
        expires,
        "--form-version",
        "universal-2026.1",
        classes="existence,contact",
    )
    assert (from_cli["grant_id"], from_cli["already_recorded"]) == (from_page, True)
    assert ledger_size(hub) == before


def _family_roster(tmp: Path) -> None:
    """DOC's five clients again, with a household: a mother and two children served
    there, and a father listed as family only."""
    rows = synthetic_roster(tmp / "again.csv", 5, prefix="C")
    household = {"household_id": "H-9", "address": "5 Elm Row", "city": "Springfield"}
    people = [
        ("F-MUM", "Adaeze", "1986-05-04", "cm-0007", "parent_guardian", ""),
        ("F-KID1", "Chidi", (TODAY - timedelta(days=365 * 9)).isoformat(), "cm-0007", "child", ""),
        ("F-KID2", "Ngozi", (TODAY - timedelta(days=365 * 13)).isoformat(), "cm-0007", "child", ""),
        ("F-DAD", "Emeka", "1984-01-30", "", "parent_guardian", "yes"),
    ]
    for record_id, given, dob, cm, role, member_only in people:
        rows.append(
            {
                "record_id": record_id,
                "given_name": given,
                "family_name": "Obi",
                "date_of_birth": dob,
                "case_manager_id": cm,
                "household_role": role,
                "member_only": member_only,
                **household,
            }
        )
    write_roster(tmp / "family.csv", rows)
    run_encoding_job(
        agency_id="DOC",
        schema=load_schema(),
        secret=new_linkage_secret(EPOCH),
        roster_path=tmp / "family.csv",
        output=tmp / "family.jsonl",
        state_dir=tmp / "node",
        workers=1,
        today=TODAY,
    )


def test_a_parent_signs_for_the_children_and_a_minor_cannot_sign_alone(
    hub: LiveHub, tmp_path: Path
) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 family consent form")
    _family_roster(tmp_path)
    before = ledger_size(hub)
    common = [
        "--to",
        "child_welfare",
        "--signed-on",
        TODAY.isoformat(),
        "--form",
        str(tmp_path / "form.pdf"),
        "--log-public-key",
        str(tmp_path / "hub.vkey"),
    ]
    refused = [
        (["--record-id", "F-KID1"], "a parent or guardian signs"),
        (["--record-id", "F-DAD", "--collected-by", "cm-0007"], "listed as family only"),
        (["--record-id", "F-MUM", "--for-minors", "F-MUM"], "is not a minor"),
        (["--record-id", "F-MUM", "--for-minors", "F-KID1,NO-SUCH"], "not on this node's"),
    ]
    for args, said in refused:
        code, _, err = run_consent(tmp_path, hub, "grant", *args, *common)
        assert code == 3, (args, err)
        assert said in err, (args, err)
        assert "Traceback" not in err
    assert ledger_size(hub) == before

    # One form: the mother for herself and, as their parent, for both children.
    code, out, err = run_consent(
        tmp_path,
        hub,
        "grant",
        "--record-id",
        "F-MUM",
        "--for-minors",
        "F-KID1,F-KID2",
        "--json",
        *common,
    )
    assert code == 0, err
    grants = json.loads(out)["grants"]
    assert len(grants) == 3
    signers = {}
    with hub.engine.connect() as conn, NodeState(tmp_path / "node" / STATE_FILE, "DOC") as state:
        for g in grants:
            leaf = conn.execute(
                text("SELECT leaf FROM ledger_entry WHERE entry_index = :i"),
                {"i": g["ledger_index"]},
            ).scalar_one()
            entry = parse_leaf(bytes(leaf)).entry
            assert isinstance(entry, Grant)
            signers[state.record_id_of(entry.grant.subject)] = entry.grant.signer_type
    assert signers == {
        "F-MUM": "client",
        "F-KID1": "parent_or_guardian",
        "F-KID2": "parent_or_guardian",
    }
    # The father, family only here, signs for a child: one grant, the child's (the same
    # terms as the mother's for that child, so it is already on the ledger).
    code, out, err = run_consent(
        tmp_path,
        hub,
        "grant",
        "--record-id",
        "F-DAD",
        "--collected-by",
        "cm-0007",
        "--for-minors",
        "F-KID1",
        "--json",
        *common,
    )
    assert code == 0, err
    (again,) = json.loads(out)["grants"]
    assert again["already_recorded"] is True

    # The same from a case-management export: a row with for_minors makes one grant
    # per child too (another day's form, so new grants).
    (tmp_path / "family.pdf").write_bytes(b"%PDF-1.4 the family's renewed form")
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    (tmp_path / "consents.csv").write_text(
        "record_id,to,classes,signed_on,form_file,for_minors\n"
        f"F-MUM,child_welfare,existence,{yesterday},family.pdf,F-KID1 F-KID2\n",
        encoding="utf-8",
    )
    code, out, err = run_consent(
        tmp_path,
        hub,
        "import",
        "--input",
        str(tmp_path / "consents.csv"),
        "--json",
        "--log-public-key",
        str(tmp_path / "hub.vkey"),
    )
    assert code == 0, err
    assert json.loads(out) == {"rows": 1, "recorded": 3, "already_recorded": 0, "rejected": 0}
