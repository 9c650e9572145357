"""Encoding health per agency: what an operator checks to catch a node with a broken
export, the wrong secret or the wrong schema, from the encodings alone.

- popcount: the share of bits set, its spread, and its drift between the latest sync
  and what was there before (a normalisation change or a truncated column moves it);
- canary: whether the agency's canary digest equals the other agencies' (same secret
  and schema), per epoch and schema fingerprint;
- unlinked share: records in no cluster; much higher than at the other agencies means
  that node's records do not look like anyone else's.
"""

from __future__ import annotations

import hmac
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlmodel import Session, col

from hub.db import table_of
from hub.models import Canary, Encoding, RecordCluster

DRIFT_LIMIT = 0.02  # share of bits set
UNLINKED_FACTOR = 0.5  # linked share under half the other agencies' median
_CHUNK = 50_000  # encodings fetched and counted at a time


@dataclass
class AgencyHealth:
    """One agency's encodings at a glance, with the warnings an operator should act on."""

    agency_id: str
    records: int
    epochs: list[str]
    schema_fingerprints: list[str]
    popcount_mean: float
    popcount_sd: float
    popcount_histogram: list[int]  # 20 bins of the share of bits set, 0 to 1
    latest_sync_at: datetime | None
    latest_sync_records: int
    drift: float | None
    canary: str  # "matches", "differs" or "missing"
    linked_share: float
    warnings: list[str] = field(default_factory=list)


def encoding_health(session: Session) -> list[AgencyHealth]:
    """Every agency that has uploaded encodings."""
    agencies = [
        a
        for (a,) in session.execute(
            select(col(Encoding.agency_id)).distinct().order_by(col(Encoding.agency_id))
        )
    ]
    linked: dict[str, int] = dict(
        session.execute(
            select(col(RecordCluster.agency_id), func.count()).group_by(
                col(RecordCluster.agency_id)
            )
        ).all()
    )
    canaries = _canary_status(session)
    out = [_one(session, agency, int(linked.get(agency, 0)), canaries) for agency in agencies]
    shares = [h.linked_share for h in out]
    for health in out:
        others = [s for h, s in zip(out, shares, strict=True) if h is not health]
        if (
            others
            and health.records
            and health.linked_share < UNLINKED_FACTOR * statistics.median(others)
        ):
            health.warnings.append(
                f"only {health.linked_share:.1%} of its records link to anyone, against "
                f"{statistics.median(others):.1%} at the other agencies: check that node's export"
            )
    return out


def _one(
    session: Session, agency: str, linked: int, canaries: dict[tuple[str, str, str], str]
) -> AgencyHealth:
    mine = col(Encoding.agency_id) == agency
    latest = session.execute(select(func.max(Encoding.updated_at)).where(mine)).scalar_one()
    share, recent = _bit_shares(session, agency, latest)
    drift = None
    if recent.any() and (~recent).any():
        drift = float(share[recent].mean() - share[~recent].mean())
    contexts = session.execute(
        select(col(Encoding.epoch), col(Encoding.schema_fingerprint)).where(mine).distinct()
    ).all()
    epochs = sorted({e for e, _ in contexts})
    fingerprints = sorted({f for _, f in contexts})
    statuses = {canaries.get((agency, e, f), "missing") for e in epochs for f in fingerprints}
    canary = (
        "differs" if "differs" in statuses else "missing" if "missing" in statuses else "matches"
    )
    health = AgencyHealth(
        agency_id=agency,
        records=len(share),
        epochs=epochs,
        schema_fingerprints=fingerprints,
        popcount_mean=float(share.mean()) if len(share) else 0.0,
        popcount_sd=float(share.std()) if len(share) else 0.0,
        popcount_histogram=np.histogram(share, bins=20, range=(0.0, 1.0))[0].tolist(),
        latest_sync_at=latest,
        latest_sync_records=int(recent.sum()),
        drift=drift,
        canary=canary,
        linked_share=linked / len(share) if len(share) else 0.0,
    )
    if drift is not None and abs(drift) > DRIFT_LIMIT:
        health.warnings.append(
            f"the latest sync's encodings set {abs(drift):.1%} {'more' if drift > 0 else 'fewer'} "
            "of their bits than the earlier ones: did the export or its normalisation change?"
        )
    if canary == "differs":
        health.warnings.append(
            "its canary differs from the other agencies': wrong secret or schema"
        )
    if len(epochs) > 1 or len(fingerprints) > 1:
        health.warnings.append("its encodings mix secret epochs or schemas")
    return health


def _bit_shares(
    session: Session, agency: str, latest: datetime | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Each encoding's share of bits set, and whether the latest sync wrote it. Streamed
    in chunks and counted with a vectorised popcount: an operator's page view over a
    million encodings must neither hold them all as Python objects nor unpack their bits."""
    table = table_of(Encoding)
    query = (
        select(table.c.clk, table.c.updated_at == latest)
        .where(table.c.agency_id == agency)
        .execution_options(yield_per=_CHUNK)
    )
    shares: list[npt.NDArray[np.float64]] = []
    recents: list[npt.NDArray[np.bool_]] = []
    result = session.connection().execute(query)  # Core rows: no ORM work per row
    for chunk in result.partitions():
        clks = [bytes(clk) for clk, _ in chunk]
        recents.append(np.fromiter((bool(r) for _, r in chunk), bool, len(chunk)))
        # Every CLK at the hub has the same width (uploads are checked).
        bits = np.frombuffer(b"".join(clks), np.uint8).reshape(len(clks), -1)
        counts = np.bitwise_count(bits).sum(axis=1, dtype=np.uint32)
        shares.append(counts / (8 * bits.shape[1]))
    if not shares:
        return np.zeros(0), np.zeros(0, bool)
    return np.concatenate(shares), np.concatenate(recents)


def _canary_status(session: Session) -> dict[tuple[str, str, str], str]:
    by_context: dict[tuple[str, str], list[tuple[str, bytes]]] = defaultdict(list)
    for row in session.execute(select(Canary)).scalars():
        by_context[(row.epoch, row.schema_fingerprint)].append((row.agency_id, bytes(row.digest)))
    out = {}
    for (epoch, fingerprint), entries in by_context.items():
        # The canary most agencies share is the reference: one wrong node stands out.
        reference = Counter(digest for _, digest in entries).most_common(1)[0][0]
        for agency, digest in entries:
            same = hmac.compare_digest(digest, reference)
            out[(agency, epoch, fingerprint)] = "matches" if same else "differs"
    return out
