"""The shapes an entry's fields may take: codes from fixed lists, plausible timestamps,
hashes, pseudonymous references, UUIDs, staff ids and identifiers. Nothing here can hold
a name or a date of birth (see `consent.entries`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from keys import is_identifier, is_staff_id

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_KEY_ID = re.compile(r"(ed25519|x25519):[0-9a-f]{32}")
_B64_KEY = re.compile(r"[A-Za-z0-9+/]{43}=")
_B64_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")

HUB_SIGNER = "@hub"
"""The signer name of the log operator (it signs ACCESS entries and registrations)."""

# The ledger starts no earlier than this; any timestamp before it is a typo or a birth
# date in the wrong place.
LEDGER_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
MAX_GRANT_DURATION = timedelta(days=5 * 366)
MAX_RECORDING_DELAY = timedelta(days=366)


@lru_cache(maxsize=4096)
def parse_timestamp(value: str) -> datetime:
    """`YYYY-MM-DDTHH:MM:SSZ` to an aware UTC datetime."""
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError("not a YYYY-MM-DDTHH:MM:SSZ timestamp")
    # fromisoformat is C code; the pattern above already pinned the one accepted form.
    return datetime.fromisoformat(value)


def format_timestamp(value: datetime) -> str:
    """An aware datetime as the ledger's timestamp text (UTC, whole seconds)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(value: str) -> str:
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError("must be a UTC timestamp YYYY-MM-DDTHH:MM:SSZ")
    try:
        when = parse_timestamp(value)
    except ValueError:
        raise ValueError("is not a real calendar instant") from None
    if when < LEDGER_EPOCH:
        raise ValueError("is before the ledger began (2020-01-01); is it a birth date?")
    return value


def _pattern(regex: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _identifier(value: str) -> str:
    if not is_identifier(value):
        raise ValueError("must be a registered program or agency id")
    return value


def _staff(value: str) -> str:
    if not is_staff_id(value):
        raise ValueError("must be a staff id such as cm-0042 (never a name)")
    return value


def _signer(value: str) -> str:
    if value != HUB_SIGNER and not is_identifier(value):
        raise ValueError("must be an agency id or @hub")
    return value


Timestamp = Annotated[str, AfterValidator(_timestamp)]
RecordRef = Annotated[str, _pattern(_HEX64, "a pseudonymous record reference (64 hex digits)")]
Sha256Hex = Annotated[str, _pattern(_HEX64, "a SHA-256 hash (64 hex digits)")]
ConsentId = Annotated[str, _pattern(_UUID, "a lower-case UUID")]
PublicKeyB64 = Annotated[str, _pattern(_B64_KEY, "32 bytes in base64")]
SignatureB64 = Annotated[str, _pattern(_B64_SIGNATURE, "64 bytes in base64")]
KeyId = Annotated[str, _pattern(_KEY_ID, "a key id such as ed25519:<32 hex digits>")]
Identifier = Annotated[str, AfterValidator(_identifier)]
StaffId = Annotated[str, AfterValidator(_staff)]
Signer = Annotated[str, AfterValidator(_signer)]
# A form edition such as universal-2026.1: starts with a letter and holds a digit, no
# spaces or commas, at most 32 characters; so a name ("Jane Doe", "jane.doe"), a date of
# birth or an SSN typed into it is refused.
FormVersion = Annotated[
    str,
    _pattern(
        re.compile(r"(?=[A-Za-z0-9._-]*[0-9])[A-Za-z][A-Za-z0-9._-]{0,31}"),
        "a form edition such as universal-2026.1 (a letter first, a digit, at most 32)",
    ),
]

DataClass = Literal["existence", "contact", "plan"]
Purpose = Literal["care_coordination", "case_planning", "service_referral", "program_evaluation"]
Action = Literal["view", "contact_case_manager", "notify"]
RecipientClass = Literal["any_linked_program"]
# Who at a recipient program may see what a grant allows: the client's case manager and
# the supervisors above them (absent or `chain_of_command`: the only staff the hub lets
# ask), or the case manager alone.
RecipientStaff = Literal["assigned_case_manager", "chain_of_command"]
RegulatoryBasis = Literal[
    "hipaa_authorization",
    "cfr42_part2",
    "ferpa",
    "title_iv_e",
    "wioa",
    "rehabilitation_act",
    "state_statute",
    "court_order",
]
SignerType = Literal["client", "parent_or_guardian", "legal_representative", "court"]
RevokeReason = Literal[
    "client_request", "guardian_request", "entered_in_error", "court_order", "program_exit"
]
