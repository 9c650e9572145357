"""Linking on the hub's own rhythm: after a sync window closes, an incremental run links
what the agencies sent, so new matches reach case managers the same night without an
operator's `run-linkage`.

Two rhythms, either or both: after the sync window (`PPRL_AUTO_LINK_AFTER_MINUTES`),
which closes when no encodings arrived for that long and some arrived since the last
run linked; or at a time of day (`PPRL_AUTO_LINK_AT`, in `PPRL_AUTO_LINK_TIMEZONE`),
once that day when something arrived since the last run. The hub checks every minute. Only
incremental runs start by themselves: the first run, which proposes the threshold, is an
operator's to start and check. One run at a time, as for an operator's request: while
one is queued or running nothing starts. Off unless the setting is given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from hub.errors import Conflict
from hub.models import Encoding, EncodingRemoval, LinkageRun
from hub.services.linkage import LinkageRunner
from hub.settings import HubSettings

REQUESTED_BY = "schedule"


def enabled(settings: HubSettings) -> bool:
    """Whether the hub links by itself at all."""
    return settings.auto_link_after_minutes is not None or settings.auto_link_at is not None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _time_of_day_passed(session: Session, settings: HubSettings, now: datetime) -> bool:
    """Today's linking time has come, and no run was asked for since."""
    if settings.auto_link_at is None:
        return False
    zone = ZoneInfo(settings.auto_link_timezone)
    local = now.astimezone(zone)
    today_at = datetime.combine(local.date(), settings.auto_link_at, tzinfo=zone)
    if local < today_at:
        return False
    latest = session.execute(select(func.max(LinkageRun.created_at))).scalar_one_or_none()
    return latest is None or _aware(latest) < today_at


def due(session: Session, settings: HubSettings, *, now: datetime) -> bool:
    """Whether an incremental run should start now (see the module notes)."""
    window = settings.auto_link_after_minutes
    if not enabled(settings):
        return False
    through = session.execute(
        select(func.max(LinkageRun.through_seq)).where(col(LinkageRun.status) == "succeeded")
    ).scalar_one_or_none()
    if through is None:  # no run yet: the first is an operator's
        return False
    newest = max(
        int(session.execute(select(func.max(Encoding.seq))).scalar_one_or_none() or 0),
        int(session.execute(select(func.max(EncodingRemoval.seq))).scalar_one_or_none() or 0),
    )
    if newest <= through:
        return False
    if _time_of_day_passed(session, settings, now):
        return True
    if window is None:
        return False
    # The newest batch's rows (by the indexed sequence number, not a scan of every
    # encoding each minute); a batch of removals only has no time and counts as quiet.
    last = session.execute(
        select(func.max(Encoding.updated_at)).where(col(Encoding.seq) == newest)
    ).scalar_one_or_none()
    return last is None or now - last >= timedelta(minutes=window)


def link_if_due(
    runner: LinkageRunner, session: Session, settings: HubSettings, now: datetime
) -> int | None:
    """Start and run an incremental linkage when one is due; returns its id, or None."""
    if not due(session, settings, now=now):
        session.rollback()
        return None
    try:
        run = runner.request(session, kind="incremental", threshold=None, requested_by=REQUESTED_BY)
    except Conflict:  # an operator's run is on its way
        session.rollback()
        return None
    session.commit()
    run_id = run.run_id
    assert run_id is not None  # noqa: S101  (flushed)
    session.rollback()  # end the read, so the run can commit (SQLite)
    runner.execute(run_id)
    return run_id
