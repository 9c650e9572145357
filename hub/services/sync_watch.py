"""Is every agency's nightly job still running? Each node checks in at the end of every
sync, changes or not (`SyncCheckIn`); an agency not heard from for longer than its
expected rhythm (`PPRL_SYNC_EXPECTED_HOURS`, or its own in
`PPRL_SYNC_EXPECTED_HOURS_BY_AGENCY`) is stale. A registered agency that never synced is
stale from the start. The operators' health page and /metrics show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from contract import SyncCheckInIn
from hub.models import Agency, SyncCheckIn
from hub.settings import HubSettings


@dataclass(frozen=True)
class SyncStatus:
    """One agency's last sync and whether it is overdue."""

    agency_id: str
    last_sync_at: datetime | None
    expected_hours: float
    age_hours: float | None

    @property
    def stale(self) -> bool:
        """Never synced, or not for longer than expected."""
        return self.age_hours is None or self.age_hours > self.expected_hours

    @property
    def warning(self) -> str | None:
        """What the health page says of a stale agency."""
        if self.age_hours is None:
            return "its node has never synced: is its nightly job set up?"
        if self.stale:
            return (
                f"its node last synced {self.age_hours:.0f} hours ago (expected every "
                f"{self.expected_hours:g}): check the agency's nightly job"
            )
        return None


def expected_hours(settings: HubSettings, agency_id: str) -> float:
    """How often `agency_id` is expected to sync."""
    return settings.sync_expected_hours_by_agency.get(agency_id, settings.sync_expected_hours)


def check_in(session: Session, agency_id: str, body: SyncCheckInIn, *, at: datetime) -> None:
    """Record that the agency's node finished a sync now (the caller commits)."""
    row = session.get(SyncCheckIn, agency_id)
    if row is None:
        row = SyncCheckIn(agency_id=agency_id, last_sync_at=at, runs=0, batches=0)
    row.last_sync_at, row.runs, row.batches = at, body.runs, body.batches
    session.add(row)


def sync_statuses(session: Session, settings: HubSettings, *, now: datetime) -> list[SyncStatus]:
    """Every registered agency's last sync, by agency id."""
    last = dict(
        session.execute(select(col(SyncCheckIn.agency_id), col(SyncCheckIn.last_sync_at))).all()
    )
    agencies = session.execute(
        select(col(Agency.agency_id)).order_by(col(Agency.agency_id))
    ).scalars()
    out = []
    for agency in agencies:
        at = last.get(agency)
        age = None if at is None else (now - at).total_seconds() / 3600
        out.append(SyncStatus(agency, at, expected_hours(settings, agency), age))
    return out
