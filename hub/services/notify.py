"""Notifications of new or changed matches, for the case managers assigned to them.

A linkage run that changes who a record is confidently linked to queues one message per
affected case manager, in the same transaction as the run's results. Messages name no
client and no program (under a consent policy even "your client has a match" may be more
than the case manager may know): they say that matches changed on the caseload and link
to it. The caseload decides what is shown.

Email is delivered at most once: a message is claimed (`sending`, committed) before the
SMTP conversation, marked `sent` after it, and put back for a later attempt only when the
server refused it before accepting it. One left `sending` by a crash is never resent
automatically: a duplicate message is worse than a late one. The in-app feed reads the
same rows.
"""

from __future__ import annotations

import json
import smtplib
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlmodel import Session, col

from hub.crypto import DataCipher, contact_context
from hub.db import refs_by_agency, table_of
from hub.models import Assignment, Link, Notification
from hub.services.preferences import deliveries
from hub.settings import HubSettings

Record = tuple[str, str]  # (agency_id, ref)
MAX_ATTEMPTS = 5
_LINK: Table = table_of(Link)
_NOTIFICATION: Table = table_of(Notification)


def confident_partners(
    session: Session, records: Iterable[Record] | None
) -> dict[Record, frozenset[Record]]:
    """Each record's partners over links outside the review band (`None`: every record)."""
    query = select(_LINK.c.agency_a, _LINK.c.ref_a, _LINK.c.agency_b, _LINK.c.ref_b).where(
        _LINK.c.review.is_(False)
    )
    partners: dict[Record, set[Record]] = defaultdict(set)

    def take(rows: Iterable[Any]) -> None:
        for agency_a, ref_a, agency_b, ref_b in rows:
            partners[(agency_a, ref_a)].add((agency_b, ref_b))
            partners[(agency_b, ref_b)].add((agency_a, ref_a))

    if records is None:
        take(session.execute(query))
    else:
        for agency, refs in refs_by_agency(records):
            take(
                session.execute(
                    query.where(
                        or_(
                            and_(_LINK.c.agency_a == agency, _LINK.c.ref_a.in_(refs)),
                            and_(_LINK.c.agency_b == agency, _LINK.c.ref_b.in_(refs)),
                        )
                    )
                )
            )
    return {record: frozenset(found) for record, found in partners.items()}


def queue_match_notifications(
    session: Session,
    *,
    run_id: int,
    before: dict[Record, frozenset[Record]],
    after: dict[Record, frozenset[Record]],
    now: datetime | None = None,
) -> int:
    """Queue one message per case manager with a record whose confident partners changed;
    returns how many were queued."""
    changed = [r for r in set(before) | set(after) if before.get(r) != after.get(r)]
    return queue_for_case_managers(session, changed, kind="matches_changed", run_id=run_id, now=now)


def queue_for_case_managers(
    session: Session,
    records: list[Record],
    *,
    kind: str,
    run_id: int | None = None,
    ledger_index: int | None = None,
    now: datetime | None = None,
) -> int:
    """Queue one `kind` message per case manager assigned one of `records` (about a
    linkage run or a ledger entry); returns how many were queued."""
    by_staff: dict[tuple[str, str], int] = defaultdict(int)
    for agency, refs in refs_by_agency(records):
        rows = session.execute(
            select(col(Assignment.case_manager_id)).where(
                col(Assignment.agency_id) == agency, col(Assignment.ref).in_(refs)
            )
        )
        for (staff,) in rows:
            by_staff[(agency, staff)] += 1
    return queue_for_staff(
        session, by_staff, kind=kind, run_id=run_id, ledger_index=ledger_index, now=now
    )


def queue_for_staff(
    session: Session,
    by_staff: dict[tuple[str, str], int],
    *,
    kind: str,
    run_id: int | None = None,
    ledger_index: int | None = None,
    now: datetime | None = None,
) -> int:
    """Queue one `kind` message per (agency, staff) about that many clients, as each
    wants it (`hub.services.preferences`); returns how many were queued."""
    at = now or datetime.now(UTC)
    wanted = deliveries(session, sorted(by_staff), kind)
    queued = 0
    for (agency_id, staff), clients in sorted(by_staff.items()):
        delivery = wanted[(agency_id, staff)]
        if delivery == "off":
            continue
        email = delivery == "email"
        session.add(
            Notification(
                agency_id=agency_id,
                case_manager_id=staff,
                kind=kind,
                run_id=run_id,
                ledger_index=ledger_index,
                clients=clients,
                created_at=at,
                email_status="pending" if email else "not_wanted",
                email_attempts=0,
                next_attempt_at=at if email else None,
            )
        )
        queued += 1
    return queued


