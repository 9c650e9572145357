"""The run page publishes cluster counts under the overlap report's small-cell rule."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from hub.models import RecordCluster
from hub.web.operator_sign_in import TOKEN_COOKIE
from keys import Role
from tests.hub.api.factories import Api, ref, succeeded_run


def test_small_cluster_counts_are_hidden_with_whatever_gives_them_away(api: Api) -> None:
    api.register("DCFS", "DOC", "DJJ")
    run_id = succeeded_run(api)
    sizes = [2] * 40 + [3] * 4 + [4] * 12  # four clusters of three records: too few
    for cluster, size in enumerate(sizes):
        for member in range(size):
            api.session.add(
                RecordCluster(
                    agency_id=("DCFS", "DOC", "DJJ", "DCFS")[member],
                    ref=ref(f"{cluster}-{member}"),
                    cluster_id=cluster,
                    run_id=run_id,
                )
            )
    api.session.flush()
    token = api.operators.issue(subject="op-1", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
    client = TestClient(api.client.app, cookies={TOKEN_COOKIE: token})
    page = client.get(f"/operator/runs/{run_id}")
    assert page.status_code == 200, page.text
    table = page.text.split("<caption>Clusters by size")[1].split("</table>")[0]
    cells = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", table))
    assert cells["3"] == "suppressed"
    # With the number of clusters and of records known, one partner is not enough.
    assert list(cells.values()).count("suppressed") >= 2
    assert all(v == "suppressed" or int(v) >= 11 for v in cells.values())
    assert "Clusters by combination of programs" not in page.text
