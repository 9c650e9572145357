"""GET /v1/reports/overlap on stored clusters: numbers match a direct count, small cells
are suppressed, and the CSV says the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.models import Encoding, RecordCluster
from tests.hub.api.factories import Api, ref, same_people, succeeded_run, upload

GROUPS = {("DCFS", "DOC"): 25, ("DCFS", "DOC", "DWD"): 12, ("DOC", "DWD"): 5, ("DCFS", "DWD"): 14}


def test_overlap_report_matches_a_direct_count(api: Api) -> None:
    api.register("DCFS", "DOC", "DWD")
    for agency in ("DCFS", "DOC", "DWD"):
        upload(api, agency, [ref(f"{agency}-{i}") for i in range(80)], {})
    run_id = succeeded_run(api)
    cluster, used = 0, dict.fromkeys(("DCFS", "DOC", "DWD"), 0)
    for agencies, n in GROUPS.items():
        for _ in range(n):
            cluster += 1
            for agency in agencies:
                record = ref(f"{agency}-{used[agency]}")
                api.session.add(
                    RecordCluster(agency_id=agency, ref=record, cluster_id=cluster, run_id=run_id)
                )
                used[agency] += 1
    api.session.flush()

    body = api.client.get("/v1/reports/overlap", headers=api.operator()).json()
    names = {"DCFS": "child_welfare", "DOC": "corrections", "DWD": "family_employment"}
    groups = {frozenset(names[a] for a in agencies): n for agencies, n in GROUPS.items()}

    def direct(kind: str, programs: tuple[str, ...]) -> int:
        if kind == "caseload":
            return 80
        if kind == "shared_any":
            return sum(n for g, n in groups.items() if programs[0] in g)
        if kind == "pair":
            return sum(n for g, n in groups.items() if set(programs) <= g)
        return groups.get(frozenset(programs), 0)

    published = 0
    for cell in body["cells"]:
        truth = direct(cell["kind"], tuple(cell["programs"]))
        if cell["count"] is None:
            assert all(v is None for v in cell["percent_of"].values())
            continue
        published += 1
        assert cell["count"] == truth, cell
        assert cell["count"] >= 11 or cell["kind"] == "caseload"
        for percent in cell["percent_of"].values():
            assert percent == round(100 * truth / 80, 1)
    cells = {(c["kind"], tuple(c["programs"])): c for c in body["cells"]}
    # 5 clients served by exactly corrections and family employment: suppressed, and
    # more besides, so that it cannot be worked out from the sums.
    assert cells[("exactly", ("corrections", "family_employment"))]["count"] is None
    assert body["suppressed_complementary"] >= 1
    assert published > 3  # the caseloads and more are still published
    csv = api.client.get("/v1/reports/overlap?format=csv", headers=api.operator())
    assert csv.headers["content-type"].startswith("text/csv")
    assert "exactly,corrections & family_employment,suppressed," in csv.text
    assert "caseload,child_welfare,80," in csv.text


def test_the_report_is_computed_after_each_run_and_served_from_storage(api: Api) -> None:
    from hub.models import OverlapSnapshot
    from tests.hub.api.factories import run, sync

    api.register("DCFS", "DOC")
    sync(api, "DCFS", "d-1", {f"d{p}": p for p in range(60)})
    sync(api, "DOC", "c-1", {f"c{p}": p for p in range(20, 80)})
    done = run(api, kind="full", threshold=0.8)
    stored = api.session.get(OverlapSnapshot, done["run_id"])
    assert stored is not None  # computed by the run, before anyone asked
    assert stored.cell_limit == 11
    body = api.client.get("/v1/reports/overlap", headers=api.operator()).json()
    pair = next(c for c in body["cells"] if c["kind"] == "pair")
    assert pair["count"] == 40
    # What is served is the stored report, not a fresh count.
    stored.report = stored.report.replace('"suppressed_primary": 0', '"suppressed_primary": 7')
    api.session.add(stored)
    api.session.flush()
    again = api.client.get("/v1/reports/overlap", headers=api.operator()).json()
    assert again["suppressed_primary"] == 7


def test_the_suppression_limit_can_be_raised_but_never_lowered(api: Api) -> None:
    api.register("DCFS")
    low = api.client.get("/v1/reports/overlap?limit=2", headers=api.operator())
    assert low.status_code == 422
    high = api.client.get("/v1/reports/overlap?limit=50", headers=api.operator())
    assert high.status_code == 200
    assert high.json()["limit"] == 50
    stricter = api.hub.settings.model_copy(update={"overlap_min_cell": 20})
    from hub.errors import Unprocessable
    from hub.services.reports import current_overlap

    with pytest.raises(Unprocessable, match="no count under 20"):
        current_overlap(api.session, stricter, limit=15)


def test_overlap_counts_clients_shared_now_or_ever_within_a_window(api: Api) -> None:
    """Closed cases leave "shared now" and stay in "ever shared" while inside the window."""
    api.register("DCFS", "DOC")
    for agency in ("DCFS", "DOC"):
        upload(api, agency, [ref(f"{agency}-{i}") for i in range(80)], {})
    run_id = succeeded_run(api)
    same_people(api, run_id, ("DCFS", "DOC"), 40)  # 40 clients served by both
    today = datetime.now(UTC).date()
    for i in range(27):  # 15 left corrections two months ago, 12 over three years ago
        row = api.session.get(Encoding, ("DOC", ref(f"DOC-{i}")))
        assert row is not None
        row.exited_on = today - timedelta(days=60 if i < 15 else 1200)
        api.session.add(row)
    api.session.flush()

    def pair_and_doc_caseload(query: str) -> tuple[int, int, str]:
        body = api.client.get(f"/v1/reports/overlap{query}", headers=api.operator()).json()
        cells = {(c["kind"], tuple(c["programs"])): c["count"] for c in body["cells"]}
        pair = cells[("pair", ("child_welfare", "corrections"))]
        return pair, cells[("caseload", ("corrections",))], body["scope"]

    assert pair_and_doc_caseload("") == (13, 53, "currently_shared")
    assert pair_and_doc_caseload("?within_months=12") == (28, 68, "ever_shared")
    assert pair_and_doc_caseload("?within_months=60") == (40, 80, "ever_shared")
