"""The management dashboard: monthly series, stuck milestones by reason, program and
office, overdue, time to complete and consent rate; one small-cell rule for the JSON,
the CSV and the page, and nothing hidden that published totals give away."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from hub.models import PlanAlertSeen
from hub.services.dashboard import exits_while_shared, last_months, shared_from
from hub.services.overlap import determined_cells
from hub.web.operator_sign_in import TOKEN_COOKIE
from keys import Role, issue_token
from tests.hub.api.factories import Api, encodings, link, milestones, ref, succeeded_run

TODAY = datetime.now(UTC).date()
MONTHS = last_months(TODAY)


def _in_month(month: str, day: int = 10) -> str:
    return f"{month}-{day:02d}"


def _post(api: Api, agency: str, path: str, body: dict[str, Any], key: str) -> None:
    response = api.post(f"/v1/agencies/{agency}/{path}", body, api.as_(agency), key)
    assert response.status_code == 200, response.text


def _scenario(api: Api) -> None:
    """40 clients shared by DCFS and DOC: DOC enrolled 20 of them in one month and 5 in
    another (too few to publish); 12 left DOC last month. DCFS has 25 milestones stuck on
    a waitlist, 3 on transportation and 12 on eligibility (North office), DOC 15 on a
    waitlist (South); 14
    of DCFS's are overdue; 12 housing milestones were completed in 20 days each."""
    api.register("DCFS", "DOC")
    n = 40
    dcfs = [{"ref": ref(f"d{i}"), "clk": encodings(1)["upserts"][0]["clk"]} for i in range(n)]
    for row in dcfs:
        row["enrolled_on"] = _in_month(MONTHS[0], 2)
    doc = [{"ref": ref(f"o{i}"), "clk": encodings(1)["upserts"][0]["clk"]} for i in range(n)]
    for i, row in enumerate(doc):
        row["enrolled_on"] = _in_month(MONTHS[3] if i < 20 else MONTHS[5] if i < 25 else MONTHS[1])
        if 25 <= i < 37:
            row["exited_on"] = _in_month(MONTHS[-2], 15)
    for agency, rows in (("DCFS", dcfs), ("DOC", doc)):
        _post(api, agency, "encodings/batches", {**encodings(0), "upserts": rows}, "enc-00001")
    assign = {
        "DCFS": [{"ref": ref(f"d{i}"), "case_manager_id": "cm-0001"} for i in range(n)],
        "DOC": [{"ref": ref(f"o{i}"), "case_manager_id": "cm-0007"} for i in range(n)],
    }
    for agency, rows in assign.items():
        _post(api, agency, "assignments/batches", {"upserts": rows}, "asg-00001")
    org = {
        "DCFS": [{"staff_id": "cm-0001", "office": "North"}],
        "DOC": [{"staff_id": "cm-0007", "office": "South"}],
    }
    for agency, staff in org.items():
        assert api.client.put(
            f"/v1/agencies/{agency}/staff", json={"staff": staff}, headers=api.as_(agency)
        ).is_success
    plan: list[dict[str, Any]] = []
    for i in range(40):
        plan.append(
            {
                "ref": ref(f"d{i}"),
                "milestone_id": "stuck",
                "goal": "g",
                "milestone": "m",
                "status": "stuck",
                "stuck_reason": "waitlist"
                if i < 25
                else "transportation"
                if i < 28
                else "eligibility",
                "stuck_since": _in_month(MONTHS[-3]),
                "target_end": (TODAY - timedelta(days=5)).isoformat() if i < 14 else None,
            }
        )
    for i in range(12):
        start = date.fromisoformat(_in_month(MONTHS[-4], 1))
        plan.append(
            {
                "ref": ref(f"d{i}"),
                "milestone_id": "done",
                "goal": "g",
                "milestone": "m",
                "status": "complete",
                "service_kind": "housing",
                "actual_start": start.isoformat(),
                "actual_end": (start + timedelta(days=20)).isoformat(),
            }
        )
    milestones(api, "DCFS", [{k: v for k, v in m.items() if v is not None} for m in plan])
    doc_plan = [
        {
            "ref": ref(f"o{i}"),
            "milestone_id": "stuck",
            "goal": "g",
            "milestone": "m",
            "status": "stuck",
            "stuck_reason": "waitlist",
        }
        for i in range(15)
    ]
    milestones(api, "DOC", doc_plan)
    run_id = succeeded_run(api)
    for i in range(n):
        link(api, run_id, i + 1, [("DCFS", ref(f"d{i}"), "DOC", ref(f"o{i}"), 0.95, False)])


