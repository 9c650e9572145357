"""Ledger entries: what each statement says, its canonical bytes, and its signature.

An entry is canonical JSON (RFC 8785). The stored leaf is exactly the bytes that were
signed, a newline, and the base64 Ed25519 signature; it is never re-serialised. Canonical
JSON escapes control characters, so the one raw newline in a leaf separates the two.

No entry can carry PII. Every field is a code from a fixed list, a timestamp, a hash, a
pseudonymous record reference (64 hex digits), a UUID, a staff id (letters then digits)
or a program/agency identifier that must be registered. There is no free-text field, so
a name or a date of birth has nowhere to go; the validators below refuse it in every
position, and timestamps must be plausible for the statement, so a birth date typed into
`signed_at` is refused too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from consent.errors import EntryInvalid
from consent.fields import (
    MAX_GRANT_DURATION,
    MAX_RECORDING_DELAY,
    Action,
    ConsentId,
    DataClass,
    FormVersion,
    Identifier,
    KeyId,
    PublicKeyB64,
    Purpose,
    RecipientClass,
    RecipientStaff,
    RecordRef,
    RegulatoryBasis,
    RevokeReason,
    Sha256Hex,
    SignatureB64,
    Signer,
    SignerType,
    StaffId,
    Timestamp,
    parse_timestamp,
)
from keys import canonical


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def _distinct(name: str, values: list[Any], *, required: bool = True) -> None:
    if required and not values:
        raise ValueError(f"{name} must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value")


class GrantTerms(_Model):
    """What a signed consent form allows: who may see which data of whose record."""

    consent_id: ConsentId
    subject: RecordRef
    disclosing_program: Identifier
    recipient_programs: list[Identifier]
    recipient_classes: list[RecipientClass]
    # Absent in older grants, and then the same as `chain_of_command`.
    recipient_staff: RecipientStaff | None = None
    data_classes: list[DataClass]
    purposes: list[Purpose]
    actions: list[Action]
    effective_from: Timestamp
    expires_at: Timestamp
    regulatory_basis: list[RegulatoryBasis]
    form_sha256: Sha256Hex
    signer_type: SignerType
    signed_at: Timestamp
    collected_by: StaffId
    # Which edition of the agency's consent form was signed (absent from older grants).
    form_version: FormVersion | None = None

    @model_validator(mode="after")
    def _grant_rules(self) -> Self:
        """Cross-field rules (pydantic reports them as a validation error)."""
        _distinct("recipient_programs", self.recipient_programs, required=False)
        _distinct("recipient_classes", self.recipient_classes, required=False)
        if not self.recipient_programs and not self.recipient_classes:
            raise ValueError("name at least one recipient program or class")
        if self.disclosing_program in self.recipient_programs:
            raise ValueError("a program cannot be its own recipient")
        for name in ("data_classes", "purposes", "actions", "regulatory_basis"):
            _distinct(name, getattr(self, name))
        start, end = parse_timestamp(self.effective_from), parse_timestamp(self.expires_at)
        if end <= start:
            raise ValueError("expires_at must be after effective_from")
        if end - start > MAX_GRANT_DURATION:
            raise ValueError("consent may last at most five years")
        if start < parse_timestamp(self.signed_at):
            raise ValueError("effective_from must not be before the form was signed")
        return self

    @property
    def effective(self) -> tuple[datetime, datetime]:
        """[effective_from, expires_at) as datetimes; the expiry instant is excluded."""
        return parse_timestamp(self.effective_from), parse_timestamp(self.expires_at)


class EntryRef(_Model):
    """A pointer to an earlier entry, by index and leaf hash (both must match)."""

    index: Annotated[int, Field(ge=0)]
    leaf_hash: Sha256Hex


class PublicKey(_Model):
    """A public key as a KEY statement carries it."""

    key_id: KeyId
    kind: Literal["ed25519", "x25519"]
    public_key: PublicKeyB64


class _Entry(_Model):
    v: Literal[1]
    signer: Signer
    key_id: KeyId
    made_at: Timestamp

    @property
    def made(self) -> datetime:
        """When the signer says it made the statement."""
        return parse_timestamp(self.made_at)


class _GrantEntry(_Entry):
    grant: GrantTerms

    @model_validator(mode="after")
    def _recording_rules(self) -> Self:
        """Timestamps of the form must be plausible for when it was recorded."""
        signed = parse_timestamp(self.grant.signed_at)
        if signed > self.made:
            raise ValueError("the form cannot be signed after the statement was made")
        if self.made - signed > MAX_RECORDING_DELAY:
            raise ValueError("the form was signed more than a year before it was recorded")
        if parse_timestamp(self.grant.effective_from) > self.made + MAX_RECORDING_DELAY:
            raise ValueError("effective_from is more than a year after the statement")
        return self


class Grant(_GrantEntry):
    """GRANT: an agency records a client's consent to disclose its own record."""

    type: Literal["GRANT"]


