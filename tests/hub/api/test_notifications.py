"""Notifications of changed matches: queued with the run, delivered by SMTP at most once,
read in the in-app feed, and never naming a client."""

from __future__ import annotations

import smtplib
from contextlib import nullcontext
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlalchemy import select

from hub.models import Notification
from hub.services import notify
from keys import Role
from tests.hub.api.factories import A, Api, B, C, Inbox, upload

MATCHED = {
    ("DCFS", A): frozenset({("DOC", B)}),
    ("DOC", B): frozenset({("DCFS", A)}),
}


@pytest.fixture
def queued(api: Api) -> Api:
    api.register("DCFS", "DOC", "DWD")
    upload(api, "DCFS", [A], {A: ("cm-0001", {"email": "cm1@dcfs.example.gov"})})
    upload(api, "DOC", [B], {B: ("cm-0007", {"email": "cm7@doc.example.gov"})})
    upload(api, "DWD", [C], {C: ("cm-0009", {})})  # no address: feed only
    queued = notify.queue_match_notifications(api.session, run_id=7, before={}, after=MATCHED)
    assert queued == 2  # DWD's record did not change
    api.session.flush()
    return api


def _deliver(api: Api, port: int, send: notify.Sender | None = None) -> dict[str, int]:
    settings = api.hub.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "caseload_url": "https://node.{agency}.example.gov/caseload",
        }
    )
    assert api.hub.cipher is not None
    return notify.deliver_pending(
        lambda: nullcontext(api.session),
        settings,
        send=send or notify.smtp_sender(settings),
        email_of=notify.email_from_contacts(api.hub.cipher),
    )


def test_changed_matches_are_mailed_once_and_name_no_client(
    queued: Api, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    assert _deliver(queued, port) == {"sent": 2}
    assert sorted(to for to, _ in handler.messages) == [
        ["cm1@dcfs.example.gov"],
        ["cm7@doc.example.gov"],
    ]
    for _, body in handler.messages:
        parsed = message_from_bytes(body, policy=default)
        assert isinstance(parsed, EmailMessage)
        text = str(parsed) + parsed.get_content()
        assert A not in text
        assert B not in text
        assert "corrections" not in text
        assert "child_welfare" not in text
        assert "https://node." in text
        assert "/caseload" in text
    # A second pass sends nothing again.
    assert _deliver(queued, port) == {}
    assert len(handler.messages) == 2


def test_a_refused_message_is_retried_and_an_uncertain_one_never(
    queued: Api, inbox: tuple[Inbox, int]
) -> None:
    _, port = inbox
    calls: list[str] = []

    def refuse(message: EmailMessage) -> None:
        calls.append(str(message["To"]))
        raise smtplib.SMTPRecipientsRefused({})

    assert _deliver(queued, port, refuse) == {"pending": 2}
    rows = queued.session.execute(select(Notification)).scalars().all()
    assert all(r.email_status == "pending" and r.email_attempts == 1 for r in rows)
    # Due again later; this time the connection drops after the data went out.
    for row in rows:
        row.next_attempt_at = row.created_at
    queued.session.flush()

    def drop(message: EmailMessage) -> None:
        raise smtplib.SMTPServerDisconnected("lost after DATA")

    assert _deliver(queued, port, drop) == {"uncertain": 2}
    assert _deliver(queued, port) == {}  # never resent: it may have been delivered


def test_a_message_claimed_before_a_crash_is_not_resent(
    queued: Api, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    rows = queued.session.execute(select(Notification)).scalars().all()
    rows[0].email_status = "sending"  # the worker died mid-conversation
    queued.session.flush()
    assert _deliver(queued, port) == {"sent": 1}
    assert len(handler.messages) == 1


def test_the_feed_shows_each_case_manager_only_their_own(queued: Api) -> None:
    mine = queued.as_("DCFS", "cm-0001", Role.CASE_MANAGER)
    other = queued.as_("DCFS", "cm-0002", Role.CASE_MANAGER)
    feed = queued.client.get("/v1/notifications", headers=mine).json()
    assert len(feed) == 1
    assert feed[0]["read"] is False
    assert A not in feed[0]["message"]
    assert queued.client.get("/v1/notifications", headers=other).json() == []
    nid = feed[0]["notification_id"]
    refused = queued.client.post(f"/v1/notifications/{nid}/read", headers=other)
    missing = queued.client.post("/v1/notifications/999999/read", headers=other)
    assert refused.status_code == missing.status_code == 404
    assert queued.client.post(f"/v1/notifications/{nid}/read", headers=mine).status_code == 204
    assert queued.client.get("/v1/notifications", headers=mine).json()[0]["read"] is True
