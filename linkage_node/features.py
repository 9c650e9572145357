"""A clean record as the encoder takes it: its values in the schema's feature order
(with the derived features the schemas use), and the canary every node encodes."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from linkage_node.roster import CleanRecord
from linkage_node.schema import LinkageSchema

# An agreed synthetic identity every node encodes on every run: the same secret and
# schema give the same CLK everywhere, which lets the hub spot a misconfigured node
# before any linkage runs.
CANARY = CleanRecord(
    line=0,
    record_id="pprl-canary",
    given_name="pprlcanary",
    family_name="consistencycheck",
    date_of_birth="1970-01-01",
    sex="f",
    ssn="",
    address="",
    city="",
    zip="",
    phone="",
    case_manager_id="",
)


def feature_values(schema: LinkageSchema, record: CleanRecord) -> tuple[str, ...]:
    """The record's values in the schema's feature order, as the encoder takes them."""
    dob = record.date_of_birth  # ISO YYYY-MM-DD, or empty
    year, month, day = dob[:4], dob[5:7], dob[8:10]
    ssn = record.ssn  # nine digits, or empty
    derived = {
        # Schema v5: both names as one value, in alphabetical order, so that a given and
        # family name swapped by one agency (19% of the misses on a held-out FEBRL-style
        # set) set the same bits. Hashed under one key, a name's bigrams set the same
        # bits whichever field held it.
        "names_any_order": " ".join(
            sorted(n for n in (record.given_name, record.family_name) if n)
        ),
        "dob_year": year,
        "dob_month": month,
        "dob_day": day,
        "dob_year_month": year + month,
        "dob_year_day": year + day,
        # The same for a day/month swap (03/04 and 04/03).
        "dob_year_monthday": year + "".join(sorted((month, day))),
        "ssn_head": ssn[:5],
        "ssn_tail": ssn[5:],
        # Schema v4: the address whole with its ZIP code, and the phone number, each with
        # the year of birth: one person's value, not the household's (two people of one
        # address and phone, a parent and a child, must not score as one), and empty
        # unless every part is there (a missing part must never become a token shared by
        # strangers). A street, a city or sex alone would set the same bits in thousands
        # of records, the pattern the README's attack finds.
        "address_zip_year": f"{record.address} {record.zip} {year}"
        if (record.address and record.zip and year)
        else "",
        "phone_year": record.phone + year if record.phone and year else "",
    }
    values = []
    for feature in schema.features:
        if feature in derived:
            values.append(derived[feature])
        elif feature == "date_of_birth":
            values.append(dob.replace("-", ""))
        else:
            values.append(getattr(record, feature))
    return tuple(values)


def canary_digest(secret: bytes, clk: bytes) -> bytes:
    """The keyed hash a node sends in place of the canary record's encoding: equal at
    every node with the same secret and schema, and no known plaintext for anyone else."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"pprl-hub canary digest v1"
    ).derive(secret)
    return hmac.new(key, clk, hashlib.sha256).digest()