def _dashboard(api: Api, role: Role = Role.HUB_OPERATOR, **query: str) -> Any:
    headers = api.operator(role) if role != Role.EXECUTIVE else api.as_("DCFS", "ex-1", role)
    return api.client.get("/v1/reports/dashboard", params=query, headers=headers)


def test_the_dashboard_counts_what_disrupts_progress_and_hides_small_cells(api: Api) -> None:
    _scenario(api)
    response = _dashboard(api)
    assert response.status_code == 200, response.text
    body = response.json()
    series = {
        s["measure"]: dict(zip(body["months"], s["values"], strict=True)) for s in body["series"]
    }
    assert series["newly_shared"][MONTHS[3]] == 20
    assert series["newly_shared"][MONTHS[5]] is None  # 5: too few to publish
    assert series["exited_shared"][MONTHS[-2]] == 12
    assert series["newly_stuck"][MONTHS[-3]] == 40
    assert series["completed"][MONTHS[-4]] == 12
    stuck = {(c["program"], c["by"], c["key"]): c["count"] for c in body["stuck"]}
    assert stuck[("child_welfare", "reason", "waitlist")] == 25
    assert stuck[("child_welfare", "reason", "transportation")] is None
    # ... and eligibility (12) with it: else 40 - 25 - 12 gives transportation away.
    assert stuck[("child_welfare", "reason", "eligibility")] is None
    assert body["stuck_by_program"] == {"child_welfare": 40, "corrections": 15}
    assert stuck[("child_welfare", "office", "North")] == 40
    assert stuck[("corrections", "office", "South")] == 15
    assert body["overdue_by_program"] == {"child_welfare": 14}
    assert body["completion"] == [{"service_kind": "housing", "completed": 12, "median_days": 20.0}]
    # Nothing published under the limit, anywhere in the answer.
    published = [v for s in body["series"] for v in s["values"] if v is not None]
    published += [c["count"] for c in body["stuck"] if c["count"] is not None]
    published += [v for v in body["stuck_by_program"].values() if v is not None]
    published += [v for v in body["stuck_by_reason"].values() if v is not None]
    assert min(published) >= body["limit"] == 11
    # The hidden transportation count cannot be worked out from the published totals.
    _nothing_hidden_is_determined(body)


def _nothing_hidden_is_determined(body: dict[str, Any]) -> None:
    cells = {(c["program"], c["by"], c["key"]): c["count"] for c in body["stuck"]}
    keys = list(cells) + [("total", p) for p in body["stuck_by_program"]]
    keys += [("reason_total", r) for r in body["stuck_by_reason"]]
    values = dict(cells) | {("total", p): v for p, v in body["stuck_by_program"].items()}
    values |= {("reason_total", r): v for r, v in body["stuck_by_reason"].items()}
    rows = []
    for p in body["stuck_by_program"]:
        for by in ("reason", "office"):
            rows.append([1 if k == ("total", p) else -1 if k[:2] == (p, by) else 0 for k in keys])
    for r in body["stuck_by_reason"]:
        rows.append(
            [1 if k == ("reason_total", r) else -1 if k[1:] == ("reason", r) else 0 for k in keys]
        )
    hidden = [i for i, k in enumerate(keys) if values[k] is None]
    assert hidden
    assert determined_cells(np.array(rows, float), hidden) == set()


def test_the_csv_says_exactly_what_the_json_says(api: Api) -> None:
    _scenario(api)
    body = _dashboard(api).json()
    table = list(csv.DictReader(io.StringIO(_dashboard(api, format="csv").text)))
    by_key = {(r["section"], r["program"], r["key"], r["month"]): r["value"] for r in table}
    for s in body["series"]:
        for month, value in zip(body["months"], s["values"], strict=True):
            assert by_key[(s["measure"], "", "", month)] == (
                "suppressed" if value is None else str(value)
            )
    for c in body["stuck"]:
        said = by_key[(f"stuck_by_{c['by']}", c["program"], c["key"], "")]
        assert said == ("suppressed" if c["count"] is None else str(c["count"]))
    numbers = [int(v) for v in by_key.values() if v.isdigit()]
    assert min(numbers) >= 11


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.HUB_OPERATOR, 200),
        (Role.AUDITOR, 200),
        (Role.EXECUTIVE, 200),
    ],
)
def test_operators_auditors_and_executives_read_it(api: Api, role: Role, status: int) -> None:
    api.register("DCFS")
    assert _dashboard(api, role).status_code == status


