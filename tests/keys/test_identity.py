from __future__ import annotations

import stat
from pathlib import Path

import pytest

from keys import AgencyIdentity, AgencyPublicKeys, KeyFileError, MalformedDocument

PASSPHRASE = "correct horse battery staple"


def test_saved_private_keys_are_owner_only_and_round_trip(tmp_path: Path) -> None:
    identity = AgencyIdentity.create("DCFS", ("child_welfare",))
    identity.save(tmp_path / "DCFS")
    for name in ("signing-key.pem", "sealing-key.pem"):
        mode = stat.S_IMODE((tmp_path / "DCFS" / name).stat().st_mode)
        assert mode == 0o600
    assert stat.S_IMODE((tmp_path / "DCFS").stat().st_mode) == 0o700
    loaded = AgencyIdentity.load(tmp_path / "DCFS")
    assert loaded.public_keys() == identity.public_keys()
    assert loaded.sign(b"x") == identity.sign(b"x")  # Ed25519 is deterministic


def test_passphrase_protected_key_needs_the_passphrase(tmp_path: Path) -> None:
    identity = AgencyIdentity.create("DCFS", ("child_welfare",))
    identity.save(tmp_path / "k", passphrase=PASSPHRASE)
    pem = (tmp_path / "k" / "signing-key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(KeyFileError, match="passphrase-protected"):
        AgencyIdentity.load(tmp_path / "k")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        AgencyIdentity.load(tmp_path / "k", passphrase="not the passphrase at all")
    assert AgencyIdentity.load(tmp_path / "k", passphrase=PASSPHRASE).signing_key_id == (
        identity.signing_key_id
    )


def test_short_passphrase_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    identity = AgencyIdentity.create("DCFS", ("child_welfare",))
    with pytest.raises(KeyFileError, match="shorter than 12"):
        identity.save(tmp_path / "k", passphrase="short")
    assert not (tmp_path / "k").exists() or not any((tmp_path / "k").iterdir())


def test_existing_identity_is_never_overwritten(tmp_path: Path) -> None:
    first = AgencyIdentity.create("DCFS", ("child_welfare",))
    first.save(tmp_path / "k")
    with pytest.raises(KeyFileError, match="already exists"):
        AgencyIdentity.create("DCFS", ("child_welfare",)).save(tmp_path / "k")
    assert AgencyIdentity.load(tmp_path / "k").signing_key_id == first.signing_key_id


def test_group_readable_private_key_is_refused(tmp_path: Path) -> None:
    AgencyIdentity.create("DCFS", ("child_welfare",)).save(tmp_path / "k")
    (tmp_path / "k" / "signing-key.pem").chmod(0o640)
    with pytest.raises(KeyFileError, match="readable by other users") as info:
        AgencyIdentity.load(tmp_path / "k")
    assert "chmod 600" in info.value.advice()


def test_mixed_key_directory_is_detected(tmp_path: Path) -> None:
    AgencyIdentity.create("DCFS", ("child_welfare",)).save(tmp_path / "a")
    AgencyIdentity.create("DCFS", ("child_welfare",)).save(tmp_path / "b")
    (tmp_path / "a" / "sealing-key.pem").write_bytes(
        (tmp_path / "b" / "sealing-key.pem").read_bytes()
    )
    with pytest.raises(KeyFileError, match="do not belong"):
        AgencyIdentity.load(tmp_path / "a")


def test_key_ids_are_fingerprints_of_the_public_keys() -> None:
    a = AgencyIdentity.create("DCFS", ("child_welfare",))
    b = AgencyIdentity.create("DCFS", ("child_welfare",))
    assert a.signing_key_id.startswith("ed25519:")
    assert a.sealing_key_id.startswith("x25519:")
    assert a.signing_key_id != b.signing_key_id
    assert AgencyPublicKeys.from_json(a.public_keys().to_json()) == a.public_keys()


@pytest.mark.parametrize(
    ("agency", "programs"),
    [("", ("p",)), ("DC FS", ("p",)), ("DCFS", ()), ("DCFS", ("a", "a")), ("x" * 65, ("p",))],
)
def test_bad_agency_or_program_ids_are_refused(agency: str, programs: tuple[str, ...]) -> None:
    with pytest.raises(MalformedDocument):
        AgencyIdentity.create(agency, programs)


def test_public_document_with_mismatched_fingerprint_is_refused() -> None:
    doc = AgencyIdentity.create("DCFS", ("child_welfare",)).public_keys()
    other = AgencyIdentity.create("DCFS", ("child_welfare",)).public_keys()
    forged = doc.model_copy(update={"signing_public_key": other.signing_public_key})
    with pytest.raises(MalformedDocument, match="does not match"):
        AgencyPublicKeys.from_json(forged.to_json())


def test_public_document_with_duplicate_keys_is_refused() -> None:
    doc = AgencyIdentity.create("DCFS", ("child_welfare",)).public_keys().to_json()
    duplicated = doc.replace(b'"agency_id":"DCFS"', b'"agency_id":"DCFS","agency_id":"DOC"')
    with pytest.raises(MalformedDocument, match="duplicate key"):
        AgencyPublicKeys.from_json(duplicated)
