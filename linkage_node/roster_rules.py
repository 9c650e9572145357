"""What a roster row must be: the columns, the rules a row is checked against (each with
its default policy, `reject` or `drop_field`), a problem found (`Issue`), and what a good
row becomes (`CleanRecord`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ROSTER_COLUMNS = (
    "record_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "ssn",
    "address",
    "city",
    "zip",
    "phone",
    "case_manager_id",
    "enrolled_on",
    "exited_on",
    "household_id",
    "household_role",
    "member_only",
)
REQUIRED_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth")
EARLIEST_BIRTH = date(1900, 1, 1)
MAX_RECORD_ID = 64
MAX_CELL = 256

Action = Literal["reject", "drop_field", "recode"]


@dataclass(frozen=True)
class Rule:
    """A validation rule: what it checks and what happens by default."""

    id: str
    column: str
    description: str
    default: Action


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "row.field_count", "*", "row has a different number of fields than the header", "reject"
        ),
        Rule("record_id.missing", "record_id", "record_id is empty", "reject"),
        Rule(
            "record_id.too_long",
            "record_id",
            f"record_id is over {MAX_RECORD_ID} characters",
            "reject",
        ),
        Rule(
            "record_id.duplicate", "record_id", "record_id appears on more than one row", "reject"
        ),
        Rule("given_name.missing", "given_name", "given name is empty", "drop_field"),
        Rule("given_name.no_letters", "given_name", "given name has no letters", "drop_field"),
        Rule("family_name.missing", "family_name", "family name is empty", "drop_field"),
        Rule("family_name.no_letters", "family_name", "family name has no letters", "drop_field"),
        Rule("date_of_birth.missing", "date_of_birth", "date of birth is empty", "drop_field"),
        Rule(
            "date_of_birth.unparseable",
            "date_of_birth",
            "date of birth is not a date in an accepted format",
            "drop_field",
        ),
        Rule(
            "date_of_birth.future", "date_of_birth", "date of birth is in the future", "drop_field"
        ),
        Rule(
            "date_of_birth.implausible",
            "date_of_birth",
            "date of birth is before 1900",
            "drop_field",
        ),
        Rule("sex.unknown_code", "sex", "sex is not M, F, MALE or FEMALE", "drop_field"),
        Rule("ssn.shape", "ssn", "SSN is not nine digits", "drop_field"),
        Rule("ssn.known_invalid", "ssn", "SSN is one the SSA never issues", "drop_field"),
        Rule("zip.shape", "zip", "ZIP is not five digits or ZIP+4", "drop_field"),
        Rule("phone.shape", "phone", "phone is not a ten-digit number", "drop_field"),
        Rule(
            "case_manager_id.shape",
            "case_manager_id",
            "case manager id is not a staff id",
            "drop_field",
        ),
        Rule(
            "enrolled_on.unparseable",
            "enrolled_on",
            "enrollment date is not a date in an accepted format",
            "drop_field",
        ),
        Rule("enrolled_on.future", "enrolled_on", "enrollment date is in the future", "drop_field"),
        # An exit date that cannot be read leaves it unknown whether the client is still
        # served: the row is held back (the record keeps its last good state) until fixed.
        Rule(
            "exited_on.unparseable",
            "exited_on",
            "exit date is not a date in an accepted format",
            "reject",
        ),
        # A planned exit: the client is current until the date passes.
        Rule("exited_on.future", "exited_on", "exit date is in the future", "drop_field"),
        Rule(
            "exited_on.before_enrolled",
            "exited_on",
            "exit date is before the enrollment date",
            "reject",
        ),
        Rule(
            "household_id.too_long",
            "household_id",
            f"household id is over {MAX_RECORD_ID} characters",
            "drop_field",
        ),
        Rule(
            "household_role.unknown",
            "household_role",
            "household role is not parent_guardian, child, spouse_partner, sibling or other",
            "drop_field",
        ),
        Rule(
            "household_role.without_household",
            "household_role",
            "household role is given but household_id is empty",
            "drop_field",
        ),
        # Whether the agency serves the person decides whether anyone may be told it
        # does: a row that does not say clearly is held back.
        Rule(
            "member_only.unknown_code",
            "member_only",
            "member_only is not yes or no",
            "reject",
        ),
        Rule(
            "member_only.without_household",
            "member_only",
            "a family member who is not a client needs a household_id",
            "reject",
        ),
        Rule("cell.too_long", "*", f"a cell is over {MAX_CELL} characters", "drop_field"),
        Rule(
            "record.not_linkable",
            "*",
            "fewer than two of given name, family name, date of birth and SSN are left",
            "reject",
        ),
    )
}
# What a record needs to be linkable at all: two of these, so that no record links on a
# name alone or a date of birth alone. Any other field may be missing: a missing field
# is missing (it costs the record part of its score), never a reason to refuse a client.
LINKABLE_WITH = ("given_name", "family_name", "date_of_birth", "ssn")
MIN_LINKABLE = 2
# Without these a row cannot be identified at all.
ALWAYS_REJECT = frozenset(
    {
        "row.field_count",
        "record_id.missing",
        "record_id.too_long",
        "record_id.duplicate",
        "record.not_linkable",
    }
)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in one row. `value` is for the terminal only, never for files."""

    line: int
    column: str
    rule: str
    action: Action
    value: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CleanRecord:
    """A row after validation and normalisation. Missing fields are empty strings."""

    line: int
    record_id: str
    given_name: str
    family_name: str
    date_of_birth: str  # ISO YYYY-MM-DD
    sex: str
    ssn: str
    address: str
    city: str
    zip: str
    phone: str
    case_manager_id: str
    # The name as the agency exported it, for people (caseload, client page, review
    # list); the fields above are match keys for hashing ("Garciamarquez", "Oneill").
    display_name: str = ""
    # Enrollment history (ISO dates, or empty): an exited client stays as history.
    enrolled_on: str = ""
    exited_on: str = ""
    # Household membership (the agency's own key and the role), and whether the person
    # is listed only as a client's family member, not served by the agency.
    household_id: str = ""
    household_role: str = ""
    member_only: bool = False

    @property
    def exited(self) -> bool:
        """Whether the client has left the program."""
        return bool(self.exited_on)

    def content_hash(self) -> bytes:
        """Hash of the normalised identifying fields and the enrollment dates: what
        decides "changed" (a row without dates hashes as it did before they existed)."""
        dates = (self.enrolled_on, self.exited_on) if self.enrolled_on or self.exited_on else ()
        # Likewise a row in no household hashes as it did before households existed.
        household = (
            (self.household_id, self.household_role, "member" if self.member_only else "client")
            if self.household_id
            else ()
        )
        parts = (
            self.given_name,
            self.family_name,
            self.date_of_birth,
            self.sex,
            self.ssn,
            self.address,
            self.city,
            self.zip,
            self.phone,
            *dates,
            *household,
        )
        return hashlib.sha256("\x1f".join(parts).encode()).digest()
