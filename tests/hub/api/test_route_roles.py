"""Every /v1 route against every kind of caller. A route added without a row here fails
`test_every_route_has_a_row`, so nothing is ever open by accident."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from keys import Role, canonical
from tests.hub.api.factories import (
    EPOCH,
    FINGERPRINT,
    Api,
    clk,
    encodings,
    grant_leaf,
    ref,
    succeeded_run,
)

CALLERS = (
    "anonymous",
    "node",
    "other_node",
    "case_manager",
    "supervisor",
    "intake",
    "executive",
    "operator",
    "auditor",
)


def _headers(api: Api, who: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "node": api.as_("DCFS"),
        "other_node": api.as_("DOC"),
        "case_manager": api.as_("DCFS", "cm-1", Role.CASE_MANAGER),
        "supervisor": api.as_("DCFS", "sup-1", Role.SUPERVISOR),
        "intake": api.as_("DCFS", "in-1", Role.INTAKE),
        "executive": api.as_("DCFS", "ex-1", Role.EXECUTIVE),
        "operator": api.operator(),
        "auditor": api.operator(Role.AUDITOR),
    }[who]


def _grant_leaf_b64(api: Api) -> str:
    return canonical.b64encode(grant_leaf(api))


Call = Callable[[Api, dict[str, str], int], Any]


def _call(
    method: str, path: str, body: Callable[[Api], Any] | None = None, idempotent: bool = False
) -> Call:
    def run(api: Api, headers: dict[str, str], n: int) -> Any:
        extra = {"Idempotency-Key": f"key-{n:06d}"} if idempotent else {}
        return api.client.request(
            method, path, json=body(api) if body else None, headers={**headers, **extra}
        )

    return run


KID = "{kid}"
# cm-1 reports to sup-1: the supervisor's access to cm-1's client follows the chain.
ORG = {"staff": [{"staff_id": "cm-1", "supervisor_id": "sup-1"}, {"staff_id": "sup-1"}]}
# route -> (call, callers that succeed, status for the others when authenticated)
ROUTES: dict[tuple[str, str], tuple[Call, set[str], int]] = {
    ("GET", "/v1/agencies"): (_call("GET", "/v1/agencies"), set(CALLERS) - {"anonymous"}, 0),
    ("GET", "/v1/agencies/{agency_id}"): (
        _call("GET", "/v1/agencies/DCFS"),
        set(CALLERS) - {"anonymous"},
        0,
    ),
    ("POST", "/v1/agencies"): (
        _call("POST", "/v1/agencies", lambda api: _new_agency()),
        {"operator"},
        403,
    ),
    ("POST", "/v1/agencies/{agency_id}/keys"): (
        lambda api, h, n: api.client.post(
            "/v1/agencies/DCFS/keys", json={"request": _key_request(api)}, headers=h
        ),
        {"operator"},
        403,
    ),
    ("POST", "/v1/agencies/{agency_id}/recover"): (
        lambda api, h, n: api.client.post(
            "/v1/agencies/DJJ/recover", json=_recovery(api), headers=h
        ),
        {"operator"},
        403,
    ),
    ("POST", "/v1/agencies/{agency_id}/keys/{key_id}/revoke"): (
        lambda api, h, n: api.client.post(
            f"/v1/agencies/DJJ/keys/{api.identities['DJJ'].signing_key_id}/revoke",
            json={},
            headers=h,
        ),
        {"operator"},
        403,
    ),
    ("POST", "/v1/ledger/entries"): (
        _call("POST", "/v1/ledger/entries", lambda api: {"leaf": _grant_leaf_b64(api)}),
        {"node"},
        403,
    ),
    ("GET", "/v1/ledger/checkpoint"): (
        _call("GET", "/v1/ledger/checkpoint"),
        set(CALLERS) - {"anonymous"},
        0,
    ),
    ("GET", "/v1/ledger/checkpoints/{size}"): (
        lambda api, h, n: api.client.get(f"/v1/ledger/checkpoints/{_latest(api)}", headers=h),
        set(CALLERS) - {"anonymous"},
        0,
    ),
    ("POST", "/v1/ledger/checkpoints/{size}/cosignatures"): (
        lambda api, h, n: api.client.post(
            f"/v1/ledger/checkpoints/{_latest(api)}/cosignatures",
            json={"cosignature": _cosignature(api, h)},
            headers=h,
        ),
        {"node", "other_node"},
        403,
    ),
    ("GET", "/v1/ledger/proofs/inclusion"): (
        _call("GET", "/v1/ledger/proofs/inclusion?index=0&tree_size=1"),
        set(CALLERS) - {"anonymous"},
        0,
    ),
    ("GET", "/v1/ledger/proofs/consistency"): (
        _call("GET", "/v1/ledger/proofs/consistency?first=1&second=2"),
        set(CALLERS) - {"anonymous"},
        0,
    ),
    ("GET", "/v1/ledger/entries"): (
        _call("GET", "/v1/ledger/entries"),
        {"node", "other_node", "auditor"},
        403,
    ),
    ("POST", "/v1/agencies/{agency_id}/encodings/batches"): (
        _call(
            "POST", "/v1/agencies/DCFS/encodings/batches", lambda api: encodings(2), idempotent=True
        ),
        {"node"},
        404,
    ),
    ("POST", "/v1/agencies/{agency_id}/assignments/batches"): (
        _call(
            "POST",
            "/v1/agencies/DCFS/assignments/batches",
            lambda api: {"upserts": [{"ref": ref("x"), "case_manager_id": "cm-1"}]},
            idempotent=True,
        ),
        {"node"},
        404,
    ),
    ("POST", "/v1/agencies/{agency_id}/milestones/batches"): (
        _call(
            "POST",
            "/v1/agencies/DCFS/milestones/batches",
            lambda api: {
                "upserts": [
                    {
                        "ref": ref("x"),
                        "milestone_id": "m1",
                        "goal": "g",
                        "milestone": "m",
                        "status": "stuck",
                    }
                ]
            },
            idempotent=True,
        ),
        {"node"},
        404,
    ),
    ("PUT", "/v1/agencies/{agency_id}/sync-check-in"): (
        _call("PUT", "/v1/agencies/DCFS/sync-check-in", lambda api: {"runs": 0, "batches": 0}),
        {"node"},
        404,
    ),
    ("POST", "/v1/linkage/runs"): (
        _call("POST", "/v1/linkage/runs", lambda api: {"kind": "full", "threshold": 0.8}),
        {"operator"},
        403,
    ),
    ("GET", "/v1/linkage/runs"): (_call("GET", "/v1/linkage/runs"), {"operator"}, 403),
    ("GET", "/v1/linkage/runs/{run_id}"): (
        lambda api, h, n: api.client.get(f"/v1/linkage/runs/{_a_run(api)}", headers=h),
        {"operator"},
        403,
    ),
    ("GET", "/v1/clients/{record_ref}/shared"): (
        _call("GET", f"/v1/clients/{ref('r0')}/shared"),
        {"supervisor", "case_manager"},
        404,
    ),
    ("GET", "/v1/clients/{record_ref}/family"): (
        _call("GET", f"/v1/clients/{ref('r0')}/family"),
        {"supervisor", "case_manager"},
        404,
    ),
    ("POST", "/v1/clients/{record_ref}/contacts"): (
        _call("POST", f"/v1/clients/{ref('r0')}/contacts", lambda api: {"program": "corrections"}),
        set(),  # r0 is linked to nobody: no program's contact to have reached
        404,
    ),
    ("GET", "/v1/caseload"): (_call("GET", "/v1/caseload"), {"case_manager"}, 403),
    ("GET", "/v1/team"): (_call("GET", "/v1/team"), {"supervisor"}, 403),
    ("GET", "/v1/team/dashboard"): (_call("GET", "/v1/team/dashboard"), {"supervisor"}, 403),
    ("GET", "/v1/notifications/preferences"): (
        _call("GET", "/v1/notifications/preferences"),
        {"case_manager"},
        403,
    ),
    ("PUT", "/v1/notifications/preferences"): (
        _call(
            "PUT",
            "/v1/notifications/preferences",
            lambda api: {"preferences": {"new_conflict": "in_app"}},
        ),
        {"case_manager"},
        403,
    ),
    ("POST", "/v1/lookups"): (
        _call(
            "POST",
            "/v1/lookups",
            lambda api: {"clk": clk(5), "epoch": EPOCH, "schema_fingerprint": FINGERPRINT},
        ),
        {"intake"},
        403,
    ),
    ("GET", "/v1/agencies/{agency_id}/review"): (
        _call("GET", "/v1/agencies/DCFS/review"),
        {"node"},
        404,
    ),
    ("POST", "/v1/agencies/{agency_id}/review/{item_id}"): (
        lambda api, h, n: api.client.post(
            f"/v1/agencies/DCFS/review/{_an_item(api)}", json={"answer": "same"}, headers=h
        ),
        {"node"},
        404,
    ),
    ("GET", "/v1/reports/encoding-health"): (
        _call("GET", "/v1/reports/encoding-health"),
        {"operator", "auditor"},
        403,
    ),
    ("GET", "/v1/reports/overlap"): (
        _call("GET", "/v1/reports/overlap"),
        {"operator", "auditor", "executive"},
        403,
    ),
    ("GET", "/v1/reports/families"): (
        _call("GET", "/v1/reports/families"),
        {"operator", "auditor", "executive"},
        403,
    ),
    ("GET", "/v1/reports/dashboard"): (
        _call("GET", "/v1/reports/dashboard"),
        {"operator", "auditor", "executive"},
        403,
    ),
    ("GET", "/v1/reports/probe-flags"): (
        _call("GET", "/v1/reports/probe-flags"),
        {"operator", "auditor"},
        403,
    ),
    ("GET", "/v1/agencies/{agency_id}/probe-flags"): (
        _call("GET", "/v1/agencies/DCFS/probe-flags"),
        {"node"},
        404,
    ),
    ("GET", "/v1/notifications"): (_call("GET", "/v1/notifications"), {"case_manager"}, 403),
    ("POST", "/v1/notifications/{notification_id}/read"): (
        lambda api, h, n: api.client.post(
            f"/v1/notifications/{_a_notification(api, n)}/read", headers=h
        ),
        {"case_manager"},
        403,
    ),
    ("PUT", "/v1/agencies/{agency_id}/staff"): (
        _call("PUT", "/v1/agencies/DCFS/staff", lambda api: ORG),
        {"node"},
        404,
    ),
    ("GET", "/v1/agencies/{agency_id}/records/{ref}"): (
        _call("GET", f"/v1/agencies/DCFS/records/{ref('r0')}"),
        {"node", "supervisor", "case_manager"},
        404,
    ),
}


def _key_request(api: Api) -> dict[str, Any]:
    from datetime import UTC, datetime

    from consent import key_request, public_key_fields
    from keys import AgencyIdentity

    new = AgencyIdentity.create("DCFS", ("child_welfare",)).public_keys()
    return key_request(api.identities["DCFS"], "DCFS", public_key_fields(new), datetime.now(UTC))


def _recovery(api: Api) -> dict[str, Any]:
    """New keys for DJJ, whose every signing key is revoked first."""
    from keys import AgencyIdentity

    record = api.client.get("/v1/agencies/DJJ", headers=api.operator()).json()
    for key in record["keys"]:
        if key["kind"] == "ed25519" and key["revoked_at"] is None:
            api.client.post(
                f"/v1/agencies/DJJ/keys/{key['key_id']}/revoke", json={}, headers=api.operator()
            )
    new = AgencyIdentity.create("DJJ", ("juvenile_justice",)).public_keys()
    return {"public": new.model_dump(), "incident": "INC-0001"}


def _latest(api: Api) -> int:
    from hub.services.ledger import latest_checkpoint

    latest = latest_checkpoint(api.session)
    assert latest is not None
    return latest[0]


def _cosignature(api: Api, headers: dict[str, str]) -> str:
    """A cosignature by the agency whose token the caller holds (else DCFS's)."""
    from consent import cosign, open_checkpoint, witness_name
    from hub.services.ledger import latest_checkpoint

    token = headers.get("Authorization", " ").split(" ")[1]
    try:
        issuer = canonical.strict_json_loads(canonical.b64url_decode(token.split(".")[1]))["iss"]
    except (canonical.EncodingError, IndexError, KeyError):
        issuer = None
    identity = api.identities.get(str(issuer), api.identities["DCFS"])
    latest = latest_checkpoint(api.session)
    assert latest is not None
    checkpoint = open_checkpoint(latest[1], api.log.verifier)
    public = identity.signing_key.public_key()
    return cosign(checkpoint, witness_name(identity.agency_id), public, identity).line


def _a_run(api: Api) -> int:
    runs = api.hub.linkage.recent(api.session, 1)
    if not runs:
        runs = [api.hub.linkage.request(api.session, kind="full", threshold=None, requested_by="t")]
        api.session.commit()  # services never commit; the caller does
    assert runs[0].run_id is not None
    return runs[0].run_id


def _an_item(api: Api) -> str:
    from hub.models import Link
    from hub.services.review import item_id

    pair = ("DCFS", ref("r0"), "DOC", ref("doc-r0"))
    if api.session.get(Link, pair) is None:
        run_id = succeeded_run(api)
        link = Link(
            agency_a=pair[0],
            ref_a=pair[1],
            agency_b=pair[2],
            ref_b=pair[3],
            score=0.81,
            review=True,
            cluster_id=1,
            run_id=run_id,
        )
        api.session.add(link)
        api.session.flush()
    return item_id(pair)


def _a_notification(api: Api, n: int) -> int:
    from datetime import UTC, datetime

    from hub.models import Notification

    now = datetime.now(UTC)
    row = Notification(
        agency_id="DCFS",
        case_manager_id="cm-1",
        kind="matches_changed",
        run_id=1000 + n,
        clients=1,
        created_at=now,
        email_status="pending",
        email_attempts=0,
        next_attempt_at=now,
    )
    api.session.add(row)
    api.session.flush()
    assert row.notification_id is not None
    return row.notification_id


def _new_agency() -> dict[str, Any]:
    import secrets

    from keys import AgencyIdentity

    name = f"A{secrets.token_hex(3)}"
    return AgencyIdentity.create(name, (name.lower(),)).public_keys().model_dump()


def test_every_route_has_a_row(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    routes = {
        (m.upper(), p) for p, ops in schema["paths"].items() if p.startswith("/v1/") for m in ops
    }
    assert routes == set(ROUTES)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_caller_gets_what_its_role_allows(api: Api, route: tuple[str, str]) -> None:
    api.register("DCFS", "DOC", "DJJ")
    api.post("/v1/agencies/DCFS/encodings/batches", encodings(1), api.as_("DCFS"), key="setup-0001")
    api.post(
        "/v1/agencies/DCFS/assignments/batches",
        {"upserts": [{"ref": ref("r0"), "case_manager_id": "cm-1"}]},
        api.as_("DCFS"),
        key="setup-0002",
    )
    api.client.put("/v1/agencies/DCFS/staff", json=ORG, headers=api.as_("DCFS"))
    api.checkpoint()
    call, allowed, refused = ROUTES[route]
    for n, who in enumerate(CALLERS):
        response = call(api, _headers(api, who), n)
        if who == "anonymous":
            assert response.status_code == 401, (route, who, response.text)
        elif who in allowed:
            assert response.status_code < 300, (route, who, response.text)
        else:
            assert response.status_code == refused, (route, who, response.text)
