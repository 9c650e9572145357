"""`pprl node consent import` and `export-fhir` against a live hub: an export imported
twice is recorded once, a bad export records nothing, and grants export as FHIR R4."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent

from tests.hub.live import LiveHub
from tests.linkage_node.consent_cli_factories import TODAY, grant_by_cli, ledger_size, run_consent

pytestmark = pytest.mark.live


@pytest.fixture
def hub(consent_hub: LiveHub) -> LiveHub:
    return consent_hub


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
    code, _, err = run_consent(
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
    before = ledger_size(hub)
    code, out, err = run_consent(
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
    assert ledger_size(hub) == before + 2
    code, out, err = run_consent(
        tmp_path, hub, "import", "--input", str(export / "consents.csv"), "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {"rows": 2, "recorded": 0, "already_recorded": 2, "rejected": 0}
    assert ledger_size(hub) == before + 2
    code, out, err = run_consent(tmp_path, hub, "list", "--json")
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
    before = ledger_size(hub)
    code, _, err = run_consent(
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
    assert ledger_size(hub) == before
    # Allowing the three bad rows records the good one.
    code, out, err = run_consent(
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
    kept = grant_by_cli(tmp_path, hub, "C0000001", to="child_welfare,family_employment")
    ended = grant_by_cli(tmp_path, hub, "C0000002", classes="existence")
    assert run_consent(tmp_path, hub, "revoke", "--grant", str(ended["grant_id"]))[0] == 0
    code, _, err = run_consent(
        tmp_path, hub, "export-fhir", "--output", str(tmp_path / "fhir.json")
    )
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
    code, out, err = run_consent(tmp_path, hub, "export-fhir", "--record-id", "C0000002")
    assert code == 0, err
    assert [e["resource"]["id"] for e in json.loads(out)["entry"]] == [
        str(ended["grant_id"]).lower()
    ]
