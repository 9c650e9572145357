"""GET /v1/reports/overlap on stored clusters: numbers match a direct count, small cells
are suppressed, and the CSV says the same."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.models import LinkageRun, RecordCluster
from tests.hub.api.conftest import Api
from tests.hub.api.test_shared import _upload
from tests.hub.api.test_uploads import ref

GROUPS = {("DCFS", "DOC"): 25, ("DCFS", "DOC", "DWD"): 12, ("DOC", "DWD"): 5, ("DCFS", "DWD"): 14}


def test_overlap_report_matches_a_direct_count(api: Api) -> None:
    api.register("DCFS", "DOC", "DWD")
    for agency in ("DCFS", "DOC", "DWD"):
        _upload(api, agency, [ref(f"{agency}-{i}") for i in range(80)], {})
    run = LinkageRun(kind="full", status="succeeded", requested_by="op", progress=1.0,
                     stage="done", created_at=datetime.now(UTC))  # fmt: skip
    api.session.add(run)
    api.session.flush()
    cluster, used = 0, dict.fromkeys(("DCFS", "DOC", "DWD"), 0)
    for agencies, n in GROUPS.items():
        for _ in range(n):
            cluster += 1
            for agency in agencies:
                record = ref(f"{agency}-{used[agency]}")
                api.session.add(RecordCluster(agency_id=agency, ref=record, cluster_id=cluster,
                                              run_id=run.run_id or 0))  # fmt: skip
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