def test_case_managers_and_supervisors_do_not(api: Api) -> None:
    api.register("DCFS")
    for role in (Role.CASE_MANAGER, Role.SUPERVISOR, Role.AGENCY_NODE):
        headers = api.as_("DCFS", "cm-0001", role)
        assert api.client.get("/v1/reports/dashboard", headers=headers).status_code == 403


def test_shared_and_exit_dates_follow_the_enrollments() -> None:
    d = date.fromisoformat
    both: dict[str, list[tuple[date | None, date | None]]] = {
        "dcfs": [(d("2026-01-10"), None)],
        "doc": [(d("2026-03-05"), d("2026-09-15"))],
    }
    assert shared_from(both) == d("2026-03-05")
    assert exits_while_shared(both) == {d("2026-09-15")}
    apart: dict[str, list[tuple[date | None, date | None]]] = {
        "dcfs": [(d("2026-01-10"), d("2026-02-01"))],
        "doc": [(d("2026-03-05"), None)],
    }
    assert shared_from(apart) is None  # never at the same time
    assert exits_while_shared(apart) == set()
    unknown: dict[str, list[tuple[date | None, date | None]]] = {
        "dcfs": [(None, None)],
        "doc": [(d("2026-03-05"), None)],
    }
    assert shared_from(unknown) is None  # no known start: not counted as newly shared


def _signed_in(api: Api, role: Role) -> TestClient:
    if role == Role.EXECUTIVE:
        token = issue_token(
            api.identities["DCFS"], subject="ex-1", audience="pprl-hub", roles=[role]
        )
    else:
        token = api.operators.issue(subject="op-1", audience="pprl-hub", roles=[role])
    return TestClient(api.client.app, cookies={TOKEN_COOKIE: token}, follow_redirects=False)


def test_the_page_and_its_csv_publish_the_same_suppressed_numbers(api: Api) -> None:
    _scenario(api)
    client = _signed_in(api, Role.HUB_OPERATOR)
    page = client.get("/operator/dashboard")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert text.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 8
    assert "<script" not in text
    # Each chart says its numbers in words, suppressed months included.
    desc = text.split('<desc id="chart-newly_shared-d">')[1].split("</desc>")[0]
    assert f"{MONTHS[0]}: suppressed" in desc
    assert f"{MONTHS[3]}: 20" in desc
    assert "To discuss:" in text
    numbers = [int(n.replace(",", "")) for n in re.findall(r"<td>(?:<strong>)?([\d,]+)", text)]
    assert numbers
    assert min(numbers) >= 11
    assert "waiting for a place in the service" in text  # reasons in words
    download = client.get("/operator/dashboard.csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert download.text == _dashboard(api, format="csv").text


def test_executives_sign_in_to_the_reports_only(api: Api) -> None:
    api.register("DCFS")
    client = _signed_in(api, Role.EXECUTIVE)
    assert client.get("/operator/dashboard").status_code == 200
    assert client.get("/operator/overlap").status_code == 200
    for operators_only in ("/operator", "/operator/health", "/operator/runs/1"):
        refused = client.get(operators_only)
        assert refused.status_code == 303
        assert refused.headers["location"] == "/operator/dashboard"
    nav = client.get("/operator/dashboard").text.split("</nav>")[0]
    assert "Encoding health" not in nav


def test_conflicts_found_and_resolved_count_each_conflict_once(api: Api) -> None:
    """As the plan-alerts sweep left them: 15 conflicts found this month (two case
    managers told of each), 12 of them resolved; stuck milestones are not conflicts."""
    api.register("DCFS", "DOC")
    now = datetime.now(UTC)
    for n in range(15):
        for agency, staff in (("DCFS", "cm-0001"), ("DOC", "cm-0007")):
            api.session.add(
                PlanAlertSeen(
                    agency_id=agency,
                    staff_id=staff,
                    ref=ref(f"c{n}"),
                    fingerprint=f"f{n:031d}",
                    kind="competing_deadlines",
                    seen_at=now,
                    resolved_at=now if n < 12 else None,
                )
            )
        api.session.add(
            PlanAlertSeen(
                agency_id="DCFS",
                staff_id="cm-0001",
                ref=ref(f"c{n}"),
                fingerprint=f"s{n:031d}",
                kind="stuck",
                seen_at=now,
            )
        )
    api.session.flush()
    body = _dashboard(api).json()
    series = {s["measure"]: s["values"][-1] for s in body["series"]}
    assert (series["conflicts_found"], series["conflicts_resolved"]) == (15, 12)
