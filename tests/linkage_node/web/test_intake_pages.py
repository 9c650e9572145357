"""The intake page: an intake worker types who is in front of them and reads which other
programs serve a matching person; only an encoding leaves the node, a problem names the
field and never what was typed, and other staff are sent elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

from linkage_node.schema import load_schema
from tests.hub.api.factories import Api
from tests.linkage_node.web.conftest import FakeHub, Node, make_node


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"', maxsplit=1)[0]


def test_an_intake_worker_learns_which_program_serves_the_person(
    intake: tuple[Node, FakeHub],
) -> None:
    node, hub = intake
    client = node.sign_in("ilee")
    form = client.get("/intake")
    assert form.status_code == 200
    answer = client.post(
        "/intake",
        data={
            "given": "Quillonette",
            "family": "Zarbowicz",
            "dob": "1983-07-19",
            "csrf": _csrf(form.text),
        },
    )
    assert answer.status_code == 200
    assert "Corrections</strong> serves someone matching" in answer.text
    assert "check the details with them" in answer.text  # a moderate match says so
    assert "Vocational rehab</strong> served someone matching until 2025-02-28" in answer.text
    (sent,) = hub.bodies
    body = json.loads(sent)
    assert set(body) == {"clk", "epoch", "schema_fingerprint"}
    assert body["schema_fingerprint"] == load_schema().fingerprint
    assert b"Quillonette" not in sent
    assert b"1983" not in sent


def test_identifiers_that_cannot_be_matched_name_the_field_not_the_value(
    intake: tuple[Node, FakeHub],
) -> None:
    node, hub = intake
    client = node.sign_in("ilee")
    form = client.get("/intake")
    refused = client.post(
        "/intake",
        data={"given": "Quillonette", "family": "", "dob": "sometime", "csrf": _csrf(form.text)},
    )
    assert refused.status_code == 422
    problem = refused.text.split('role="alert">')[1].split("</div>")[0]
    assert "date_of_birth" in problem
    assert "sometime" not in problem
    assert hub.bodies == []  # nothing was asked


def test_other_staff_are_told_the_page_is_for_intake(intake: tuple[Node, FakeHub]) -> None:
    node, hub = intake
    page = node.sign_in("mlopez").get("/intake")
    assert page.status_code == 403
    assert "intake role" in page.text
    assert hub.bodies == []


def test_a_node_without_the_linkage_secret_says_so(
    api: Api, scenario: dict[str, int], tmp_path: Path
) -> None:
    page = make_node(api, tmp_path).sign_in("ilee").get("/intake")
    assert page.status_code == 503
    assert "PPRL_NODE_LINKAGE_SECRET_FILE" in page.text
