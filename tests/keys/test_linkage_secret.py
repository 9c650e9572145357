from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from keys import (
    AgencyIdentity,
    KeyFileError,
    KeysError,
    LinkageSecret,
    MalformedDocument,
    SignatureInvalid,
    UnsealFailed,
    WeakSecret,
    canonical,
    new_linkage_secret,
    seal_linkage_secret,
    unseal_linkage_secret,
)
from keys.linkage_secret import _SUITE, _info
from tests.factories import T0, agencies


def _resign(doc: dict[str, object], creator: AgencyIdentity) -> bytes:
    body = {k: v for k, v in doc.items() if k != "signature"}
    signature = creator.sign(canonical.canonical_json(body))
    return canonical.canonical_json({**body, "signature": canonical.b64encode(signature)})


def test_every_recipient_opens_the_same_secret() -> None:
    ids, registry = agencies()
    secret = new_linkage_secret("2026-11")
    bundle = seal_linkage_secret(secret, ids["DCFS"], registry, list(ids), now=T0)
    for identity in ids.values():
        assert unseal_linkage_secret(bundle, identity, registry) == secret


def test_no_copy_opens_with_another_agency_key() -> None:
    ids, registry = agencies()
    secret = new_linkage_secret("2026-11")
    doc = json.loads(seal_linkage_secret(secret, ids["DCFS"], registry, list(ids), now=T0))
    for copy in doc["copies"]:
        sealed = canonical.b64decode(copy["sealed"])
        for other, identity in ids.items():
            if other == copy["agency_id"]:
                continue
            # Under the recipient's own context string, and under the other agency's.
            for recipient in (copy["agency_id"], other):
                info = _info("2026-11", "DCFS", recipient, copy["key_id"])
                with pytest.raises(InvalidTag):
                    _SUITE.decrypt(sealed, identity.sealing_key, info=info)


def test_agency_left_out_of_the_bundle_cannot_open_it() -> None:
    ids, registry = agencies()
    bundle = seal_linkage_secret(
        new_linkage_secret("2026-11"), ids["DCFS"], registry, ["DCFS", "DJJ"], now=T0
    )
    with pytest.raises(UnsealFailed, match="no copy for agency DOC"):
        unseal_linkage_secret(bundle, ids["DOC"], registry)


def test_a_new_unregistered_key_of_the_same_agency_cannot_open_it() -> None:
    ids, registry = agencies()
    bundle = seal_linkage_secret(new_linkage_secret("e1"), ids["DCFS"], registry, list(ids), now=T0)
    impostor = AgencyIdentity.create("DJJ", ("juvenile_justice",))
    with pytest.raises(UnsealFailed, match="not to this identity's key"):
        unseal_linkage_secret(bundle, impostor, registry)


def test_any_flipped_bit_of_the_sealed_bundle_is_detected() -> None:
    ids, registry = agencies("DCFS", "DOC")
    bundle = seal_linkage_secret(new_linkage_secret("e1"), ids["DCFS"], registry, ["DOC"], now=T0)
    for position in range(len(bundle)):
        for bit in range(8):
            damaged = bytearray(bundle)
            damaged[position] ^= 1 << bit
            with pytest.raises(KeysError):
                unseal_linkage_secret(bytes(damaged), ids["DOC"], registry)


def test_flipped_ciphertext_is_detected_even_when_the_bundle_is_re_signed() -> None:
    ids, registry = agencies("DCFS", "DOC")
    doc = json.loads(
        seal_linkage_secret(new_linkage_secret("e1"), ids["DCFS"], registry, ["DOC"], now=T0)
    )
    sealed = canonical.b64decode(doc["copies"][0]["sealed"])
    for position in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x80
        doc["copies"][0]["sealed"] = canonical.b64encode(bytes(damaged))
        with pytest.raises(UnsealFailed, match="does not open"):
            unseal_linkage_secret(_resign(doc, ids["DCFS"]), ids["DOC"], registry)


def test_copy_cannot_be_replayed_under_another_epoch() -> None:
    ids, registry = agencies("DCFS", "DOC")
    doc = json.loads(
        seal_linkage_secret(new_linkage_secret("e1"), ids["DCFS"], registry, ["DOC"], now=T0)
    )
    doc["epoch"] = "e2"
    with pytest.raises(UnsealFailed):
        unseal_linkage_secret(_resign(doc, ids["DCFS"]), ids["DOC"], registry)


def test_secret_sealed_by_someone_outside_the_registry_is_refused() -> None:
    # The hub knows every public key and could seal a secret of its own choosing; only
    # the creator's registered signature tells the recipient who made it.
    ids, registry = agencies("DCFS", "DOC")
    hub_forgery = AgencyIdentity.create("DCFS", ("child_welfare",))
    bundle = seal_linkage_secret(new_linkage_secret("e1"), hub_forgery, registry, ["DOC"], now=T0)
    with pytest.raises(SignatureInvalid):
        unseal_linkage_secret(bundle, ids["DOC"], registry)


def test_secret_sealed_after_the_creator_key_was_revoked_is_refused() -> None:
    ids, registry = agencies("DCFS", "DOC")
    registry.revoke("DCFS", ids["DCFS"].signing_key_id, T0)
    bundle = seal_linkage_secret(new_linkage_secret("e1"), ids["DCFS"], registry, ["DOC"], now=T0)
    with pytest.raises(SignatureInvalid, match="revoked"):
        unseal_linkage_secret(bundle, ids["DOC"], registry)


@pytest.mark.parametrize("nbytes", [0, 1, 8, 15])
def test_secrets_under_128_bits_are_refused(nbytes: int) -> None:
    with pytest.raises(WeakSecret, match="at least 128"):
        LinkageSecret(epoch="e1", secret=b"\x01" * nbytes)


def test_short_secret_in_a_file_is_refused(tmp_path: Path) -> None:
    doc = {"type": "pprl.linkage-secret.v1", "epoch": "e1", "secret": canonical.b64encode(b"k" * 8)}
    (tmp_path / "s.json").write_bytes(json.dumps(doc).encode())
    (tmp_path / "s.json").chmod(0o600)
    with pytest.raises(WeakSecret):
        LinkageSecret.load(tmp_path / "s.json")


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "linkage-secret.json"
    new_linkage_secret("e1").save(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by other users"):
        LinkageSecret.load(path)
    path.chmod(0o600)
    assert LinkageSecret.load(path).epoch == "e1"


def test_new_secret_defaults_to_256_random_bits_and_never_prints() -> None:
    a, b = new_linkage_secret("e1"), new_linkage_secret("e1")
    assert len(a.secret) == 32
    assert a.secret != b.secret
    assert a.secret.hex() not in repr(a)
    assert "secret=" not in repr(a)
    with pytest.raises(WeakSecret):
        new_linkage_secret("e1", bits=64)


def test_saved_secret_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    secret = new_linkage_secret("e1")
    secret.save(tmp_path / "s.json")
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o600
    assert LinkageSecret.load(tmp_path / "s.json") == secret


@pytest.mark.parametrize("epoch", ["", "has space", "x" * 65, "../etc"])
def test_bad_epoch_ids_are_refused(epoch: str) -> None:
    with pytest.raises(MalformedDocument, match="epoch"):
        LinkageSecret(epoch=epoch, secret=b"\x00" * 32)
