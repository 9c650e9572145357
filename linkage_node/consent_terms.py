"""A signed consent form and the grant it makes: its terms, its consent id and the short
grant id stewards quote. Pure functions: no hub, no state.

A grant's `consent_id` is derived from the form's terms under the node's record-reference
key, so recording the same form twice (a retried command, an import run again) makes the
same grant, which the ledger already holds. Its `grant_id` (`G-XXXXX-XXXXX`) is a short,
stable name computed from the consent id alone, so every copy of the node (and a
restored one) calls a grant by the same name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from consent import GrantTerms, format_timestamp
from keys import canonical
from linkage_node.errors import NodeError
from linkage_node.refs import RefKey

SIGNERS = {
    "client": "client",
    "guardian": "parent_or_guardian",
    "representative": "legal_representative",
    "court": "court",
}
DATA_CLASSES = ("existence", "contact", "plan")
RECIPIENT_CLASSES = {"any": "any_linked_program", "any_linked_program": "any_linked_program"}
# Who at each recipient program may see it (`--seen-by`): the client's case manager and
# the supervisors above them (the default), or the case manager alone.
SEEN_BY = {"chain": "chain_of_command", "case_manager": "assigned_case_manager"}
DEFAULT_DURATION = timedelta(days=365)
_GRANT_ID = re.compile(r"G-?([0-9A-HJKMNP-TV-Z]{5})-?([0-9A-HJKMNP-TV-Z]{5})", re.IGNORECASE)
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "ABCDEFGHJKMNPQRSTVWXYZ0123456789")


class ConsentFormInvalid(NodeError):
    """A consent form's fields cannot make a grant (exit 3): names the field and rule."""

    exit_code = 3

    def __init__(self, field: str, what: str, fix: str = "") -> None:
        super().__init__(f"{field}: {what}", fix or "Correct the form's field and record it again.")
        self.field = field
        self.what = what


@dataclass(frozen=True)
class ConsentTemplate:
    """A deployment's universal consent form: which programs and kinds of information one
    signing covers, its edition, term, purposes and legal basis. The node's pages offer
    it pre-ticked; one signing is one grant naming every program ticked."""

    form_version: str | None = None
    recipients: tuple[str, ...] = ()
    data_classes: tuple[str, ...] = DATA_CLASSES
    duration_days: int | None = None
    purposes: tuple[str, ...] = ("care_coordination",)
    basis: tuple[str, ...] = ("state_statute",)

    @classmethod
    def load(cls, path: Path | None) -> ConsentTemplate:
        """The template in a JSON file (`PPRL_NODE_CONSENT_FORM_FILE`), or the default."""
        if path is None:
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NodeError(
                f"cannot read the consent form template {path} ({type(exc).__name__})",
                'Give a JSON file such as {"form_version": "universal-2026.1", '
                '"recipients": ["child_welfare"], "data_classes": ["existence", '
                '"contact", "plan"], "duration_days": 365}.',
                exit_code=2,
            ) from None
        if not isinstance(raw, dict) or set(raw) - _TEMPLATE_KEYS:
            raise NodeError(
                f"{path}: the template takes only {', '.join(sorted(_TEMPLATE_KEYS))}",
                "Remove the other keys.",
                exit_code=2,
            )
        try:
            template = cls(
                form_version=raw.get("form_version"),
                recipients=tuple(raw.get("recipients", ())),
                data_classes=tuple(raw.get("data_classes", DATA_CLASSES)),
                duration_days=raw.get("duration_days"),
                purposes=tuple(raw.get("purposes", ("care_coordination",))),
                basis=tuple(raw.get("basis", ("state_statute",))),
            )
        except TypeError:
            raise NodeError(
                f"{path}: a list is expected", "Check the template.", exit_code=2
            ) from None
        if any(c not in DATA_CLASSES for c in template.data_classes) or not (
            template.duration_days is None or 1 <= int(template.duration_days) <= 5 * 365
        ):
            raise NodeError(
                f"{path}: data_classes are existence, contact, plan and duration_days 1 to 1825",
                "Check the template.",
                exit_code=2,
            )
        return template


_TEMPLATE_KEYS = {
    "form_version",
    "recipients",
    "data_classes",
    "duration_days",
    "purposes",
    "basis",
}


