"""What linkage reads from and writes to the database: encodings (all, or those changed
after a sequence number), removals, and the clusters and links a run produced."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, and_, delete, func, or_, select
from sqlmodel import Session

from hub.db import refs_by_agency, table_of
from hub.errors import Conflict
from hub.linkage.kernel import Matrix
from hub.linkage.refs import RAW_REF, Refs
from hub.linkage.results import ClusterRow, LinkRow
from hub.linkage.state import LinkageState
from hub.models import Encoding, EncodingCounter, EncodingRemoval, Link, RecordCluster

_ENCODING: Table = table_of(Encoding)
_REMOVAL: Table = table_of(EncodingRemoval)
_COUNTER: Table = table_of(EncodingCounter)
_CLUSTER: Table = table_of(RecordCluster)
_LINK: Table = table_of(Link)
_STREAM = 20_000


@dataclass(frozen=True)
class Context:
    """The secret epoch and schema that the linked encodings share."""

    epoch: str
    schema_fingerprint: str


@dataclass
class Loaded:
    """One agency's encodings as arrays, with the cluster ids records had (0: none)."""

    refs: Refs
    clks: Matrix
    clusters: npt.NDArray[np.int64]


def current_seq(session: Session) -> int:
    """The last batch sequence number committed."""
    return int(session.execute(select(_COUNTER.c.value).where(_COUNTER.c.id == 1)).scalar_one())


def linkable_context(
    session: Session, epoch: str | None, fingerprint: str | None
) -> Context | None:
    """The hub's configured context, or else the one all stored encodings share."""
    if epoch is not None and fingerprint is not None:
        return Context(epoch, fingerprint)
    query = select(_ENCODING.c.epoch, _ENCODING.c.schema_fingerprint).distinct()
    if epoch is not None:
        query = query.where(_ENCODING.c.epoch == epoch)
    if fingerprint is not None:
        query = query.where(_ENCODING.c.schema_fingerprint == fingerprint)
    found = session.execute(query.limit(2)).all()
    if len(found) > 1:
        raise Conflict(
            "encodings of more than one secret epoch or schema are stored; set "
            "PPRL_SECRET_EPOCH and PPRL_SCHEMA_FINGERPRINT to say which to link"
        )
    return Context(found[0][0], found[0][1]) if found else None


def _in_context(context: Context) -> Any:
    return and_(
        _ENCODING.c.epoch == context.epoch,
        _ENCODING.c.schema_fingerprint == context.schema_fingerprint,
    )


def count(session: Session, context: Context) -> int:
    """Encodings stored in the context."""
    query = select(func.count()).select_from(_ENCODING).where(_in_context(context))
    return int(session.execute(query).scalar_one())


def load_all(
    session: Session, context: Context, through_seq: int, words: int = 16
) -> dict[str, Loaded]:
    """Every encoding in the context up to `through_seq`, with its current cluster id,
    streamed into preallocated arrays (no Python object per record survives)."""
    sizes = dict(
        session.execute(
            select(_ENCODING.c.agency_id, func.count())
            .where(_in_context(context), _ENCODING.c.seq <= through_seq)
            .group_by(_ENCODING.c.agency_id)
        ).all()
    )
    out = {
        agency: Loaded(np.empty(n, RAW_REF), np.empty((n, words), np.uint64), np.zeros(n, np.int64))
        for agency, n in sizes.items()
    }
    filled = dict.fromkeys(sizes, 0)
    query = (
        select(_ENCODING.c.agency_id, _ENCODING.c.ref, _ENCODING.c.clk, _CLUSTER.c.cluster_id)
        .select_from(
            _ENCODING.outerjoin(
                _CLUSTER,
                and_(
                    _CLUSTER.c.agency_id == _ENCODING.c.agency_id,
                    _CLUSTER.c.ref == _ENCODING.c.ref,
                ),
            )
        )
        .where(_in_context(context), _ENCODING.c.seq <= through_seq)
        .execution_options(yield_per=_STREAM)
    )
    for agency, ref, clk, cluster in session.execute(query):
        target, row = out[agency], filled[agency]
        target.refs[row] = bytes.fromhex(ref)
        target.clks[row] = np.frombuffer(clk, np.uint64)
        target.clusters[row] = cluster or 0
        filled[agency] = row + 1
    return out


