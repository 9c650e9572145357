"""Families known to several systems, de-identified: two-generation counts (children
served by one program whose parent or guardian is served by another) and how many
programs serve each family, with the overlap report's small-cell rule.

A person is a cluster of the latest linkage run (or a record in none). A household is
one agency's (`Encoding.household_ref`); a family joins every household that shares a
person with another, so two agencies' households of one family count once. Programs
serving a person are their current, served records' (a family member an agency lists
without serving them serves nobody). Cells overlap (a child with two parents in two
programs counts in both cells) and no totals are published, so hiding each cell under
the limit is all the rule needs (`hub.services.suppression` with no sums).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from hub.models import Encoding, RecordCluster
from hub.services.reports import program_labels
from hub.services.suppression import suppress

Person = tuple[str, ...]  # ("c", cluster id) or ("r", agency, ref) for a record in none
FAMILY_SIZES = ("1", "2", "3", "4+")  # programs serving any member of a family


@dataclass(frozen=True)
class FamilyReport:
    """What may be published: each cell's count, None where suppressed."""

    limit: int
    # (child's program, parent's program) -> children served by the first whose parent
    # or guardian in a household is served by the second
    two_generation: dict[tuple[str, str], int | None]
    # programs serving any member now -> families
    families_by_programs: dict[str, int | None]
    # families whose households were recorded by two or more agencies
    recorded_by_several_agencies: int | None

    @property
    def suppressed(self) -> int:
        """How many cells are hidden."""
        cells = [*self.two_generation.values(), *self.families_by_programs.values()]
        return sum(1 for v in [*cells, self.recorded_by_several_agencies] if v is None)


def _people(
    session: Session, labels: dict[str, str]
) -> tuple[dict[tuple[str, str], Person], dict[Person, set[str]]]:
    """Each clustered record's person, and the programs serving each person now."""
    person_of: dict[tuple[str, str], Person] = {}
    serving: dict[Person, set[str]] = defaultdict(set)
    rows = session.execute(
        select(
            col(RecordCluster.agency_id),
            col(RecordCluster.ref),
            col(RecordCluster.cluster_id),
            col(Encoding.member_only),
            col(Encoding.exited_on),
        ).join(
            Encoding,
            (col(Encoding.agency_id) == col(RecordCluster.agency_id))
            & (col(Encoding.ref) == col(RecordCluster.ref)),
        )
    )
    for agency, ref, cluster, member_only, exited_on in rows:
        person: Person = ("c", str(int(cluster)))
        person_of[(agency, ref)] = person
        if not member_only and exited_on is None:
            serving[person].add(labels.get(agency, agency))
    return person_of, serving


def _households(
    session: Session,
) -> tuple[dict[tuple[str, str], list[tuple[Person, str]]], dict[Person, set[str]]]:
    """Each household (agency, household ref) as its members' persons and roles, and
    the programs serving each person now."""
    labels = program_labels(session)
    person_of, serving = _people(session, labels)
    households: dict[tuple[str, str], list[tuple[Person, str]]] = defaultdict(list)
    for agency, ref, household, role, member_only, exited_on in session.execute(
        select(
            col(Encoding.agency_id),
            col(Encoding.ref),
            col(Encoding.household_ref),
            col(Encoding.household_role),
            col(Encoding.member_only),
            col(Encoding.exited_on),
        ).where(col(Encoding.household_ref).is_not(None))
    ):
        person = person_of.get((agency, ref), ("r", agency, ref))
        if (agency, ref) not in person_of and not member_only and exited_on is None:
            serving[person].add(labels.get(agency, agency))
        households[(agency, household)].append((person, role or "other"))
    return households, serving


def household_edges(session: Session) -> set[tuple[str, str, str, str]]:
    """The household edges between people of the latest linkage: (person, role, other
    person, other's role) for every two members of one agency's household, people named
    by cluster id (or agency and reference for a record in no cluster). Two agencies'
    households of one family give the same edges, which is how they are seen to meet."""
    households, _ = _households(session)
    edges = set()
    for members in households.values():
        for person, role in members:
            for other, other_role in members:
                if person != other:
                    edges.add((":".join(person), role, ":".join(other), other_role))
    return edges


def compute_families(session: Session, *, limit: int) -> FamilyReport:
    """The families report of the latest linkage (see the module notes)."""
    households, serving = _households(session)
    children: dict[tuple[str, str], set[Person]] = defaultdict(set)
    for members in households.values():
        parents = [p for p, role in members if role == "parent_guardian"]
        for child, role in members:
            if role != "child":
                continue
            for parent in parents:
                if parent == child:
                    continue
                for child_program in serving.get(child, ()):
                    for parent_program in serving.get(parent, ()):
                        children[(child_program, parent_program)].add(child)

    families = _families(households)
    sizes = dict.fromkeys(FAMILY_SIZES, 0)
    several = 0
    for people, agencies in families:
        programs = set().union(*(serving.get(p, set()) for p in people))
        if programs:
            sizes[FAMILY_SIZES[min(len(programs), 4) - 1]] += 1
        several += len(agencies) >= 2
    counts: dict[tuple[str, ...], int] = {
        ("two_generation", *key): len(found) for key, found in sorted(children.items())
    }
    counts |= {("programs", size): n for size, n in sizes.items()}
    counts[("several_agencies",)] = several
    published = suppress(counts, limit=limit)
    return FamilyReport(
        limit=limit,
        two_generation={
            (key[1], key[2]): value
            for key, value in published.items()
            if key[0] == "two_generation"
        },
        families_by_programs={
            key[1]: value for key, value in published.items() if key[0] == "programs"
        },
        recorded_by_several_agencies=published[("several_agencies",)],
    )


def _families(
    households: dict[tuple[str, str], list[tuple[Person, str]]],
) -> list[tuple[set[Person], set[str]]]:
    """Households joined where they share a person: (people, recording agencies)."""
    parent: dict[Person, Person] = {}

    def find(p: Person) -> Person:
        while parent.setdefault(p, p) != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for members in households.values():
        first = find(members[0][0])
        for person, _ in members[1:]:
            parent[find(person)] = first
    groups: dict[Person, tuple[set[Person], set[str]]] = {}
    for (agency, _), members in households.items():
        root = find(members[0][0])
        people, agencies = groups.setdefault(root, (set(), set()))
        people.update(p for p, _ in members)
        agencies.add(agency)
    return list(groups.values())


def families_csv(report: FamilyReport) -> str:
    """The report as CSV: one row per published or suppressed cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "child_program", "parent_program", "programs", "count"])
    for (child, parent), value in report.two_generation.items():
        writer.writerow(["two_generation", child, parent, "", _cell(value)])
    for size, value in report.families_by_programs.items():
        writer.writerow(["families_by_programs", "", "", size, _cell(value)])
    writer.writerow(
        ["recorded_by_several_agencies", "", "", "", _cell(report.recorded_by_several_agencies)]
    )
    return out.getvalue()


def _cell(value: int | None) -> str:
    return "suppressed" if value is None else str(value)
