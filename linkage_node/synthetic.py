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
    "Main",
    "Oak",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Pine",
    "Walnut",
    "Lincoln",
    "Jackson",
    "Church",
    "River",
    "Center",
    "Spring",
    "Ridge",
    "Mill",
)
_KINDS = ("Street", "Avenue", "Road", "Drive", "Lane", "Court", "Boulevard")
_CITIES = (
    ("Springfield", "627"),
    ("Peoria", "616"),
    ("Rockford", "611"),
    ("Joliet", "604"),
    ("Naperville", "605"),
    ("Aurora", "605"),
    ("Champaign", "618"),
    ("Decatur", "625"),
    ("Chicago", "606"),
    ("Elgin", "601"),
    ("Waukegan", "600"),
    ("Cicero", "608"),
)


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


# --- realistic corruption, for linkage quality ------------------------------------------

_NICKNAMES = {
    "Robert": "Bob",
    "William": "Bill",
    "Richard": "Dick",
    "James": "Jim",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Margaret": "Peggy",
    "Michael": "Mike",
    "Christopher": "Chris",
    "Jennifer": "Jen",
    "Joseph": "Joe",
    "Thomas": "Tom",
    "Patricia": "Pat",
    "Daniel": "Dan",
    "Anthony": "Tony",
    "Jessica": "Jess",
    "Matthew": "Matt",
    "Nicholas": "Nick",
    "Alexander": "Alex",
    "Samantha": "Sam",
    "Benjamin": "Ben",
    "Rebecca": "Becky",
}
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


@dataclass(frozen=True)
class Corruption:
    """How often each kind of error or change appears in a second record of a person."""

    name_typo: float = 0.06
    nickname: float = 0.03
    family_name_change: float = 0.04
    dob_day_month_swap: float = 0.02
    dob_digit: float = 0.02
    ssn_missing: float = 0.25
    ssn_typo: float = 0.02
    sex_missing: float = 0.02
    moved: float = 0.25


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word
    i = rng.randrange(len(word))
    kind = rng.randrange(4)
    if kind == 0:  # substitution
        return word[:i] + rng.choice(_KEYBOARD) + word[i + 1 :]
    if kind == 1:  # deletion
        return word[:i] + word[i + 1 :]
    if kind == 2:  # insertion
        return word[:i] + rng.choice(_KEYBOARD) + word[i:]
    j = min(i + 1, len(word) - 1)  # transposition
    chars = list(word)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def corrupt(
    person: Person, rng: random.Random, people: PeopleGenerator, c: Corruption = Corruption()
) -> Person:
    """The same person as another agency might have recorded them."""
    given, family, dob = person.given_name, person.family_name, person.date_of_birth
    ssn, sex = person.ssn, person.sex
    address, city, zip_code, phone = person.address, person.city, person.zip, person.phone
    if rng.random() < c.nickname and given in _NICKNAMES:
        given = _NICKNAMES[given]
    if rng.random() < c.name_typo:
        given = _typo(given, rng)
    if person.sex == "F" and rng.random() < c.family_name_change:
        family = people.person().family_name
    elif rng.random() < c.name_typo:
        family = _typo(family, rng)
    if rng.random() < c.dob_day_month_swap and dob.day <= 12:
        dob = dob.replace(month=dob.day, day=dob.month)
    if rng.random() < c.dob_digit:
        dob = dob.replace(day=max(1, min(28, dob.day + rng.choice((-10, -1, 1, 10)))))
    if rng.random() < c.ssn_missing:
        ssn = ""
    elif rng.random() < c.ssn_typo:
        digits = list(ssn.replace("-", ""))
        k = rng.randrange(9)
        digits[k] = str((int(digits[k]) + rng.randrange(1, 10)) % 10)
        ssn = "".join(digits)
    if rng.random() < c.sex_missing:
        sex = ""
    if rng.random() < c.moved:
        other = people.person()
        address, city, zip_code, phone = other.address, other.city, other.zip, other.phone
    return Person(given, family, dob, sex, ssn, address, city, zip_code, phone)


@dataclass
class LinkedRosters:
    """Rosters of several agencies that share some people, with the truth."""

    rows: dict[str, list[dict[str, str]]]
    # agency -> record_id -> person number
    truth: dict[str, dict[str, int]]

    def true_pairs(self, a: str, b: str) -> set[tuple[str, str]]:
        """(record id at a, record id at b) of every person both serve."""
        at_b: dict[int, str] = {p: r for r, p in self.truth[b].items()}
        return {(r, at_b[p]) for r, p in self.truth[a].items() if p in at_b}


def linked_rosters(
    agencies: list[str],
    size: int,
    *,
    shared: float = 0.2,
    seed: int = 0,
    corruption: Corruption = Corruption(),
) -> LinkedRosters:
    """`size` records per agency; each record is, with probability `shared`, a person
    some other agency also serves (recorded with that agency's own errors)."""
    people = PeopleGenerator(seed)
    rng = people.rng
    # Two agencies share `shared` of their records; with more, each picks its shared
    # people from a larger pool, so any two overlap in part, not all in the same people.
    pool_size = max(1, int(size * shared * max(1.0, len(agencies) / 2)))
    pool = [people.person() for _ in range(pool_size)]
    rows: dict[str, list[dict[str, str]]] = {}
    truth: dict[str, dict[str, int]] = {}
    next_person = pool_size
    for number, agency in enumerate(agencies):
        rows[agency], truth[agency] = [], {}
        chosen = rng.sample(range(pool_size), min(pool_size, int(size * shared)))
        for i in range(size):
            record_id = f"{agency}-{i:07d}"
            if i < len(chosen):
                person_id = chosen[i]
                person = (
                    pool[person_id]
                    if number == 0
                    else corrupt(pool[person_id], rng, people, corruption)
                )
            else:
                person_id, person = next_person, people.person()
                next_person += 1
            rows[agency].append(roster_row(record_id, person, f"cm-{rng.randrange(1, 40):04d}"))
            truth[agency][record_id] = person_id
        order = list(range(size))
        rng.shuffle(order)
        rows[agency] = [rows[agency][k] for k in order]
    return LinkedRosters(rows, truth)
