"""The staff file: contacts for assignments, and the org structure the hub's chain of
command follows, refused whole when it would give the wrong people access."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from linkage_node.errors import RosterError
from linkage_node.staff_file import load_staff
from linkage_node.synthetic import synthetic_roster
from tests.hub.live import LiveHub, node_sync
from tests.linkage_node.jobs import encode

HEADER = "case_manager_id,display_name,phone,office,unit,supervisor_id\n"
ORG = (
    "cm-0001,Ana Ruiz,(555) 010-0001,North,Intake,sup-0001\n"
    "cm-0002,Ben Lee,,South,,sup-0002\n"
    "sup-0001,Cara Diaz,,North,,mgr-0001\n"
    "sup-0002,Dev Shah,,South,,mgr-0001\n"
    "mgr-0001,Eve Stone,,,,\n"
)


def _file(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "staff.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_contacts_and_the_chain_of_command_are_read(tmp_path: Path) -> None:
    staff = load_staff(_file(tmp_path, ORG))
    assert staff.contacts["cm-0001"] == {
        "display_name": "Ana Ruiz",
        "phone": "(555) 010-0001",
        "office": "North",
    }
    assert staff.org is not None
    by_id = {m["staff_id"]: m for m in staff.org}
    assert by_id["cm-0001"] == {
        "staff_id": "cm-0001",
        "supervisor_id": "sup-0001",
        "office": "North",
        "unit": "Intake",
    }
    assert by_id["mgr-0001"]["supervisor_id"] is None
    # Names and phone numbers never go into the structure the hub is sent.
    assert "Ana" not in str(staff.org)
    assert "555" not in str(staff.org)
    assert staff.supervisors() == 3


def test_a_file_without_supervisor_id_sends_no_structure(tmp_path: Path) -> None:
    staff = load_staff(_file(tmp_path, "cm-0001,Ana Ruiz\n", "case_manager_id,display_name\n"))
    assert staff.org is None
    assert staff.contacts == {"cm-0001": {"display_name": "Ana Ruiz"}}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("cm-0001,Ana,,,,sup-0009\n", "line 2, column supervisor_id"),
        ("cm-0001,Ana,,,,cm-0002\ncm-0002,Ben,,,,cm-0001\n", "reporting loop"),
        ("cm-0001,Ana,,,,\ncm-0001,Ana again,,,,\n", "repeats the staff id of line 2"),
        ("Ana Ruiz,Ana,,,,\n", "line 2, column case_manager_id"),
    ],
)
def test_a_structure_that_would_give_the_wrong_access_is_refused_whole(
    tmp_path: Path, body: str, said: str
) -> None:
    with pytest.raises(RosterError) as refused:
        load_staff(_file(tmp_path, body))
    assert said in str(refused.value)
    assert "Ana" not in str(refused.value).replace(str(tmp_path), "")
    assert refused.value.exit_code == 3


def test_sync_sends_the_structure_and_it_replaces_the_last(hub: LiveHub, tmp_path: Path) -> None:
    hub.register("DCFS")
    roster = tmp_path / "roster.csv"
    synthetic_roster(roster, 3)
    encode(tmp_path, roster, agency="DCFS")
    report = node_sync(hub, tmp_path, staff=load_staff(_file(tmp_path, ORG)))
    assert report.org is not None
    assert (report.org.staff, report.org.supervisors) == (5, 3)
    smaller = load_staff(_file(tmp_path, "cm-0001,Ana,,,,sup-0001\nsup-0001,Cara,,,,\n"))
    assert node_sync(hub, tmp_path, staff=smaller).org is not None
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT staff_id, supervisor_id FROM staff_member ORDER BY staff_id")
        ).all()
    assert [tuple(r) for r in rows] == [("cm-0001", "sup-0001"), ("sup-0001", None)]
