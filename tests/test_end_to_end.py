"""The whole product as separate processes on loopback, on SQLite and on PostgreSQL: a hub
(`pprl hub serve`) and two agency nodes using only the command line and HTTP, with PII
canaries planted in the rosters and the linkage secret as a canary of its own.

After encoding, syncing, linking, a consent form, a case manager's questions and the
node's pages, neither the hub's database, nor its logs, nor its ledger, nor any of its
answers holds a planted name, birth date, SSN, address or phone number, or the secret:
not as plaintext, and not hex-, base64- or UTF-16-encoded or under an unkeyed hash either
(an unsalted SHA-256 of an SSN is as good as the SSN to anyone with a list of SSNs).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from keys import AgencyIdentity, LinkageSecret, Role, issue_token
from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState
from linkage_node.synthetic import linked_rosters, write_roster
from tests.conftest import database_url
from tests.pii import CANARY, CANARY_FORMS, assert_absent, dump_database
from tests.processes import PPRL, clean_env, free_port, run_pprl, start, start_hub, stop, wait_ready

pytestmark = pytest.mark.e2e


# Each agency's own household key for the canary's family, and the family-only child.
HOUSEHOLD_CANARY = {"DCFS": "HH-Wrenfield-4471", "DOC": "HSE-Wrenfield-0932"}
CHILD_CANARY = {"given_name": "Quillonetta", "date_of_birth": "2014-02-03"}


def test_nothing_identifying_and_no_secret_reaches_the_hub(
    database: Engine, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    rosters = linked_rosters(["DCFS", "DOC"], 150, shared=0.4, seed=41)
    for agency in ("DCFS", "DOC"):
        rows = rosters.rows[agency]
        # The canary heads a household whose key and child (listed as family only) are
        # canaries too: neither may reach the hub in any form.
        home = {"household_id": HOUSEHOLD_CANARY[agency], "member_only": ""}
        rows[0] = {**rows[0], **CANARY, **home, "household_role": "parent_guardian"}
        rows.append(
            {
                **CANARY,
                **home,
                "record_id": f"{agency}-canary-child",
                "given_name": CHILD_CANARY["given_name"],
                "date_of_birth": CHILD_CANARY["date_of_birth"],
                "ssn": "",
                "case_manager_id": "",
                "household_role": "child",
                "member_only": "yes",
            }
        )
        write_roster(work / f"{agency}.csv", rows)

    # Keys, registry, linkage secret (sealed through nobody: files here).
    for agency, program in (("DCFS", "child_welfare"), ("DOC", "corrections")):
        run_pprl(
            work,
            "keys",
            "init-agency",
            "--agency",
            agency,
            "--programs",
            program,
            "--key-dir",
            f"keys/{agency}",
        )
        run_pprl(
            work,
            "keys",
            "registry",
            "add",
            "--registry",
            "registry.json",
            "--public",
            f"keys/{agency}/agency.json",
        )
    run_pprl(
        work,
        "keys",
        "new-linkage-secret",
        "--key-dir",
        "keys/DCFS",
        "--registry",
        "registry.json",
        "--epoch",
        "2026-11",
        "--output",
        "sealed.json",
    )
    for agency in ("DCFS", "DOC"):
        run_pprl(
            work,
            "keys",
            "unseal",
            "--key-dir",
            f"keys/{agency}",
            "--registry",
            "registry.json",
            "--input",
            "sealed.json",
            "--output",
            f"keys/{agency}/linkage-secret.json",
        )
    secret = LinkageSecret.load(work / "keys" / "DCFS" / "linkage-secret.json").secret

    # The hub, as its own process.
    url = database_url(database)
    run_pprl(work, "hub", "migrate", "--database-url", url)
    run_pprl(work, "hub", "init-log-key", "--output", "hub-log.key", "--name", "hub.test/ledger")
    (work / "hub-data.key").write_bytes(os.urandom(32))
    (work / "hub-data.key").chmod(0o600)
    run_pprl(work, "keys", "init-issuer", "--issuer", "https://idp.test", "--output-dir", "idp")
    fingerprint = run_pprl(work, "node", "schema", "--fingerprint").strip().splitlines()[0]
    port = free_port()
    env = {
        "PPRL_DATABASE_URL": url,
        "PPRL_LOG_KEY_FILE": str(work / "hub-log.key"),
        "PPRL_DATA_KEY_FILE": str(work / "hub-data.key"),
        "PPRL_OPERATOR_ISSUER": "https://idp.test",
        "PPRL_OPERATOR_JWKS_FILE": str(work / "idp" / "jwks.json"),
        "PPRL_SECRET_EPOCH": "2026-11",
        "PPRL_SCHEMA_FINGERPRINT": fingerprint,
        "PPRL_CHECKPOINT_INTERVAL_SECONDS": "1",
    }
    base_env = clean_env()
    log = tmp_path / "hub.log"
    hub = start_hub(work, env, port, log)
    base = f"http://127.0.0.1:{port}"
    node_pages = None
    responses: list[bytes] = []
    try:
        operator = (
            run_pprl(
                work, "keys", "issue-operator-token", "--issuer-dir", "idp", "--subject", "op-0001"
            )
            .strip()
            .splitlines()[0]
        )
        (work / "op.txt").write_text(operator)
        for agency in ("DCFS", "DOC"):
            run_pprl(
                work,
                "hub",
                "register-agency",
                "--hub",
                base,
                "--token-file",
                "op.txt",
                "--public",
                f"keys/{agency}/agency.json",
            )
            run_pprl(
                work,
                "node",
                "encode",
                "--agency",
                agency,
                "--secret-file",
                f"keys/{agency}/linkage-secret.json",
                "--input",
                f"{agency}.csv",
                "--output",
                f"{agency}.jsonl",
            )
            run_pprl(
                work,
                "node",
                "sync",
                "--agency",
                agency,
                "--hub",
                base,
                "--key-dir",
                f"keys/{agency}",
            )
        run_pprl(work, "hub", "run-linkage", "--hub", base, "--token-file", "op.txt", "--full")

        # DOC's steward records the canary client's signed consent form to child welfare
        # from the command line; the scan (with the client's name on it) stays at the node.
        dcfs = AgencyIdentity.load(work / "keys" / "DCFS")
        refs = {}
        for agency in ("DCFS", "DOC"):
            state = NodeState(work / "pprl-node" / agency / STATE_FILE, agency)
            found = state.client(rosters.rows[agency][0]["record_id"])
            state.close()
            assert found is not None
            refs[agency] = found[0]
        (work / "consent-scan.pdf").write_bytes(
            b"%PDF-1.4 I, Quillonette Zarbowicz (born 1983-07-19, SSN 517-38-2964), agree"
        )
        doc_node = ["--agency", "DOC", "--hub", base, "--key-dir", "keys/DOC"]
        granted = json.loads(
            run_pprl(
                work,
                "node",
                "consent",
                "grant",
                *doc_node,
                "--record-id",
                rosters.rows["DOC"][0]["record_id"],
                "--to",
                "child_welfare",
                "--classes",
                "existence,contact,plan",
                "--signed-on",
                datetime.now(UTC).date().isoformat(),
                "--form",
                "consent-scan.pdf",
                "--log-public-key",
                "hub-log.key.vkey",
                "--json",
                stderr=False,
            )
        )
        listed = json.loads(
            run_pprl(work, "node", "consent", "list", *doc_node, "--json", stderr=False)
        )
        assert [(g["grant_id"], g["status"]) for g in listed] == [
            (granted["grant_id"], "effective")
        ]
        responses.append(json.dumps(granted).encode())

        # The canary client's case manager asks, through the API and through the node's pages.
        manager = rosters.rows["DCFS"][0]["case_manager_id"]
        cm_token = issue_token(
            dcfs, subject=manager, audience="pprl-hub", roles=[Role.CASE_MANAGER]
        )
        headers = {"Authorization": f"Bearer {cm_token}"}
        with httpx.Client(base_url=base, headers=headers) as api:
            shared = api.get(f"/v1/clients/{refs['DCFS']}/shared")
            assert shared.status_code == 200, shared.text
            assert shared.json()["shared"] is True
            assert shared.json()["programs"][0]["contact"]["allowed"] is True
            responses += [
                shared.content,
                api.get("/v1/caseload").content,
                api.get("/v1/notifications").content,
            ]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {operator}"}) as ops:
            for path in (
                "/v1/linkage/runs",
                "/v1/reports/overlap",
                "/v1/reports/encoding-health",
                "/v1/agencies",
                "/openapi.json",
                "/metrics",
            ):
                response = ops.get(path)
                assert response.status_code == 200, (path, response.text)
                responses.append(response.content)
        (work / "pw.txt").write_text("correct horse battery staple\n")
        run_pprl(
            work,
            "node",
            "add-user",
            "--agency",
            "DCFS",
            "--username",
            "cm",
            "--staff-id",
            manager,
            "--password-file",
            "pw.txt",
        )
        node_port = free_port()
        node_pages = start(
            [
                PPRL,
                "node",
                "serve",
                "--agency",
                "DCFS",
                "--hub",
                base,
                "--port",
                str(node_port),
                "--key-dir",
                "keys/DCFS",
                "--log-public-key",
                "hub-log.key.vkey",
            ],
            cwd=work,
            env=base_env,
            log=log,
        )
        wait_ready(f"http://127.0.0.1:{node_port}/sign-in", process=node_pages, log=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{node_port}", follow_redirects=True) as pages:
            form = pages.get("/sign-in").text
            csrf = form.split('name="csrf" value="')[1].split('"')[0]
            login = {"username": "cm", "password": "correct horse battery staple", "csrf": csrf}
            pages.post("/sign-in", data=login)
            record_id = rosters.rows["DCFS"][0]["record_id"]
            page = pages.get(f"/clients/{record_id}")
            assert page.status_code == 200
            assert "Quillonette Zarbowicz" in page.text  # the node knows its client's name
            assert "Consent verified" in page.text
        # The client withdraws consent: from the next question on, contact is withheld.
        run_pprl(work, "node", "consent", "revoke", *doc_node, "--grant", granted["grant_id"])
        with httpx.Client(base_url=base, headers=headers) as api:
            after = api.get(f"/v1/clients/{refs['DCFS']}/shared").json()
            assert after["programs"][0]["contact"]["allowed"] is False
            assert after["programs"][0]["contact_details"] is None
        time.sleep(1.5)  # a scheduled checkpoint covers the last entries
    finally:
        for process in (node_pages, hub):
            if process is not None:
                stop(process)

    # Case numbers stay at the agencies too: the hub knows HMAC references only.
    case_numbers = [rosters.rows[agency][0]["record_id"] for agency in ("DCFS", "DOC")]
    stored = dump_database(database)
    logs = (tmp_path / "hub.log").read_bytes()
    assert b"ACCESS" in stored  # the disclosures were recorded
    assert b"parent_guardian" in stored  # and the households travelled, as pseudonyms
    haystacks = {"database": stored, "logs": logs, "responses": b"\n".join(responses)}
    families = [*HOUSEHOLD_CANARY.values(), *CHILD_CANARY.values(), "Quillonetta"]
    assert_absent(haystacks, [*CANARY_FORMS, *case_numbers, *families], secret)
