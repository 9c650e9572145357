"""An agency's own records of one person (two case numbers) in one cluster: the answers
reach the person's other programs through either record, the other side sees both, and
the agency's steward alone reviews the pair, seeing both records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.models import LinkageRun
from keys import Role
from tests.hub.api.factories import Api, link, ref, upload

FIRST, SECOND, THEIRS, OTHER = (ref(f"dup-{x}") for x in ("first", "second", "theirs", "other"))


def _run(api: Api) -> int:
    now = datetime.now(UTC)
    run = LinkageRun(
        kind="full",
        status="succeeded",
        requested_by="op-1",
        progress=1.0,
        stage="done",
        created_at=now,
        finished_at=now,
    )
    api.session.add(run)
    api.session.flush()
    assert run.run_id is not None
    return run.run_id


def _asks(api: Api, agency: str, staff: str, record: str) -> dict[str, Any]:
    headers = api.as_(agency, staff, Role.CASE_MANAGER)
    answer = api.client.get(f"/v1/clients/{record}/shared", headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_person_held_twice_by_one_agency_is_one_person_to_the_others(api: Api) -> None:
    api.register("DCFS", "DOC")
    upload(
        api,
        "DCFS",
        [FIRST, SECOND, OTHER],
        {FIRST: ("cm-0001", {}), SECOND: ("cm-0002", {}), OTHER: ("cm-0003", {})},
    )
    upload(api, "DOC", [THEIRS], {THEIRS: ("cm-0007", {"display_name": "Officer Reyes"})})
    run = _run(api)
    # DCFS holds the person twice: the duplicate pair holds the cluster together with
    # DOC's record, which linked to the first of them.
    link(
        api,
        run,
        1,
        [("DCFS", FIRST, "DOC", THEIRS, 0.93, False), ("DCFS", FIRST, "DCFS", SECOND, 0.95, False)],
    )
    link(api, run, 2, [("DCFS", OTHER, "DCFS", OTHER[:-1] + "0", 0.72, True)])
    api.session.commit()

    # The second case number's case manager learns of corrections too.
    second = _asks(api, "DCFS", "cm-0002", SECOND)
    assert second["shared"] is True
    assert [p["program"] for p in second["programs"]] == ["corrections"]
    # DCFS never sees its own other record as "another program".
    first = _asks(api, "DCFS", "cm-0001", FIRST)
    assert [p["program"] for p in first["programs"]] == ["corrections"]
    # Corrections sees child welfare once per child-welfare record of the person.
    theirs = _asks(api, "DOC", "cm-0007", THEIRS)
    refs = sorted(p["record_ref"] for p in theirs["programs"])
    assert refs == sorted([FIRST, SECOND])


def test_the_agencys_steward_alone_reviews_its_own_two_records(api: Api) -> None:
    api.register("DCFS", "DOC")
    twin = OTHER[:-1] + "0"
    upload(api, "DCFS", [OTHER, twin], {OTHER: ("cm-0003", {}), twin: ("cm-0004", {})})
    run = _run(api)
    link(api, run, 2, [("DCFS", OTHER, "DCFS", twin, 0.72, True)])
    api.session.commit()
    steward = api.as_("DCFS", "st-0001")
    (item,) = api.client.get("/v1/agencies/DCFS/review", headers=steward).json()
    assert {item["ref"], item["other_ref"]} == {OTHER, twin}
    assert api.client.get("/v1/agencies/DOC/review", headers=api.as_("DOC")).json() == []
    answered = api.client.post(
        f"/v1/agencies/DCFS/review/{item['item_id']}", json={"answer": "same"}, headers=steward
    )
    assert answered.status_code == 200, answered.text
    from hub.services import review

    pair = ("DCFS", OTHER, "DCFS", twin)
    assert review.confirmed(api.session, [pair]) == {pair}  # one answer decides
