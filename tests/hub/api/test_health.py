"""Encoding health: drift at a sync, canary, and an agency whose records link to nobody."""

from __future__ import annotations

import numpy as np

from keys import canonical
from tests.hub.api.factories import Api, encodings, ref, same_people, succeeded_run


def _clks(n: int, density: float, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        canonical.b64encode(np.packbits(rng.random(1024) < density).tobytes()) for _ in range(n)
    ]


def _send(api: Api, agency: str, start: int, clks: list[str], key: str) -> None:
    body = encodings(0)
    body["upserts"] = [{"ref": ref(f"{agency}-{start + i}"), "clk": c} for i, c in enumerate(clks)]
    response = api.post(f"/v1/agencies/{agency}/encodings/batches", body, api.as_(agency), key)
    assert response.status_code == 200, response.text


def test_health_flags_drift_and_an_agency_that_links_to_nobody(api: Api) -> None:
    api.register("DCFS", "DOC", "DWD")
    _send(api, "DCFS", 0, _clks(50, 0.5, 1), "enc-00001")
    _send(api, "DOC", 0, _clks(50, 0.5, 2), "enc-00001")
    _send(api, "DWD", 0, _clks(50, 0.5, 3), "enc-00001")
    _send(api, "DWD", 50, _clks(50, 0.7, 4), "enc-00002")  # a broken export: denser filters
    run_id = succeeded_run(api)
    same_people(api, run_id, ("DCFS", "DOC"), 30)
    api.session.flush()

    response = api.client.get("/v1/reports/encoding-health", headers=api.operator())
    assert response.status_code == 200, response.text
    health = {h["agency_id"]: h for h in response.json()}
    assert health["DCFS"]["canary"] == "matches"
    assert abs(health["DCFS"]["popcount_mean"] - 0.5) < 0.02
    assert health["DCFS"]["warnings"] == []
    assert health["DCFS"]["linked_share"] == 0.6
    dwd = health["DWD"]
    assert dwd["records"] == 100
    assert dwd["latest_sync_records"] == 50
    assert dwd["drift"] > 0.15
    assert any("more of their bits" in w for w in dwd["warnings"])
    assert any("link to anyone" in w for w in dwd["warnings"])
    assert sum(dwd["popcount_histogram"]) == 100
