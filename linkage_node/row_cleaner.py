"""One row's cells validated and normalised under the run's policies: a `CleanRecord`,
or None with the row's issues recorded."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from contract.households import household_role_code
from keys import is_staff_id
from linkage_node.normalise import (
    normalise_address,
    normalise_city,
    normalise_name,
    normalise_phone,
    normalise_sex,
    normalise_zip,
    parse_date,
    ssn_digits,
    ssn_is_known_invalid,
)
from linkage_node.roster_rules import (
    EARLIEST_BIRTH,
    MAX_RECORD_ID,
    MIN_LINKABLE,
    Action,
    CleanRecord,
    Issue,
)

_YES = frozenset({"yes", "y", "true", "1", "x"})
_NO = frozenset({"", "no", "n", "false", "0"})
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def display_name(given: str, family: str) -> str:
    """The exported name with runs of whitespace made one space and control characters
    (which would move a terminal's cursor) removed; otherwise exactly as typed."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", f"{given} {family}").split())


class RowCleaner:
    """Validates and normalises one row's cells under the run's policies."""

    def __init__(self, policies: dict[str, Action], formats: tuple[str, ...], today: date) -> None:
        self.policies = policies
        self.formats = formats
        self.today = today

    def clean(self, line: int, cells: dict[str, str], issues: list[Issue]) -> CleanRecord | None:
        def flag(column: str, rule: str) -> None:
            issues.append(Issue(line, column, rule, self.policies[rule], cells[column]))

        record_id = cells["record_id"]
        if not record_id:
            flag("record_id", "record_id.missing")
        elif len(record_id) > MAX_RECORD_ID:
            flag("record_id", "record_id.too_long")
        given = self._name(cells, "given_name", flag)
        family = self._name(cells, "family_name", flag)
        dob = self._date_of_birth(cells, flag)
        sex = normalise_sex(cells["sex"])
        if sex is None:
            flag("sex", "sex.unknown_code")
        ssn = self._ssn(cells, flag)
        zip_code = self._optional(cells, "zip", normalise_zip, flag)
        phone = self._optional(cells, "phone", normalise_phone, flag)
        case_manager = cells["case_manager_id"]
        if case_manager and not is_staff_id(case_manager):
            flag("case_manager_id", "case_manager_id.shape")
            case_manager = ""
        enrolled_on, exited_on = self._enrollment(cells, flag)
        household_id, role, member_only = self._household(cells, flag)
        if member_only:
            # Not served here: no case manager, no enrollment to tell anyone about.
            case_manager, enrolled_on, exited_on = "", "", ""
        if sum(1 for value in (given, family, dob, ssn) if value) < MIN_LINKABLE:
            issues.append(Issue(line, "*", "record.not_linkable", "reject"))
        if any(i.action == "reject" for i in issues):
            return None
        return CleanRecord(
            line=line,
            record_id=record_id,
            given_name=given,
            family_name=family,
            date_of_birth=dob,
            sex=sex or "",
            ssn=ssn,
            address=normalise_address(cells["address"]),
            city=normalise_city(cells["city"]),
            zip=zip_code,
            phone=phone,
            case_manager_id=case_manager,
            display_name=display_name(cells["given_name"], cells["family_name"]),
            enrolled_on=enrolled_on,
            exited_on=exited_on,
            household_id=household_id,
            household_role=role,
            member_only=member_only,
        )

    @staticmethod
    def _household(
        cells: dict[str, str], flag: Callable[[str, str], None]
    ) -> tuple[str, str, bool]:
        """The household key, the role in it (`other` when not given) and whether the
        person is listed as family only."""
        household = cells["household_id"]
        if len(household) > MAX_RECORD_ID:
            flag("household_id", "household_id.too_long")
            household = ""
        role = ""
        if cells["household_role"]:
            role = household_role_code(cells["household_role"]) or ""
            if not role:
                flag("household_role", "household_role.unknown")
            elif not household:
                flag("household_role", "household_role.without_household")
                role = ""
        member = cells["member_only"].strip().casefold()
        if member not in _YES | _NO:
            flag("member_only", "member_only.unknown_code")
            return "", "", False
        if member in _YES and not household:
            flag("member_only", "member_only.without_household")
            return "", "", False
        return household, (role or "other") if household else "", member in _YES

    def _enrollment(
        self, cells: dict[str, str], flag: Callable[[str, str], None]
    ) -> tuple[str, str]:
        """The enrollment and exit dates, checked against each other and today."""
        found: dict[str, date | None] = {}
        for column in ("enrolled_on", "exited_on"):
            found[column] = None
            if not cells[column]:
                continue
            parsed = parse_date(cells[column], self.formats)
            if parsed is None:
                flag(column, f"{column}.unparseable")
            elif parsed > self.today:
                flag(column, f"{column}.future")
            else:
                found[column] = parsed
        enrolled, exited = found["enrolled_on"], found["exited_on"]
        if enrolled and exited and exited < enrolled:
            flag("exited_on", "exited_on.before_enrolled")
        return (enrolled.isoformat() if enrolled else ""), (exited.isoformat() if exited else "")

    @staticmethod
    def _name(cells: dict[str, str], column: str, flag: Callable[[str, str], None]) -> str:
        raw = cells[column]
        name = normalise_name(raw)
        if not raw:
            flag(column, f"{column}.missing")
        elif not name:
            flag(column, f"{column}.no_letters")
        return name

    def _date_of_birth(self, cells: dict[str, str], flag: Callable[[str, str], None]) -> str:
        if not cells["date_of_birth"]:
            flag("date_of_birth", "date_of_birth.missing")
            return ""
        parsed = parse_date(cells["date_of_birth"], self.formats)
        if parsed is None:
            flag("date_of_birth", "date_of_birth.unparseable")
        elif parsed > self.today:
            flag("date_of_birth", "date_of_birth.future")
        elif parsed < EARLIEST_BIRTH:
            flag("date_of_birth", "date_of_birth.implausible")
        else:
            return parsed.isoformat()
        return ""

    @staticmethod
    def _ssn(cells: dict[str, str], flag: Callable[[str, str], None]) -> str:
        if not cells["ssn"]:
            return ""
        digits = ssn_digits(cells["ssn"])
        if digits is None:
            flag("ssn", "ssn.shape")
        elif ssn_is_known_invalid(digits):
            flag("ssn", "ssn.known_invalid")
        else:
            return digits
        return ""

    @staticmethod
    def _optional(
        cells: dict[str, str],
        column: str,
        normalise: Callable[[str], str | None],
        flag: Callable[[str, str], None],
    ) -> str:
        if not cells[column]:
            return ""
        value = normalise(cells[column])
        if value is None:
            flag(column, f"{column}.shape")
            return ""
        return value