class Supersede(_GrantEntry):
    """SUPERSEDE: a new consent form replaces an earlier grant of the same agency."""

    type: Literal["SUPERSEDE"]
    replaces: EntryRef


class Revoke(_Entry):
    """REVOKE: the grant stops counting from this entry's index on."""

    type: Literal["REVOKE"]
    revokes: EntryRef
    consent_id: ConsentId
    reason: RevokeReason


BasisPoints = Annotated[int, Field(ge=0, le=10_000)]


class LinkEvidence(_Model):
    """Why the hub believed the two records are one person: the linkage run that linked
    them, its threshold, the weakest link score on the way (in basis points: 9312 is a
    Dice score of 0.9312), and whether both agencies' stewards confirmed it in review."""

    run_id: Annotated[int, Field(ge=1)]
    threshold_bp: BasisPoints
    score_bp: BasisPoints
    confirmed_in_review: bool


class LookupEvidence(_Model):
    """Why the hub believed an intake worker's typed identifiers are the client of another
    program: the Dice score of the intake encoding against that client's stored one."""

    score_bp: BasisPoints


class Policy(_Entry):
    """POLICY: the disclosure floor every agency can see (signed by the hub).

    No link scoring under `disclosure_floor_bp` is disclosed unless both agencies'
    stewards confirmed it in review, whatever threshold a linkage run used; no run links
    at a threshold whose estimated precision is under `min_precision_bp`. A change of
    either is a new POLICY entry.
    """

    type: Literal["POLICY"]
    disclosure_floor_bp: Annotated[int, Field(ge=6000, le=9900)]
    min_precision_bp: Annotated[int, Field(ge=8000, le=10_000)]


class AccessStatement(_Model):
    """What an ACCESS entry states, before the hub signs it: the hub disclosed data.

    `basis` is `consent` (and `grant` names the grant relied on) or `agreement`: only
    existence, disclosed under the inter-agency agreement where policy allows it.

    `purpose` is absent for a question about one of the requester's own records
    (`requester_record`, and the `link` that tied the two records); `supervision` for
    the same question asked by a supervisor about a client of someone in their chain of
    command (the business need the disclosure served); `family` for a question about a
    family member of the requester's client (`requester_record` is the member's record
    at the requester's agency, listed in the client's household); or `intake`: a
    question asked with typed identifiers before the person is on any roster, which names
    no requester record, only the `lookup` score, and discloses existence only.
    """

    type: Literal["ACCESS"] = "ACCESS"
    access_id: ConsentId | None = None  # random: no two disclosures share a leaf
    basis: Literal["consent", "agreement"]
    grant: EntryRef | None = None
    disclosing_program: Identifier
    subject: RecordRef
    requester_program: Identifier
    requester_staff: StaffId
    requester_record: RecordRef | None = None
    data_classes: list[DataClass]
    checkpoint_size: Annotated[int, Field(ge=1)]
    link: LinkEvidence | None = None
    purpose: Literal["intake", "supervision", "family"] | None = None
    lookup: LookupEvidence | None = None

    @model_validator(mode="after")
    def _access_rules(self) -> Self:
        """At least one data class, none twice."""
        _distinct("data_classes", self.data_classes)
        if (self.basis == "consent") != (self.grant is not None):
            raise ValueError("a consent-based disclosure names its grant; no other does")
        if self.basis == "agreement" and self.data_classes != ["existence"]:
            raise ValueError("the agreement alone covers existence only")
        if self.purpose == "intake":
            if self.requester_record is not None or self.link is not None:
                raise ValueError("an intake question names no requester record and no link")
            if self.lookup is None:
                raise ValueError("an intake question names the score it relied on (lookup)")
            if self.data_classes != ["existence"]:
                raise ValueError("an intake question discloses existence only")
        elif self.requester_record is None or self.lookup is not None:
            raise ValueError("a question about a record names that record, and no lookup")
        return self

    def fields(self) -> dict[str, Any]:
        """The statement as the fields the hub signs (`HubLedger.append_hub_entry`)."""
        return self.model_dump(mode="json", exclude_none=True)


