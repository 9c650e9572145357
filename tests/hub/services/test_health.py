"""Encoding health's bit counts, streamed in chunks, equal a direct count of every bit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import Session

from hub.models import Agency, Encoding
from hub.services import health


def test_shares_of_bits_set_are_exact_across_chunks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "_CHUNK", 7)  # many chunks and a ragged last one
    rng = np.random.default_rng(5)
    now = datetime.now(UTC).replace(microsecond=0)
    bits = rng.random((100, 1024)) < rng.uniform(0.2, 0.6, (100, 1))
    session.add(Agency(agency_id="DCFS", registered_at=now))
    session.flush()
    for i, row in enumerate(bits):
        when = now if i % 4 == 0 else now - timedelta(days=1)  # a quarter by the latest sync
        session.add(
            Encoding(
                agency_id="DCFS",
                ref=f"{i:064x}",
                clk=np.packbits(row).tobytes(),
                epoch="e",
                schema_fingerprint="f",
                updated_at=when,
            )
        )
    session.flush()

    (report,) = health.encoding_health(session)
    share = bits.mean(axis=1)
    latest = np.arange(100) % 4 == 0
    assert report.records == 100
    assert report.latest_sync_records == 25
    assert report.popcount_mean == pytest.approx(share.mean(), abs=1e-12)
    assert report.popcount_sd == pytest.approx(share.std(), abs=1e-12)
    assert report.drift == pytest.approx(share[latest].mean() - share[~latest].mean(), abs=1e-12)
    assert report.popcount_histogram == np.histogram(share, bins=20, range=(0, 1))[0].tolist()
