"""`pprl node consent grant|list|revoke|import` against a live hub: a steward records,
finds, shortens and revokes consent without writing code, and an export imported twice
is recorded once."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from sqlalchemy import text
from typer.testing import CliRunner

from consent import Grant, parse_leaf
from contract.client import HubClient
from keys import Role, issue_token, new_linkage_secret
from linkage_node import load_schema, run_encoding_job
from linkage_node.consent_terms import canonical_grant_id, grant_id
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.sync import sync
from linkage_node.synthetic import synthetic_roster
from linkage_node.web import NodeWebSettings, create_node_app, hash_password
from pprl.cli import app
from tests.conftest import BACKENDS
from tests.hub.api.factories import EPOCH
from tests.hub.live import LiveHub, live_hub

pytestmark = pytest.mark.live

TODAY = datetime.now(UTC).date()


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveHub]:
    schema = load_schema()
    with live_hub(request.param, tmp_path / "hub", schema_fingerprint=schema.fingerprint) as live:
        live.register("DOC", tmp_path / "keys")
        live.register("DCFS")
        live.register("DWD")
        roster = tmp_path / "roster.csv"
        synthetic_roster(roster, 5, prefix="C")
        run_encoding_job(
            agency_id="DOC",
            schema=schema,
            secret=new_linkage_secret(EPOCH),
            roster_path=roster,
            output=tmp_path / "doc.jsonl",
            state_dir=tmp_path / "node",
            workers=1,
        )
        (tmp_path / "hub.vkey").write_text(live.log.verifier.vkey())
        yield live


def _run(
    tmp: Path, hub: LiveHub, command: str, *args: str, columns: int = 250
) -> tuple[int, str, str]:
    base = [
        "node",
        "consent",
        command,
        "--agency",
        "DOC",
        "--hub",
        hub.url,
        "--key-dir",
        str(tmp / "keys"),
        "--state-dir",
        str(tmp / "node"),
    ]
    result = CliRunner().invoke(app, [*base, *args], env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def _grant(
    tmp: Path,
    hub: LiveHub,
    record: str,
    *extra: str,
    to: str = "child_welfare",
    classes: str = "existence,contact,plan",
) -> dict[str, object]:
    code, out, err = _run(
        tmp,
        hub,
        "grant",
        "--record-id",
        record,
        "--to",
        to,
        "--classes",
        classes,
        "--signed-on",
        TODAY.isoformat(),
        "--form",
        str(tmp / "form.pdf"),
        "--json",
        "--log-public-key",
        str(tmp / "hub.vkey"),
        *extra,
    )
    assert code == 0, err
    found: dict[str, object] = json.loads(out)
    return found


def _ledger_size(hub: LiveHub) -> int:
    with hub.engine.connect() as conn:
        return int(conn.execute(text("SELECT size FROM ledger_head")).scalar_one())


def test_grant_list_and_revoke_from_the_command_line(hub: LiveHub, tmp_path: Path) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 signed consent form scan")
    before = _ledger_size(hub)
    first = _grant(tmp_path, hub, "C0000001")
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
    assert b"C0000001" not in bytes(leaf)  # the case number never leaves the node

    # The same form again (a retried command) appends nothing and names the same grant.
    again = _grant(tmp_path, hub, "C0000001")
    assert (again["grant_id"], again["already_recorded"]) == (first["grant_id"], True)
    assert _ledger_size(hub) == before + 1

    # A second client, and a short consent that has already run out.
    second = _grant(
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
    code, out, err = _run(tmp_path, hub, "list", "--json")
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
    code, out, err = _run(tmp_path, hub, "list", "--record-id", "C0000002")
    assert code == 0, err
    assert str(second["grant_id"]) in out
    assert str(first["grant_id"]) not in out
    assert "effective" in out
    # On an 80-column terminal the ids a steward copies are still whole.
    code, out, err = _run(tmp_path, hub, "list", "--record-id", "C0000002", columns=80)
    assert str(second["grant_id"]) in out
    assert "C0000002" in out

    # Revoke now, by the id a steward reads off the list (dashes and case forgiven).
    quoted = str(first["grant_id"]).lower().replace("-", "")
    code, out, err = _run(tmp_path, hub, "revoke", "--grant", quoted)
    assert code == 0, err
    assert "revoked" in err
    code, out, err = _run(tmp_path, hub, "list", "--record-id", "C0000001", "--json")
    assert [g["status"] for g in json.loads(out)] == ["revoked"]
    code, out, err = _run(tmp_path, hub, "revoke", "--grant", str(first["grant_id"]))
    assert code == 3
    assert "already ended (revoked)" in err

    # A revocation from a later day shortens the consent: a new grant ending then.
    later = (TODAY + timedelta(days=30)).isoformat()
    code, out, err = _run(
        tmp_path, hub, "revoke", "--grant", str(second["grant_id"]), "--effective", later, "--json"
    )
    assert code == 0, err
    shortened = json.loads(out)
    assert shortened["replaces"] == second["grant_id"]
    code, out, err = _run(tmp_path, hub, "list", "--record-id", "C0000002", "--json")
    statuses = {g["grant_id"]: (g["status"], g["expires_at"][:10]) for g in json.loads(out)}
    assert statuses[str(second["grant_id"])][0] == "superseded"
    assert statuses[shortened["grant_id"]] == ("effective", later)


def test_bad_forms_are_refused_with_the_field_and_nothing_recorded(
    hub: LiveHub, tmp_path: Path
) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 scan")
    (tmp_path / "form.docx").write_bytes(b"not a scan")
    before = _ledger_size(hub)
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
        code, _, err = _run(
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
    code, _, err = _run(
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
    code, _, err = _run(
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
    assert _ledger_size(hub) == before


def test_an_export_imported_twice_is_recorded_once(hub: LiveHub, tmp_path: Path) -> None:
    export = tmp_path / "exports"
    export.mkdir()
    (export / "scan-1.pdf").write_bytes(b"%PDF-1.4 first")
    (export / "scan-2.pdf").write_bytes(b"%PDF-1.4 second")
    signed = (TODAY - timedelta(days=3)).isoformat()
    (export / "consents.csv").write_text(
        "Case Number,To,Classes,Signed On,Expires,Signer,Form File\n"
        f"C0000001,child_welfare;family_employment,existence contact,{signed},,client,scan-1.pdf\n"
        f"C0000002,child_welfare,existence,{signed},{(TODAY + timedelta(days=90)).isoformat()},"
        "guardian,scan-2.pdf\n",
        encoding="utf-8",
    )
    # "Case Number" is not record_id: the header is matched as for rosters.
    code, _, err = _run(
        tmp_path,
        hub,
        "import",
        "--input",
        str(export / "consents.csv"),
        "--log-public-key",
        str(tmp_path / "hub.vkey"),
    )
    assert code == 3
    assert "record_id" in err
    assert "--mapping" not in err  # the import takes none: it says to rename the column
    (export / "consents.csv").write_text(
        (export / "consents.csv").read_text().replace("Case Number", "Record ID")
    )
    before = _ledger_size(hub)
    code, out, err = _run(
        tmp_path,
        hub,
        "import",
        "--input",
        str(export / "consents.csv"),
        "--json",
        "--log-public-key",
        str(tmp_path / "hub.vkey"),
    )
    assert code == 0, err
    assert json.loads(out) == {"rows": 2, "recorded": 2, "already_recorded": 0, "rejected": 0}
    assert _ledger_size(hub) == before + 2
    code, out, err = _run(
        tmp_path, hub, "import", "--input", str(export / "consents.csv"), "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {"rows": 2, "recorded": 0, "already_recorded": 2, "rejected": 0}
    assert _ledger_size(hub) == before + 2
    code, out, err = _run(tmp_path, hub, "list", "--json")
    assert sorted(g["record_id"] for g in json.loads(out)) == ["C0000001", "C0000002"]


def test_an_export_with_bad_rows_records_nothing_and_names_line_and_column(
    hub: LiveHub, tmp_path: Path
) -> None:
    (tmp_path / "consents.csv").write_text(
        "record_id,to,classes,signed_on,form_sha256\n"
        f"C0000001,child_welfare,existence,{TODAY.isoformat()},{'ab' * 32}\n"
        f"C0000002,child_welfare,existence,12/01/2026,{'ab' * 32}\n"
        f"C0000003,nowhere,existence,{TODAY.isoformat()},{'ab' * 32}\n"
        f"C0000004,child_welfare,gossip,{TODAY.isoformat()},not-a-hash\n",
        encoding="utf-8",
    )
    before = _ledger_size(hub)
    code, _, err = _run(
        tmp_path,
        hub,
        "import",
        "--input",
        str(tmp_path / "consents.csv"),
        "--log-public-key",
        str(tmp_path / "hub.vkey"),
    )
    assert code == 3, err
    for line, column in ((3, "signed_on"), (4, "to"), (5, "classes"), (5, "form_sha256")):
        cells = [[c.strip() for c in row.split("│")] for row in err.splitlines()]
        assert any(c[1:3] == [str(line), column] for c in cells if len(c) > 3), (line, column, err)
    assert "12/01/2026" not in err  # values are never echoed
    assert _ledger_size(hub) == before
    # Allowing the three bad rows records the good one.
    code, out, err = _run(
        tmp_path,
        hub,
        "import",
        "--input",
        str(tmp_path / "consents.csv"),
        "--max-rejected",
        "3",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["recorded"] == 1


def test_consents_export_as_fhir_r4_consent_resources(hub: LiveHub, tmp_path: Path) -> None:
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 release")
    kept = _grant(tmp_path, hub, "C0000001", to="child_welfare,family_employment")
    ended = _grant(tmp_path, hub, "C0000002", classes="existence")
    assert _run(tmp_path, hub, "revoke", "--grant", str(ended["grant_id"]))[0] == 0
    code, _, err = _run(tmp_path, hub, "export-fhir", "--output", str(tmp_path / "fhir.json"))
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "fhir.json").stat().st_mode) == 0o600
    raw = json.loads((tmp_path / "fhir.json").read_text())
    bundle = Bundle.model_validate(raw)  # the FHIR models accept it
    assert all(isinstance(entry.resource, Consent) for entry in bundle.entry or [])
    consents = {e["resource"]["id"]: e["resource"] for e in raw["entry"]}
    assert set(consents) == {str(kept["grant_id"]).lower(), str(ended["grant_id"]).lower()}
    active = consents[str(kept["grant_id"]).lower()]
    assert active["status"] == "active"
    assert active["patient"]["identifier"]["value"] == "C0000001"
    assert [a["reference"]["identifier"]["value"] for a in active["provision"]["actor"]] == [
        "child_welfare",
        "family_employment",
    ]
    assert [c["code"] for c in active["provision"]["class"]] == ["existence", "contact", "plan"]
    assert consents[str(ended["grant_id"]).lower()]["status"] == "inactive"
    # One client only, on stdout.
    code, out, err = _run(tmp_path, hub, "export-fhir", "--record-id", "C0000002")
    assert code == 0, err
    assert [e["resource"]["id"] for e in json.loads(out)["entry"]] == [
        str(ended["grant_id"]).lower()
    ]


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
    before = _ledger_size(hub)
    from_cli = _grant(
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
    assert _ledger_size(hub) == before