@dataclass(frozen=True)
class ConsentForm:
    """One signed consent form, as a steward or case manager records it."""

    record_id: str
    recipients: tuple[str, ...]
    data_classes: tuple[str, ...]
    signed_on: date
    form_sha256: str
    collected_by: str
    expires_on: date | None = None
    signer: str = "client"
    form_version: str | None = None
    purposes: tuple[str, ...] = ("care_coordination",)
    basis: tuple[str, ...] = ("state_statute",)
    program: str | None = None
    seen_by: str | None = None  # a key of SEEN_BY; None: not said (the chain)


def grant_id(consent_id: str) -> str:
    """A grant's short name for people: 50 bits of its consent id in Crockford base32."""
    digest = hashlib.sha256(consent_id.encode("ascii")).digest()
    text = base64.b32encode(digest[:10]).decode("ascii").translate(_CROCKFORD)[:10]
    return f"G-{text[:5]}-{text[5:]}"


def canonical_grant_id(text: str) -> str | None:
    """`text` as a grant id (case and dashes forgiven, I/L/O read as 1/1/0), or None."""
    cleaned = text.strip().upper().translate(str.maketrans("ILO", "110"))
    found = _GRANT_ID.fullmatch(cleaned)
    return None if found is None else f"G-{found[1]}-{found[2]}"


def consent_terms(
    form: ConsentForm, *, ref: str, disclosing_program: str, key: RefKey
) -> GrantTerms:
    """The grant's terms for `form`, its consent id derived from them."""
    start = datetime.combine(form.signed_on, time(0), tzinfo=UTC)
    end = (
        datetime.combine(form.expires_on, time(0), tzinfo=UTC)
        if form.expires_on
        else start + DEFAULT_DURATION
    )
    recipients = [RECIPIENT_CLASSES.get(r, r) for r in form.recipients]
    terms: dict[str, object] = {
        "subject": ref,
        "disclosing_program": disclosing_program,
        "recipient_programs": [r for r in recipients if r != "any_linked_program"],
        "recipient_classes": [r for r in recipients if r == "any_linked_program"],
        "data_classes": list(form.data_classes),
        "purposes": list(form.purposes),
        "actions": ["view"],
        "effective_from": format_timestamp(start),
        "expires_at": format_timestamp(end),
        "regulatory_basis": list(form.basis),
        "form_sha256": form.form_sha256,
        "signer_type": SIGNERS.get(form.signer, form.signer),
        "signed_at": format_timestamp(start),
        "collected_by": form.collected_by,
    }
    if form.form_version is not None:
        terms["form_version"] = form.form_version
    if form.seen_by == "case_manager":
        # The default (the case manager and their chain) is left unsaid, so the same
        # form makes the same grant whether or not the default was spelled out.
        terms["recipient_staff"] = SEEN_BY["case_manager"]
    elif form.seen_by not in (None, "chain"):
        raise ConsentFormInvalid("seen_by", "is chain or case_manager")
    terms["consent_id"] = derived_uuid(key, canonical.canonical_json(terms))
    try:
        return GrantTerms.model_validate(terms)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise _form_error(exc) from None


def derived_uuid(key: RefKey, message: bytes) -> str:
    """A UUID (version 8, RFC 9562) from the node's key and `message`: the same form
    always gets the same consent id, and nobody without the key learns anything from it."""
    raw = bytearray(key.mac(b"pprl-consent-id/v1\n" + message)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _form_error(exc: ValueError) -> ConsentFormInvalid:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return ConsentFormInvalid("form", str(exc))
    first = errors(include_input=False, include_url=False)[0]
    names = {
        "recipient_programs": "to",
        "recipient_classes": "to",
        "data_classes": "classes",
        "signer_type": "signer",
        "regulatory_basis": "basis",
        "purposes": "purpose",
        "expires_at": "expires",
        "effective_from": "signed_on",
        "signed_at": "signed_on",
        "collected_by": "collected_by",
        "form_sha256": "form",
        "recipient_staff": "seen_by",
    }
    loc = [str(p) for p in first["loc"]]
    field = names.get(loc[0], loc[0]) if loc else "form"
    message = str(first["msg"]).removeprefix("Value error, ")
    if (loc and loc[0] == "expires_at") or "expires_at" in message:
        message = message.replace("expires_at", "the expiry").replace(
            "effective_from", "the signing date"
        )
        field = "expires"
    return ConsentFormInvalid(field, message)
