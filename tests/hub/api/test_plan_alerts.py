"""Plan alerts end to end: a program adds a milestone, the daily sweep finds a new
conflict and a long-stuck milestone as each case manager may see them, tells each once
as they asked (feed and email, feed only, or not at all), and names no client."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from hub.disclosure import DisclosureEngine
from hub.models import Notification
from hub.services import notify
from hub.services.plan_alerts import sweep
from hub.services.team import PlanRules
from keys import Role
from tests.hub.api.factories import A, Api, B, milestones, required_housing

RULES = PlanRules(deadline_window_days=14, stuck_after_days=30, client_hours_per_week=20)


def _sweep(api: Api) -> Any:
    assert api.hub.ledger is not None
    engine = DisclosureEngine(api.hub.ledger, api.hub.cipher, api.hub.settings)
    result = sweep(engine, api.session, RULES, now=datetime.now(UTC))
    api.session.flush()
    return result


def _queued(api: Api) -> list[tuple[str, str, str, int, str]]:
    rows = api.session.execute(
        select(Notification).where(col(Notification.kind).in_(["new_conflict", "milestone_stuck"]))
    ).scalars()
    return sorted((r.agency_id, r.case_manager_id, r.kind, r.clients, r.email_status) for r in rows)


def test_a_new_conflict_and_a_long_stuck_milestone_are_told_once(
    api: Api, scenario: dict[str, int]
) -> None:
    assert _sweep(api).queued == 0  # lease and report serve different needs: nothing
    required_housing(api)  # corrections: a required residence, stuck for 40 days
    result = _sweep(api)
    # cm-0001: competing deadlines and overlapping housing, and the stuck milestone;
    # cm-0007 (corrections' own case manager): the stuck milestone.
    assert (result.new_conflicts, result.newly_stuck) == (2, 2)
    assert _queued(api) == [
        # child welfare's case manager sees corrections' plan (consented): both
        ("DCFS", "cm-0001", "milestone_stuck", 1, "pending"),
        ("DCFS", "cm-0001", "new_conflict", 1, "pending"),
        # corrections' own case manager sees their own stuck milestone, and no conflict
        # (child welfare's plan is not shared with corrections)
        ("DOC", "cm-0007", "milestone_stuck", 1, "pending"),
    ]
    assert _sweep(api).queued == 0  # told once
    feed = api.client.get(
        "/v1/notifications", headers=api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    ).json()
    said = {n["kind"]: n["message"] for n in feed}
    assert "has a new conflict between programs" in said["new_conflict"]
    for message in said.values():
        assert A not in message
        assert "corrections" not in message
        assert "residence" not in message


def test_each_case_manager_chooses_how_to_be_told(api: Api, scenario: dict[str, int]) -> None:
    headers = api.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    before = api.client.get("/v1/notifications/preferences", headers=headers).json()
    assert {p["kind"]: p["delivery"] for p in before}["new_conflict"] == "email"
    changed = api.client.put(
        "/v1/notifications/preferences",
        json={"preferences": {"new_conflict": "off", "milestone_stuck": "in_app"}},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    now = {p["kind"]: p["delivery"] for p in changed.json()}
    assert (now["new_conflict"], now["milestone_stuck"], now["matches_changed"]) == (
        "off",
        "in_app",
        "email",
    )
    required_housing(api)
    _sweep(api)
    mine = [q for q in _queued(api) if q[1] == "cm-0001"]
    assert mine == [("DCFS", "cm-0001", "milestone_stuck", 1, "not_wanted")]  # feed only
    bad = api.client.put(
        "/v1/notifications/preferences",
        json={"preferences": {"new_conflict": "pigeon"}},
        headers=headers,
    )
    assert bad.status_code == 422
    supervisor = api.as_("DCFS", "sup-0001", Role.SUPERVISOR)
    assert api.client.get("/v1/notifications/preferences", headers=supervisor).status_code == 403


def test_a_conflict_that_goes_and_comes_back_is_told_again(
    api: Api, scenario: dict[str, int]
) -> None:
    required_housing(api)
    _sweep(api)
    done = {
        "ref": B,
        "milestone_id": "p3",
        "goal": "Approved residence",
        "milestone": "Move into an approved address",
        "service_kind": "housing",
        "status": "complete",
    }
    milestones(api, "DOC", [done], batch="pln-00003")
    assert _sweep(api).queued == 0  # resolved: nothing to tell
    required_housing(api, batch="pln-00004")  # stuck again
    assert _sweep(api).newly_stuck == 2  # told again, once each


def test_emails_of_plan_alerts_name_no_client(api: Api, scenario: dict[str, int]) -> None:
    required_housing(api)
    _sweep(api)
    sent: list[EmailMessage] = []
    assert api.hub.cipher is not None
    notify.deliver_pending(
        lambda: nullcontext(api.session),
        api.hub.settings,
        send=sent.append,
        email_of=lambda *_: "cm@example.gov",
    )
    subjects = {str(m["Subject"]) for m in sent}
    assert "pprl-hub: a new conflict between programs' plans for a client on your caseload" in (
        subjects
    )
    for message in sent:
        text = str(message)
        assert A not in text
        assert B not in text
        assert "corrections" not in text
