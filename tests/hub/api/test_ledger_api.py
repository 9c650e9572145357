from __future__ import annotations

from typing import Any

from consent import (
    cosign,
    cosigners,
    leaf_hash,
    open_checkpoint,
    open_withheld,
    verify_consistency,
    verify_inclusion,
    witness_name,
)
from keys import Role, canonical
from tests.hub.api.factories import Api, grant_leaf


def _stored_leaf(api: Api, index: int) -> bytes:
    from hub.services.ledger import stored_leaf

    return stored_leaf(api.session, index)


def append(api: Api, leaf: bytes, agency: str = "DCFS") -> Any:
    return api.client.post(
        "/v1/ledger/entries", json={"leaf": canonical.b64encode(leaf)}, headers=api.as_(agency)
    )


def test_agency_appends_its_grant_and_proves_it_under_a_checkpoint(api: Api) -> None:
    api.register("DCFS", "DOC")
    leaf = grant_leaf(api)
    response = append(api, leaf)
    assert response.status_code == 201, response.text
    index = response.json()["index"]
    assert index == 2  # after the two registrations
    # A consent statement is checkpointed at once (no wait for the schedule).
    assert api.checkpoint() is None
    note = api.client.get("/v1/ledger/checkpoint", headers=api.as_("DOC")).json()["note"]
    checkpoint = open_checkpoint(note, api.log.verifier)
    assert checkpoint.size == 3
    proof = api.client.get(
        "/v1/ledger/proofs/inclusion",
        params={"index": index, "tree_size": 3},
        headers=api.as_("DOC"),
    ).json()
    hashes = [canonical.b64decode(p) for p in proof["proof"]]
    verify_inclusion(index, 3, leaf_hash(leaf), hashes, checkpoint.root)
    first = open_checkpoint(note, api.log.verifier)
    append(api, grant_leaf(api))
    later = open_checkpoint(
        api.client.get("/v1/ledger/checkpoint", headers=api.as_("DOC")).json()["note"],
        api.log.verifier,
    )
    consistency = api.client.get(
        "/v1/ledger/proofs/consistency",
        params={"first": first.size, "second": later.size},
        headers=api.as_("DOC"),
    ).json()
    hashes = [canonical.b64decode(p) for p in consistency["proof"]]
    verify_consistency(first.size, later.size, first.root, later.root, hashes)


def test_proofs_for_sizes_the_tree_does_not_have_are_not_found(api: Api) -> None:
    api.register("DCFS")
    response = api.client.get(
        "/v1/ledger/proofs/inclusion", params={"index": 0, "tree_size": 5}, headers=api.as_("DCFS")
    )
    assert response.status_code == 404


def test_an_agency_cannot_append_another_agencys_statement(api: Api) -> None:
    api.register("DCFS", "DOC")
    assert append(api, grant_leaf(api), agency="DOC").status_code == 403


def test_invalid_and_rejected_entries(api: Api) -> None:
    api.register("DCFS", "DOC")
    assert append(api, b"not a leaf").status_code == 422
    rejected = append(
        api,
        grant_leaf(api, disclosing_program="corrections", recipient_programs=["child_welfare"]),
    )
    assert rejected.status_code == 409
    assert "not a program of agency DCFS" in rejected.json()["detail"]


def test_a_replayed_entry_is_refused(api: Api) -> None:
    api.register("DCFS", "DOC")
    leaf = grant_leaf(api)
    assert append(api, leaf).status_code == 201
    again = append(api, leaf)
    assert again.status_code == 409
    assert "consent_id was already used" in again.json()["detail"]


def test_entries_are_for_auditors_and_agency_nodes_not_operators(api: Api) -> None:
    api.register("DCFS")
    assert api.client.get("/v1/ledger/entries", headers=api.operator()).status_code == 403
    for headers in (api.operator(Role.AUDITOR), api.as_("DCFS")):
        response = api.client.get("/v1/ledger/entries", params={"start": 0}, headers=headers)
        assert response.status_code == 200
        assert len(response.json()) == 1
    case_manager = api.as_("DCFS", "cm-1", Role.CASE_MANAGER)
    assert api.client.get("/v1/ledger/entries", headers=case_manager).status_code == 403


def test_an_agency_reads_only_the_entries_it_is_a_party_to(api: Api) -> None:
    api.register("DCFS", "DOC", "DJJ")
    index = append(api, grant_leaf(api)).json()["index"]  # DCFS -> corrections (DOC)

    def read(headers: dict[str, str]) -> dict[str, Any]:
        page = api.client.get("/v1/ledger/entries", params={"start": index}, headers=headers)
        assert page.status_code == 200, page.text
        return dict(page.json()[0])

    assert read(api.as_("DCFS"))["leaf"] is not None
    assert read(api.as_("DOC"))["leaf"] is not None
    assert read(api.operator(Role.AUDITOR))["leaf"] is not None
    withheld = read(api.as_("DJJ"))
    assert withheld["leaf"] is None
    assert withheld["withheld"]["type"] == "GRANT"
    note = open_withheld(withheld["withheld"], api.log.verifier)  # the hub's signature holds
    assert note.leaf_hash == leaf_hash(_stored_leaf(api, index))


def test_an_agency_witness_cosigns_a_checkpoint_and_the_hub_serves_it(api: Api) -> None:
    api.register("DCFS", "DOC")
    assert api.checkpoint() is not None
    served = api.client.get("/v1/ledger/checkpoint", headers=api.as_("DOC")).json()
    assert served["cosigned_by"] == []
    checkpoint = open_checkpoint(served["note"], api.log.verifier)
    dcfs = api.identities["DCFS"]
    public = dcfs.signing_key.public_key()
    line = cosign(checkpoint, witness_name("DCFS"), public, dcfs).line
    path = f"/v1/ledger/checkpoints/{checkpoint.size}/cosignatures"
    # Only DCFS's own witness may hand in DCFS's line.
    wrong = api.client.post(path, json={"cosignature": line}, headers=api.as_("DOC"))
    assert wrong.status_code == 422
    done = api.client.post(path, json={"cosignature": line}, headers=api.as_("DCFS"))
    assert done.status_code == 200, done.text
    served = api.client.get("/v1/ledger/checkpoint", headers=api.as_("DOC")).json()
    assert served["cosigned_by"] == ["DCFS"]
    assert set(cosigners(served["note"], checkpoint, {witness_name("DCFS"): public})) == {
        "pprl-witness/DCFS"
    }
    assert open_checkpoint(served["note"], api.log.verifier) == checkpoint
    missing = api.client.get("/v1/ledger/checkpoints/999", headers=api.as_("DOC"))
    assert missing.status_code == 404
