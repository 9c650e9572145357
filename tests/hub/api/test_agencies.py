from __future__ import annotations

from datetime import UTC, datetime

from consent import format_timestamp, sign_entry, validate_entry
from keys import AgencyIdentity, Role, canonical, issue_token
from tests.hub.api.conftest import Api


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
    assert "revoked" in rejected.json()["detail"]


def test_agency_rotates_its_own_key_through_a_signed_ledger_entry(api: Api) -> None:

    api.register("DCFS")
    old = api.identities["DCFS"]
    new = AgencyIdentity(
        agency_id="DCFS",
        programs=old.programs,
        signing_key=AgencyIdentity.create("DCFS", old.programs).signing_key,
        sealing_key=old.sealing_key,
        created_at=old.created_at,
    )
    public = new.public_keys()
    entry = validate_entry(
        {
            "v": 1,
            "type": "KEY",
            "signer": "DCFS",
            "key_id": old.signing_key_id,
            "made_at": format_timestamp(datetime.now(UTC)),
            "action": "add_key",
            "agency_id": "DCFS",
            "keys": [
                {
                    "key_id": public.signing_key_id,
                    "kind": "ed25519",
                    "public_key": public.signing_public_key,
                }
            ],
        }
    )
    leaf = sign_entry(entry, old).leaf
    response = api.client.post(
        "/v1/ledger/entries", json={"leaf": canonical.b64encode(leaf)}, headers=api.as_("DCFS")
    )
    assert response.status_code == 201, response.text
    token = issue_token(new, subject="node-1", audience="pprl-hub", roles=[Role.AGENCY_NODE])
    assert (
        api.client.get("/v1/agencies", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