def load_changes(
    session: Session, context: Context, after_seq: int, through_seq: int, words: int = 16
) -> tuple[dict[str, tuple[list[str], Matrix]], dict[str, list[str]]]:
    """Encodings written, and records removed, by batches in (after_seq, through_seq]. A
    record removed and then sent again is an upsert: the table holds what is current."""
    upserts: dict[str, tuple[list[str], list[bytes]]] = {}
    rows = session.execute(
        select(_ENCODING.c.agency_id, _ENCODING.c.ref, _ENCODING.c.clk)
        .where(_in_context(context), _ENCODING.c.seq > after_seq, _ENCODING.c.seq <= through_seq)
        .order_by(_ENCODING.c.agency_id, _ENCODING.c.ref)
    )
    for agency, ref, clk in rows:
        refs, clks = upserts.setdefault(agency, ([], []))
        refs.append(ref)
        clks.append(bytes(clk))
    removals: dict[str, set[str]] = {}
    for agency, ref in session.execute(
        select(_REMOVAL.c.agency_id, _REMOVAL.c.ref).where(
            _REMOVAL.c.seq > after_seq, _REMOVAL.c.seq <= through_seq
        )
    ):
        removals.setdefault(agency, set()).add(ref)
    current = {a: set(refs) for a, (refs, _) in upserts.items()}
    matrices = {
        a: (refs, np.frombuffer(b"".join(clks), np.uint64).reshape(-1, words).copy())
        for a, (refs, clks) in upserts.items()
    }
    return matrices, {
        a: sorted(refs - current.get(a, set())) for a, refs in removals.items() if refs
    }


def _rows(
    placed: Iterable[ClusterRow], links: Iterable[LinkRow], run_id: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    clusters = [
        {"agency_id": r.agency, "ref": r.ref, "cluster_id": r.cluster_id, "run_id": run_id}
        for r in placed
    ]
    cluster_of = {(r["agency_id"], r["ref"]): r["cluster_id"] for r in clusters}
    link_rows = [
        {
            "agency_a": r.agency_a,
            "ref_a": r.ref_a,
            "agency_b": r.agency_b,
            "ref_b": r.ref_b,
            "score": r.score,
            "review": r.review,
            "cluster_id": cluster_of[r.agency_a, r.ref_a],
            "run_id": run_id,
        }
        for r in links
    ]
    return clusters, link_rows


def save_all(session: Session, state: LinkageState, run_id: int) -> None:
    """Replace every stored cluster and link with the state's."""
    session.execute(delete(_LINK))
    session.execute(delete(_CLUSTER))
    clusters, links = _rows(state.clusters(), state.joined(), run_id)
    _insert(session, _CLUSTER, clusters)
    _insert(session, _LINK, links)


def save_update(session: Session, state: LinkageState, run_id: int) -> int:
    """Rewrite only what the state's last update re-solved or removed; returns the number
    of records rewritten."""
    placed = state.placed()
    keys = state.resolved_keys() | set(state.last_removed)
    # By agency, so each delete searches the primary key and ix_link_b (a row-value IN
    # of several keys would scan the whole table on SQLite).
    for agency, refs in refs_by_agency(keys):
        session.execute(
            delete(_CLUSTER).where(_CLUSTER.c.agency_id == agency, _CLUSTER.c.ref.in_(refs))
        )
        session.execute(
            delete(_LINK).where(
                or_(
                    and_(_LINK.c.agency_a == agency, _LINK.c.ref_a.in_(refs)),
                    and_(_LINK.c.agency_b == agency, _LINK.c.ref_b.in_(refs)),
                )
            )
        )
    clusters, links = _rows(placed, state.links_among(), run_id)
    _insert(session, _CLUSTER, clusters)
    _insert(session, _LINK, links)
    return len(keys)


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 10_000):
        session.execute(table.insert(), rows[start : start + 10_000])
