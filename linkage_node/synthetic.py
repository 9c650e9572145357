"""Synthetic people and rosters, for tests, benchmarks and the demo. Not real people.

Names are drawn with US-census frequencies from the tables clkhash ships; dates of birth
follow its age table; SSNs, ZIP codes and phone numbers have valid shapes.
"""

from __future__ import annotations

import csv
import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from itertools import accumulate
from pathlib import Path

from linkage_node.roster import ROSTER_COLUMNS

_STREETS = (
    "Main", "Oak", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Pine",
    "Walnut", "Lincoln", "Jackson", "Church", "River", "Center", "Spring", "Ridge", "Mill",
)  # fmt: skip
_KINDS = ("Street", "Avenue", "Road", "Drive", "Lane", "Court", "Boulevard")
_CITIES = (
    ("Springfield", "627"), ("Peoria", "616"), ("Rockford", "611"), ("Joliet", "604"),
    ("Naperville", "605"), ("Aurora", "605"), ("Champaign", "618"), ("Decatur", "625"),
    ("Chicago", "606"), ("Elgin", "601"), ("Waukegan", "600"), ("Cicero", "608"),
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    """One synthetic person."""

    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    ssn: str
    address: str
    city: str
    zip: str
    phone: str


class _Weighted:
    def __init__(self, values: list[str], weights: list[float]) -> None:
        self.values = values
        self.cumulative = list(accumulate(weights))

    def draw(self, rng: random.Random) -> str:
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def _table(name: str) -> _Weighted:
    text = resources.files("clkhash").joinpath("data", name).read_text()
    rows = list(csv.reader(text.splitlines()))[1:]
    return _Weighted([r[0].strip() for r in rows], [float(r[1]) for r in rows])


class PeopleGenerator:
    """Deterministic for a given seed."""

    def __init__(self, seed: int = 0, today: date = date(2026, 11, 23)) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (synthetic data, not secrets)
        self.today = today
        self._female = _table("female-first-names.csv")
        self._male = _table("male-first-names.csv")
        self._family = _table("last-names.csv")
        self._ages = _table("ages.csv")

    def person(self) -> Person:
        """A new person."""
        rng = self.rng
        sex = rng.choice("MF")
        given = (self._male if sex == "M" else self._female).draw(rng)
        age = int(self._ages.draw(rng))
        dob = self.today - timedelta(days=365 * age + rng.randrange(365))
        area = rng.randrange(1, 899)  # 001-898, then skip 666: never-issued areas stay out
        area += area >= 666
        ssn = f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
        city, zip3 = rng.choice(_CITIES)
        address = f"{rng.randrange(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_KINDS)}"
        phone = (
            f"({rng.randrange(201, 990)}) {rng.randrange(200, 1000)}-{rng.randrange(0, 10000):04d}"
        )
        return Person(
            given_name=given.title(),
            family_name=self._family.draw(rng).title(),
            date_of_birth=dob,
            sex=sex,
            ssn=ssn,
            address=address,
            city=city,
            zip=f"{zip3}{rng.randrange(0, 100):02d}",
            phone=phone,
        )


def roster_row(record_id: str, person: Person, case_manager_id: str = "") -> dict[str, str]:
    """A person as a roster row with the default columns."""
    return {
        "record_id": record_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth.isoformat(),
        "sex": person.sex,
        "ssn": person.ssn,
        "address": person.address,
        "city": person.city,
        "zip": person.zip,
        "phone": person.phone,
        "case_manager_id": case_manager_id,
    }


def write_roster(path: Path, rows: list[dict[str, str]]) -> None:
    """Write rows as a CSV roster with the default header."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROSTER_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def synthetic_roster(
    path: Path, count: int, *, seed: int = 0, prefix: str = "R"
) -> list[dict[str, str]]:
    """Write a roster of `count` synthetic people; returns its rows."""
    people = PeopleGenerator(seed)
    rows = [
        roster_row(f"{prefix}{i:07d}", people.person(), f"cm-{people.rng.randrange(1, 40):04d}")
        for i in range(count)
    ]
    write_roster(path, rows)
    return rows
