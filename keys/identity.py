"""Agency identities: an Ed25519 signing key and an X25519 sealing key on disk.

An identity directory holds three files:

- `signing-key.pem`: Ed25519 private key, PKCS#8 PEM, mode 0600, optionally encrypted
  with a passphrase (PBES2, as OpenSSL reads it);
- `sealing-key.pem`: X25519 private key, same format;
- `agency.json`: the public half (`AgencyPublicKeys`), the file an agency hands the hub
  operator to be registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from keys import canonical
from keys._internal.fingerprint import key_id
from keys._internal.names import is_identifier
from keys.errors import KeyFileError, MalformedDocument
from keys.files import too_open, write_private, write_public

SIGNING_KIND = "ed25519"
SEALING_KIND = "x25519"

SIGNING_KEY_FILE = "signing-key.pem"
SEALING_KEY_FILE = "sealing-key.pem"
PUBLIC_FILE = "agency.json"

MIN_PASSPHRASE_CHARS = 12


def _raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class AgencyPublicKeys(BaseModel):
    """The public half of an agency identity, as handed to the hub operator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = "pprl.agency-public-keys.v1"
    agency_id: str
    programs: tuple[str, ...]
    signing_key_id: str
    signing_public_key: str
    sealing_key_id: str
    sealing_public_key: str
    created_at: str

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value != "pprl.agency-public-keys.v1":
            raise ValueError("not an agency public-key document")
        return value

    @field_validator("agency_id")
    @classmethod
    def _agency(cls, value: str) -> str:
        if not is_identifier(value):
            raise ValueError("agency id must be 1-64 letters, digits, '_', '.', '-'")
        return value

    @field_validator("programs")
    @classmethod
    def _programs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or not all(is_identifier(p) for p in value):
            raise ValueError("programs must be 1 or more identifiers")
        if len(set(value)) != len(value):
            raise ValueError("programs must not repeat")
        return tuple(sorted(value))

    def to_json(self) -> bytes:
        """Canonical JSON bytes of this document."""
        return canonical.canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes, where: str = "agency public keys") -> AgencyPublicKeys:
        """Parse and check a public-key document (fingerprints must match the keys)."""
        try:
            doc = cls.model_validate(_strict_object(data, where))
        except ValidationError as exc:
            raise MalformedDocument(_first_error(exc), where) from None
        for kind, kid, pub in (
            (SIGNING_KIND, doc.signing_key_id, doc.signing_public_key),
            (SEALING_KIND, doc.sealing_key_id, doc.sealing_public_key),
        ):
            try:
                raw = canonical.b64decode(pub)
            except canonical.EncodingError as exc:
                raise MalformedDocument(f"{kind} public key: {exc}", where) from None
            if len(raw) != 32 or key_id(kind, raw) != kid:
                raise MalformedDocument(f"{kind} key id does not match its key", where)
        return doc


def _strict_object(data: bytes, where: str) -> dict[str, object]:
    try:
        value = canonical.strict_json_loads(data)
    except canonical.EncodingError as exc:
        raise MalformedDocument(str(exc), where) from None
    if not isinstance(value, dict):
        raise MalformedDocument("expected a JSON object", where)
    return value


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "document"
    return f"field {loc}: {err['msg']}"


