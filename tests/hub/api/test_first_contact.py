"""First contacts: a case manager says they reached another program's case manager;
only a program whose contact they may see counts, the first time is kept, and the
dashboard publishes the median days from match to first contact under the small-cell
rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub.models import ExistenceDisclosure, FirstContact
from keys import Role
from tests.hub.api.factories import A, Api, ref


def _contact(api: Api, program: str, staff: str = "cm-0001") -> Any:
    return api.client.post(
        f"/v1/clients/{A}/contacts",
        json={"program": program},
        headers=api.as_("DCFS", staff, Role.CASE_MANAGER),
    )


def test_only_a_program_whose_contact_you_see_can_be_contacted_and_once(
    api: Api, scenario: dict[str, int]
) -> None:
    first = _contact(api, "corrections")  # consented contact
    assert first.status_code == 200, first.text
    again = _contact(api, "corrections")
    assert again.json()["contacted_at"] == first.json()["contacted_at"]
    rows = api.session.execute(select(FirstContact)).scalars().all()
    assert [(r.program, r.staff_id) for r in rows] == [("corrections", "cm-0001")]
    missing = api.client.post(
        f"/v1/clients/{ref('nobody')}/contacts",
        json={"program": "corrections"},
        headers=api.as_("DCFS", "cm-0001", Role.CASE_MANAGER),
    )
    for refused in (
        _contact(api, "vocational_rehab"),  # not linked: nothing to contact
        _contact(api, "corrections", staff="cm-0002"),  # not their client
    ):
        assert refused.status_code == missing.status_code == 404


def test_the_dashboard_publishes_the_median_days_to_first_contact(api: Api) -> None:
    api.register("DCFS", "DOC")
    now = datetime.now(UTC)
    for n in range(12):
        api.session.add(
            ExistenceDisclosure(
                agency_id="DCFS",
                staff_id="cm-0001",
                ref=ref(f"k{n}"),
                disclosing_program="corrections",
                subject=ref(f"o{n}"),
                basis="agreement",
                grant_index=-1,
                access_entry=n,
                disclosed_at=now - timedelta(days=n + 1),
            )
        )
        api.session.add(
            FirstContact(
                agency_id="DCFS",
                ref=ref(f"k{n}"),
                program="corrections",
                staff_id="cm-0001",
                contacted_at=now,
            )
        )
    api.session.flush()
    body = api.client.get("/v1/reports/dashboard", headers=api.operator()).json()
    (series,) = [s for s in body["series"] if s["measure"] == "days_to_first_contact"]
    assert series["values"][-1] == 6  # median of 1..12 days is 6.5, rounded to even
    assert all(v is None for v in series["values"][:-1])
