"""Intake lookup at the node: typed identifiers checked and normalised exactly as a
roster row is, encoded under the linkage secret, and only that encoding sent to the hub,
which says which other programs serve a matching person (existence only).

The identifiers never leave the node and are never echoed: a problem names the field
and the rule, as the roster report does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from contract import LookupOut
from contract.client import HubClient
from keys import AgencyIdentity, LinkageSecret, Role
from linkage_node.encoder import Encoder
from linkage_node.errors import NodeError
from linkage_node.features import feature_values
from linkage_node.hub_client import agency_token
from linkage_node.normalise import DEFAULT_DATE_FORMATS
from linkage_node.roster import ROSTER_COLUMNS, CleanRecord, Issue, parse_policies
from linkage_node.row_cleaner import RowCleaner
from linkage_node.schema import LinkageSchema


@dataclass(frozen=True)
class Identifiers:
    """What an intake worker types about the person in front of them."""

    given_name: str
    family_name: str
    date_of_birth: str
    sex: str = ""
    ssn: str = ""
    address: str = ""
    city: str = ""
    zip: str = ""
    phone: str = ""


class IntakeError(NodeError):
    """The typed identifiers cannot be matched as they are (exit 3)."""

    exit_code = 3


def clean_identifiers(
    person: Identifiers, *, today: date, record_id: str = "intake"
) -> CleanRecord:
    """`person` checked and normalised as a roster row is; IntakeError names the fields
    and rules (never the values) when they cannot be matched."""
    cells = dict.fromkeys(ROSTER_COLUMNS, "") | {
        "record_id": record_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
        "sex": person.sex,
        "ssn": person.ssn,
        "address": person.address,
        "city": person.city,
        "zip": person.zip,
        "phone": person.phone,
    }
    issues: list[Issue] = []
    record = RowCleaner(parse_policies([]), DEFAULT_DATE_FORMATS, today).clean(0, cells, issues)
    if record is None:
        broken = ", ".join(sorted({f"{i.column} ({i.rule})" for i in issues}))
        raise IntakeError(
            f"the identifiers cannot be matched as typed: {broken}",
            "Check those fields (a date of birth as YYYY-MM-DD; at least two of given name, "
            "family name, date of birth and SSN) and ask again.",
        )
    return record


def intake_encoding(
    schema: LinkageSchema, secret: LinkageSecret, person: Identifiers, *, today: date
) -> bytes:
    """The encoding of `person`, made as the nightly job makes a roster row's."""
    record = clean_identifiers(person, today=today)
    return Encoder(schema, secret.secret).encode(feature_values(schema, record))


def look_up(
    hub: HubClient,
    identity: AgencyIdentity,
    staff: str,
    *,
    schema: LinkageSchema,
    secret: LinkageSecret,
    person: Identifiers,
    today: date,
    token: Callable[[], str] | None = None,
) -> LookupOut:
    """Ask the hub, as intake worker `staff` of the agency, who serves `person` (with
    `token` when the caller already mints the worker's tokens, as the pages do)."""
    clk = intake_encoding(schema, secret, person, today=today)
    source = token or agency_token(identity, subject=staff, roles=(Role.INTAKE,))
    return hub.lookup(clk, secret.epoch, schema.fingerprint, token=source)