@dataclass(frozen=True)
class AgencyIdentity:
    """An agency's private keys. Never serialised except to its own key directory."""

    agency_id: str
    programs: tuple[str, ...]
    signing_key: Ed25519PrivateKey = field(repr=False)
    sealing_key: X25519PrivateKey = field(repr=False)
    created_at: datetime

    @classmethod
    def create(
        cls, agency_id: str, programs: tuple[str, ...], *, now: datetime | None = None
    ) -> AgencyIdentity:
        """Make fresh keys for an agency."""
        created = (now or datetime.now(UTC)).replace(microsecond=0)
        identity = cls(
            agency_id=agency_id,
            programs=tuple(sorted(programs)),
            signing_key=Ed25519PrivateKey.generate(),
            sealing_key=X25519PrivateKey.generate(),
            created_at=created,
        )
        identity.public_keys()  # validates the ids and programs
        return identity

    @property
    def signing_key_id(self) -> str:
        """Fingerprint of the Ed25519 public key."""
        return key_id(SIGNING_KIND, _raw_public(self.signing_key))

    @property
    def sealing_key_id(self) -> str:
        """Fingerprint of the X25519 public key."""
        return key_id(SEALING_KIND, _raw_public(self.sealing_key))

    def public_keys(self) -> AgencyPublicKeys:
        """The public document for registration."""
        try:
            return AgencyPublicKeys(
                agency_id=self.agency_id,
                programs=self.programs,
                signing_key_id=self.signing_key_id,
                signing_public_key=canonical.b64encode(_raw_public(self.signing_key)),
                sealing_key_id=self.sealing_key_id,
                sealing_public_key=canonical.b64encode(_raw_public(self.sealing_key)),
                created_at=self.created_at.isoformat().replace("+00:00", "Z"),
            )
        except ValidationError as exc:
            raise MalformedDocument(_first_error(exc), "agency identity") from None

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature over `message` (callers pass canonical bytes)."""
        return self.signing_key.sign(message)

    def save(self, directory: Path, *, passphrase: str | None = None) -> None:
        """Write the identity into `directory` (created 0700); never overwrites a key."""
        if passphrase is not None and len(passphrase) < MIN_PASSPHRASE_CHARS:
            raise KeyFileError(
                str(directory),
                f"passphrase shorter than {MIN_PASSPHRASE_CHARS} characters",
                "Choose a longer passphrase (a few random words).",
            )
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        targets = [directory / n for n in (SIGNING_KEY_FILE, SEALING_KEY_FILE, PUBLIC_FILE)]
        existing = [t for t in targets if t.exists()]
        if existing:
            raise KeyFileError(
                str(existing[0]),
                "already exists",
                "An identity is already stored there; choose another --out directory. "
                "Keys are never overwritten, because a lost key cannot be recovered.",
            )
        algo: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
            if passphrase is not None
            else serialization.NoEncryption()
        )
        for path, key in ((targets[0], self.signing_key), (targets[1], self.sealing_key)):
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algo
            )
            write_private(path, pem)
        write_public(targets[2], self.public_keys().to_json() + b"\n")

    @classmethod
    def load(cls, directory: Path, *, passphrase: str | None = None) -> AgencyIdentity:
        """Read an identity written by `save`, checking file modes and consistency."""
        public_path = directory / PUBLIC_FILE
        public = AgencyPublicKeys.from_json(_read(public_path), str(public_path))
        signing = _load_private(directory / SIGNING_KEY_FILE, passphrase)
        sealing = _load_private(directory / SEALING_KEY_FILE, passphrase)
        if not isinstance(signing, Ed25519PrivateKey):
            raise _wrong_kind(directory / SIGNING_KEY_FILE)
        if not isinstance(sealing, X25519PrivateKey):
            raise _wrong_kind(directory / SEALING_KEY_FILE)
        identity = cls(
            agency_id=public.agency_id,
            programs=public.programs,
            signing_key=signing,
            sealing_key=sealing,
            created_at=datetime.fromisoformat(public.created_at),
        )
        if (
            identity.signing_key_id != public.signing_key_id
            or identity.sealing_key_id != public.sealing_key_id
        ):
            raise KeyFileError(
                str(directory),
                "private keys do not belong to the public keys in agency.json",
                "The directory mixes files from two identities; restore it from backup.",
            )
        return identity


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            str(path),
            "not found",
            "Point --key-dir at a directory made by `pprl keys init-agency`.",
            exit_code=2,
        ) from None
    except OSError as exc:
        raise KeyFileError(
            str(path), exc.strerror or "unreadable", "Check permissions.", exit_code=2
        ) from None


def _load_private(path: Path, passphrase: str | None) -> PrivateKeyTypes:
    data = _read(path)
    if too_open(path):
        raise KeyFileError(
            str(path),
            "is readable by other users",
            f"Run `chmod 600 {path}` and consider the key exposed if others could log in.",
        )
    try:
        key = serialization.load_pem_private_key(
            data, password=passphrase.encode("utf-8") if passphrase is not None else None
        )
    except TypeError:
        # cryptography raises TypeError both for "encrypted but no password" and for
        # "password given but not encrypted".
        if passphrase is None:
            raise KeyFileError(
                str(path),
                "is passphrase-protected",
                "Give the passphrase with --passphrase-file, PPRL_KEY_PASSPHRASE or "
                "--passphrase-prompt.",
            ) from None
        raise KeyFileError(
            str(path), "is not encrypted but a passphrase was given", "Omit the passphrase."
        ) from None
    except ValueError:
        raise KeyFileError(
            str(path),
            "cannot be decrypted (wrong passphrase or damaged file)",
            "Check the passphrase; if it is right, restore the key from backup.",
        ) from None
    return key


def _wrong_kind(path: Path) -> KeyFileError:
    return KeyFileError(str(path), "holds the wrong kind of key", "Restore it from backup.")