class Access(_Entry, AccessStatement):
    """ACCESS: the hub disclosed data (signed by the hub); see `AccessStatement`."""

    type: Literal["ACCESS"]


class KeyApproval(_Model):
    """An agency's request for new keys, signed with a key it already holds."""

    key_id: KeyId
    requested_at: Timestamp
    signature: SignatureB64


def key_request_message(agency_id: str, keys: list[dict[str, Any]], requested_at: str) -> bytes:
    """The bytes an agency signs to ask for `keys` (`PublicKey` fields) to be added.

    A fixed first line keeps these bytes apart from anything else the agency key signs
    (ledger entries are canonical JSON, tokens base64url, cosignatures their own header).
    """
    body = {"agency_id": agency_id, "keys": keys, "requested_at": requested_at}
    return b"pprl-key-request/v1\n" + canonical.canonical_json(body)


class KeyStatement(_Entry):
    """KEY: an agency is registered, gains a key, loses one, or is re-keyed after losing
    every key.

    Only the hub records `add_key` (the operator's approval), and only with the agency's
    own approval signed by a key it still holds, so a stolen key alone cannot add one.
    `recover_agency` is the operator's incident path for an agency whose every signing
    key was revoked; it names the incident and is public like every KEY entry.
    """

    type: Literal["KEY"]
    action: Literal["register_agency", "add_key", "revoke_key", "recover_agency"]
    agency_id: Identifier
    programs: list[Identifier] | None = None
    keys: list[PublicKey] | None = None
    approval: KeyApproval | None = None
    incident: Identifier | None = None
    revoked_key_id: KeyId | None = None
    compromised_since: Timestamp | None = None

    @model_validator(mode="after")
    def _action_fields(self) -> Self:
        """Each action carries exactly its own fields."""
        wanted = {
            "register_agency": {"programs", "keys"},
            "add_key": {"keys", "approval"},
            "revoke_key": {"revoked_key_id"},
            "recover_agency": {"keys", "incident"},
        }[self.action]
        optional = {"compromised_since"} if self.action == "revoke_key" else set()
        names = ("programs", "keys", "approval", "incident", "revoked_key_id", "compromised_since")
        present = {n for n in names if getattr(self, n) is not None}
        if not wanted <= present or present - wanted - optional:
            raise ValueError(f"{self.action} carries exactly {', '.join(sorted(wanted))}")
        if self.programs is not None:
            _distinct("programs", self.programs)
        if self.keys is not None:
            _distinct("keys", [k.key_id for k in self.keys])
        if (
            self.compromised_since is not None
            and parse_timestamp(self.compromised_since) > self.made
        ):
            raise ValueError("compromised_since must not be after the statement")
        if self.approval is not None and parse_timestamp(self.approval.requested_at) > self.made:
            raise ValueError("the agency cannot approve after the statement was made")
        return self


AnyEntry = Grant | Supersede | Revoke | Access | KeyStatement | Policy
Entry = Annotated[AnyEntry, Field(discriminator="type")]
_ENTRY = TypeAdapter[AnyEntry](Entry)


def validate_entry(data: dict[str, Any]) -> AnyEntry:
    """Build an entry from plain data, raising EntryInvalid naming the first bad field."""
    try:
        return _ENTRY.validate_python(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> EntryInvalid:
    err = exc.errors(include_input=False, include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p.isupper()))
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        message = "is required"
    return EntryInvalid(loc or "entry", message)
