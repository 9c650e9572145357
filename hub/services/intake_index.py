"""The hub's in-memory index of stored encodings for intake lookups, kept current by
upload sequence number: a lookup first applies whatever batches committed since the last
one (`Encoding.seq`, `EncodingRemoval.seq`), so an intake sees the rosters as synced, not
as last linked. One context (secret epoch and schema) at a time: encodings of another
cannot be compared. The index holds references and CLKs only, as the database does."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import func, select
from sqlmodel import Session, col

from hub.linkage.kernel import as_matrix
from hub.linkage.lookup import Candidate, EncodingIndex
from hub.models import Encoding, EncodingRemoval


class IntakeIndex:
    """Every stored encoding of one context, refreshed before each lookup."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index = EncodingIndex()
        self._context: tuple[str, str] | None = None
        self._through = -1

    def match(
        self, session: Session, context: tuple[str, str], clk: bytes, floor: float, *, skip: str
    ) -> list[Candidate]:
        """Stored records of other agencies scoring at least `floor` against `clk`."""
        with self._lock:
            self._refresh(session, context)
            return self._index.match(clk, floor, skip=skip)

    def _refresh(self, session: Session, context: tuple[str, str]) -> None:
        if context != self._context:
            self._index, self._context, self._through = EncodingIndex(), context, -1
        latest = session.execute(select(func.max(Encoding.seq))).scalar_one_or_none() or 0
        removed = session.execute(select(func.max(EncodingRemoval.seq))).scalar_one_or_none()
        newest = max(int(latest), int(removed or 0))
        if newest <= self._through:
            return
        epoch, fingerprint = context
        rows = session.execute(
            select(
                col(Encoding.agency_id),
                col(Encoding.ref),
                col(Encoding.clk),
                col(Encoding.member_only),
            ).where(
                col(Encoding.seq) > self._through,
                col(Encoding.epoch) == epoch,
                col(Encoding.schema_fingerprint) == fingerprint,
            )
        ).all()
        gone = session.execute(
            select(col(EncodingRemoval.agency_id), col(EncodingRemoval.ref)).where(
                col(EncodingRemoval.seq) > self._through
            )
        ).all()
        upserts: dict[str, tuple[list[str], list[bytes]]] = {}
        removals: dict[str, list[str]] = {}
        for agency, ref, clk, member_only in rows:
            if member_only:  # a family member the agency does not serve: no intake answer
                removals.setdefault(agency, []).append(ref)
                continue
            refs, clks = upserts.setdefault(agency, ([], []))
            refs.append(ref)
            clks.append(bytes(clk))
        for agency, ref in gone:
            removals.setdefault(agency, []).append(ref)
        for agency in sorted(set(upserts) | set(removals)):
            refs, clks = upserts.get(agency, ([], []))
            matrix = as_matrix(clks) if clks else np.empty((0, self._index.words), np.uint64)
            self._index.apply(agency, (refs, matrix), removals.get(agency, []))
        self._through = newest
