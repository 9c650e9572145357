from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consent import format_timestamp, key_request, public_key_fields, sign_entry, validate_entry
from keys import AgencyIdentity, Role, canonical, issue_token
from tests.hub.api.factories import Api


def test_operator_registers_agencies_and_anyone_signed_in_reads_their_keys(api: Api) -> None:
    api.register("DCFS", "DOC")
    listed = api.client.get("/v1/agencies", headers=api.as_("DOC")).json()
    assert [a["agency_id"] for a in listed] == ["DCFS", "DOC"]
    dcfs = api.client.get("/v1/agencies/DCFS", headers=api.as_("DOC")).json()
    assert {k["key_id"] for k in dcfs["keys"]} == {
        api.identities["DCFS"].signing_key_id,
        api.identities["DCFS"].sealing_key_id,
    }


def test_registration_is_for_operators_only_and_happens_once(api: Api) -> None:
    api.register("DCFS")
    other = AgencyIdentity.create("DJJ", ("juvenile_justice",)).public_keys().model_dump()
    assert api.client.post("/v1/agencies", json=other, headers=api.as_("DCFS")).status_code == 403
    assert (
        api.client.post("/v1/agencies", json=other, headers=api.operator(Role.AUDITOR)).status_code
        == 403
    )
    again = AgencyIdentity.create("DCFS", ("child_welfare",)).public_keys().model_dump()
    response = api.client.post("/v1/agencies", json=again, headers=api.operator())
    assert response.status_code == 409
    assert "already registered" in response.json()["detail"]


def test_registration_refuses_a_document_whose_key_ids_do_not_match(api: Api) -> None:
    doc = AgencyIdentity.create("DJJ", ("juvenile_justice",)).public_keys().model_dump()
    doc["signing_public_key"] = AgencyIdentity.create("X", ("x",)).public_keys().signing_public_key
    response = api.client.post("/v1/agencies", json=doc, headers=api.operator())
    assert response.status_code == 422


def test_unknown_agency_is_not_found(api: Api) -> None:
    api.register("DCFS")
    assert api.client.get("/v1/agencies/NOPE", headers=api.as_("DCFS")).status_code == 404


def test_revoked_key_stops_its_tokens_at_once(api: Api) -> None:
    api.register("DCFS")
    headers = api.as_("DCFS")
    assert api.client.get("/v1/agencies", headers=headers).status_code == 200
    kid = api.identities["DCFS"].signing_key_id
    response = api.client.post(
        f"/v1/agencies/DCFS/keys/{kid}/revoke", json={}, headers=api.operator()
    )
    assert response.status_code == 200, response.text
    rejected = api.client.get("/v1/agencies", headers=headers)
    assert rejected.status_code == 401
    # The same words for a revoked key, a stranger's key and an unknown agency: a prober
    # learns nothing about who is registered or which keys were revoked.
    stranger = AgencyIdentity.create("NOBODY", ("nothing",))
    unknown = issue_token(stranger, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE])
    other = api.client.get("/v1/agencies", headers={"Authorization": f"Bearer {unknown}"})
    assert other.status_code == 401
    assert rejected.json()["detail"] == other.json()["detail"]
    assert "revoked" not in rejected.json()["detail"].split("(")[0]


def _rotated(old: AgencyIdentity) -> AgencyIdentity:
    """New keys for the same agency and programs."""
    fresh = AgencyIdentity.create(old.agency_id, old.programs)
    return AgencyIdentity(
        agency_id=old.agency_id,
        programs=old.programs,
        signing_key=fresh.signing_key,
        sealing_key=fresh.sealing_key,
        created_at=old.created_at,
    )


def _works(api: Api, identity: AgencyIdentity) -> int:
    token = issue_token(identity, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE])
    return int(
        api.client.get("/v1/agencies", headers={"Authorization": f"Bearer {token}"}).status_code
    )


def _approve(api: Api, request: dict[str, object], agency: str = "DCFS") -> Any:
    return api.client.post(
        f"/v1/agencies/{agency}/keys", json={"request": request}, headers=api.operator()
    )


def test_a_new_key_needs_the_agencys_approval_and_the_operators(api: Api) -> None:
    api.register("DCFS", "DOC")
    old = api.identities["DCFS"]
    new = _rotated(old)
    request = key_request(old, "DCFS", public_key_fields(new.public_keys()), datetime.now(UTC))
    # The agency alone cannot add it ...
    alone = sign_entry(
        validate_entry(
            {
                "v": 1,
                "signer": "DCFS",
                "key_id": old.signing_key_id,
                "made_at": format_timestamp(datetime.now(UTC)),
                **request,
            }
        ),
        old,
    )
    refused = api.client.post(
        "/v1/ledger/entries",
        json={"leaf": canonical.b64encode(alone.leaf)},
        headers=api.as_("DCFS"),
    )
    assert refused.status_code == 409
    assert "operator's approval" in refused.json()["detail"]
    assert _works(api, new) == 401
    # ... nor can another agency's node or an operator without the agency's request.
    assert (
        api.client.post(
            "/v1/agencies/DCFS/keys", json={"request": request}, headers=api.as_("DCFS")
        ).status_code
        == 403
    )
    assert _approve(api, request, agency="DOC").status_code == 422
    # The operator approves the agency's signed request: the new key works at once.
    response = _approve(api, request)
    assert response.status_code == 201, response.text
    assert _works(api, new) == 200
    assert _works(api, old) == 200  # the old one stays until it is revoked


def test_revoking_a_stolen_key_revokes_the_key_it_had_approved(api: Api) -> None:
    api.register("DCFS")
    stolen = api.identities["DCFS"]
    leak = datetime.now(UTC) - timedelta(hours=1)
    planted = _rotated(stolen)  # the thief's key, approved with the stolen one
    request = key_request(
        stolen, "DCFS", public_key_fields(planted.public_keys()), datetime.now(UTC)
    )
    assert _approve(api, request).status_code == 201
    assert _works(api, planted) == 200
    response = api.client.post(
        f"/v1/agencies/DCFS/keys/{stolen.signing_key_id}/revoke",
        json={"compromised_since": leak.isoformat()},
        headers=api.operator(),
    )
    assert response.status_code == 200, response.text
    assert _works(api, stolen) == 401
    assert _works(api, planted) == 401
    keys = {k["key_id"]: k for k in response.json()["keys"]}
    assert keys[planted.signing_key_id]["revoked_at"] is not None


def test_an_agency_that_lost_its_only_key_is_re_keyed_by_the_operator(api: Api) -> None:
    api.register("DCFS")
    lost = api.identities["DCFS"]
    new = _rotated(lost)
    body = {"public": new.public_keys().model_dump(), "incident": "INC-2026-0042"}
    early = api.client.post("/v1/agencies/DCFS/recover", json=body, headers=api.operator())
    assert early.status_code == 409  # it still holds a key: it approves new ones itself
    assert "still holds a signing key" in early.json()["detail"]
    api.client.post(
        f"/v1/agencies/DCFS/keys/{lost.signing_key_id}/revoke", json={}, headers=api.operator()
    )
    assert _works(api, lost) == 401
    assert (
        api.client.post("/v1/agencies/DCFS/recover", json=body, headers=api.as_("DCFS")).status_code
        == 401
    )
    response = api.client.post("/v1/agencies/DCFS/recover", json=body, headers=api.operator())
    assert response.status_code == 200, response.text
    assert _works(api, new) == 200
