"""Households: who lives with whom, as each agency records it, and what the hub answers
about a client's family.

An agency's roster may put records in a household (a key local to the agency) with a
role. The node sends the household as a pseudonym (a keyed hash under the agency's own
reference key, like record references), so two agencies' keys for one family never look
alike and the hub learns only "these records of this agency live together". A family
member the agency does not serve is sent `member_only`: linked like any record, so their
other programs can be found, but never answered about as anyone's client.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contract.types import RecordRef, RequestBody

HouseholdRole = Literal["parent_guardian", "child", "spouse_partner", "sibling", "other"]

HOUSEHOLD_ROLES: dict[str, str] = {
    "parent_guardian": "parent or guardian",
    "child": "child",
    "spouse_partner": "spouse or partner",
    "sibling": "sibling",
    "other": "other family member",
}

# Words an export may use for a role, beyond the codes themselves (compared without case,
# spaces, dashes or slashes).
_ROLE_WORDS = {
    "parent": "parent_guardian",
    "guardian": "parent_guardian",
    "parentorguardian": "parent_guardian",
    "mother": "parent_guardian",
    "father": "parent_guardian",
    "caregiver": "parent_guardian",
    "son": "child",
    "daughter": "child",
    "spouse": "spouse_partner",
    "partner": "spouse_partner",
    "husband": "spouse_partner",
    "wife": "spouse_partner",
    "brother": "sibling",
    "sister": "sibling",
}


def household_role_code(text: str) -> str | None:
    """`text` as a role code ("Parent/Guardian", "parent guardian", "Mother" ->
    `parent_guardian`), or None when it is not one."""
    squashed = "".join(ch for ch in text.casefold() if ch.isalnum())
    for code in HOUSEHOLD_ROLES:
        if squashed == code.replace("_", ""):
            return code
    return _ROLE_WORDS.get(squashed)


class HouseholdIn(RequestBody):
    """The household a record belongs to at its agency."""

    ref: RecordRef = Field(
        description="The agency's household key, as a keyed hash under its own reference key."
    )
    role: HouseholdRole = "other"