_WHAT = {
    "matches_changed": (
        "matches changed on your caseload",
        "Matches changed for one or more clients on your caseload.",
    ),
    "consent_recorded": (
        "consent recorded for a client on your caseload",
        "Another program recorded a client's consent to share more with you.",
    ),
    "consent_changed": (
        "consent changed for a client on your caseload",
        "Another program recorded a new consent form that replaces an earlier one.",
    ),
    "consent_revoked": (
        "consent revoked for a client on your caseload",
        "A client withdrew consent: another program shares less with you from now on.",
    ),
    "case_manager_changed": (
        "another program's case manager changed for a client on your caseload",
        "Another program that serves a client on your caseload assigned them a new case manager.",
    ),
    "enrollment_changed": (
        "a client on your caseload left another program",
        "A client on your caseload left another program that served them.",
    ),
    "new_conflict": (
        "a new conflict between programs' plans for a client on your caseload",
        "The combined plan of one or more clients on your caseload has a new conflict "
        "between programs (deadlines, hours or services) to talk about.",
    ),
    "milestone_stuck": (
        "a milestone has been stuck for a long time for a client on your caseload",
        "A milestone in the plan of one or more clients on your caseload has been stuck "
        "for longer than your hub's limit.",
    ),
}


def describe(kind: str) -> str:
    """What a kind of notification says, in one sentence."""
    return _WHAT.get(kind, _WHAT["matches_changed"])[1]


def subject_line(kind: str) -> str:
    """The email's subject: what changed, never who."""
    return f"pprl-hub: {_WHAT.get(kind, _WHAT['matches_changed'])[0]}"


def message_text(settings: HubSettings, agency_id: str, kind: str = "matches_changed") -> str:
    """The whole message: no client, no program, only what changed and where to look."""
    link = (
        settings.caseload_url.replace("{agency}", agency_id)
        if settings.caseload_url
        else "your agency's pprl caseload page"
    )
    return (
        f"{_WHAT.get(kind, _WHAT['matches_changed'])[1]}\n\n"
        f"Open your caseload to see what you may see: {link}\n\n"
        "This message names no client on purpose.\n"
    )


Sender = Callable[[EmailMessage], None]


def smtp_sender(settings: HubSettings) -> Sender:
    """Send through the configured SMTP server (STARTTLS when asked)."""

    def send(message: EmailMessage) -> None:
        host = settings.smtp_host
        if host is None:
            raise RuntimeError("no SMTP server configured (PPRL_SMTP_HOST)")
        with smtplib.SMTP(host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            smtp.send_message(message)

    return send


def deliver_pending(
    sessions: Callable[[], AbstractContextManager[Session]],
    settings: HubSettings,
    *,
    send: Sender,
    email_of: Callable[[Session, str, str], str | None],
    now: datetime | None = None,
    limit: int = 100,
) -> dict[str, int]:
    """Deliver due messages; returns counts by outcome. Each message is claimed in its
    own committed transaction before it is sent."""
    outcome: dict[str, int] = defaultdict(int)
    at = now or datetime.now(UTC)
    with sessions() as session:
        due = [
            n.notification_id
            for n in session.execute(
                select(Notification)
                .where(
                    _NOTIFICATION.c.email_status == "pending",
                    _NOTIFICATION.c.next_attempt_at <= at,
                )
                .order_by(_NOTIFICATION.c.notification_id)
                .limit(limit)
            ).scalars()
        ]
    for notification_id in due:
        with sessions() as session:
            row = session.get(Notification, notification_id, with_for_update=True)
            if row is None or row.email_status != "pending":
                session.rollback()
                continue  # another worker took it
            address = email_of(session, row.agency_id, row.case_manager_id)
            if address is None:
                row.email_status = "no_address"
                session.commit()
                outcome["no_address"] += 1
                continue
            row.email_status, row.email_attempts = "sending", row.email_attempts + 1
            attempts, agency_id, kind = row.email_attempts, row.agency_id, row.kind
            session.commit()
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = address
        message["Subject"] = subject_line(kind)
        message["Message-ID"] = f"<notification-{notification_id}@{settings.smtp_domain}>"
        message.set_content(message_text(settings, agency_id, kind))
        status, error = "sent", None
        try:
            send(message)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPConnectError,
            ConnectionRefusedError,
        ) as exc:
            # Refused before the server took the message: safe to try again later.
            status = "pending" if attempts < MAX_ATTEMPTS else "failed"
            error = type(exc).__name__
        except (smtplib.SMTPException, OSError) as exc:
            # Perhaps delivered, perhaps not: never risk sending twice.
            status, error = "uncertain", type(exc).__name__
        with sessions() as session:
            row = session.get(Notification, notification_id)
            assert row is not None  # noqa: S101  (rows are never deleted)
            row.email_status, row.last_error = status, error
            if status == "sent":
                row.sent_at = datetime.now(UTC)
            elif status == "pending":
                row.next_attempt_at = at + timedelta(minutes=2**attempts)
            session.commit()
        outcome[status] += 1
    return dict(outcome)


def email_from_contacts(cipher: DataCipher) -> Callable[[Session, str, str], str | None]:
    """A case manager's address, from the contact details their agency sends with their
    assignments (sealed at rest; opened here only to address the message)."""

    def email_of(session: Session, agency_id: str, staff: str) -> str | None:
        rows = session.execute(
            select(col(Assignment.ref), col(Assignment.contact))
            .where(col(Assignment.agency_id) == agency_id, col(Assignment.case_manager_id) == staff)
            .order_by(col(Assignment.updated_at).desc())
            .limit(20)
        )
        for ref, sealed in rows:
            contact = json.loads(cipher.open(sealed, contact_context(agency_id, ref)))
            if contact.get("email"):
                return str(contact["email"])
        return None

    return email_of
