"""Linkage runs: requested by operators, executed one at a time, versioned in
`linkage_run` with their parameters, counts, progress and any error.

The process keeps the linkage state of its last successful run in memory. An incremental
run applies the encodings written and removed since that run (by batch sequence number)
and rewrites only the records it re-solved. Without a state in memory (a restart, an
earlier failure, another epoch) it rebuilds one from every stored encoding at the last
run's settings, carrying cluster ids over. A full run re-links everything, with a
threshold proposed from the scores unless the operator gives one; ids carry over too.
Results and the run's success are committed together: a failed run changes no cluster.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, col

from hub.db import begin_writer
from hub.errors import Conflict, NotFound
from hub.linkage.engine import Dataset, LinkParams, link
from hub.linkage.executors import DaskExecutor, Executor, ThreadExecutor
from hub.linkage.kernel import load_kernel
from hub.linkage.memory import keep_big_arrays_out_of_the_heap
from hub.linkage.results import LinkConfig
from hub.linkage.state import LinkageState
from hub.linkage.threshold import proposal_document
from hub.models import LinkageRun, RecordCluster
from hub.services import linkage_store as store
from hub.services import notify, policy, reports
from hub.settings import HubSettings

log = logging.getLogger("pprl.hub.linkage")
Kind = Literal["full", "incremental"]
ACTIVE = ("queued", "running")


@dataclass
class _Held:
    state: LinkageState
    run_id: int
    context: store.Context
    through_seq: int


class LinkageRunner:
    """One per hub process (see the module notes)."""

    def __init__(self, settings: HubSettings, engine: Engine) -> None:
        keep_big_arrays_out_of_the_heap()  # this process links: see hub.linkage.memory
        self.settings = settings
        self.sessions: Callable[[], AbstractContextManager[Session]] = lambda: Session(engine)
        self._lock = threading.Lock()
        self._held: _Held | None = None
        self._executor: Executor | None = None

    def executor(self) -> Executor:
        """Threads, or the configured Dask scheduler."""
        if self._executor is None:
            address = self.settings.linkage_dask_scheduler
            self._executor = (
                DaskExecutor.connect(address)
                if address
                else ThreadExecutor(load_kernel(), self.settings.linkage_threads)
            )
        return self._executor

    # -- requests ------------------------------------------------------------------------

    def request(
        self, session: Session, *, kind: Kind, threshold: float | None, requested_by: str
    ) -> LinkageRun:
        """Queue a run (the caller commits); refused while another is queued or running."""
        begin_writer(session)
        if session.get_bind().dialect.name == "postgresql":
            # Two requests at once must not both see "nothing running" and both queue.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext('pprl.linkage_run'))"))
        busy = session.execute(
            select(col(LinkageRun.run_id)).where(col(LinkageRun.status).in_(ACTIVE))
        ).first()
        if busy is not None:
            raise Conflict(f"linkage run {busy[0]} is still in progress; wait for it to finish")
        if kind == "incremental" and threshold is not None:
            raise Conflict(
                "an incremental run keeps the last run's threshold; start a full run to change it"
            )
        if threshold is not None:
            policy.check_run_threshold(session, self.settings, threshold)
        run = LinkageRun(
            kind=kind,
            status="queued",
            requested_by=requested_by,
            requested_threshold=threshold,
            progress=0.0,
            stage="queued",
            created_at=datetime.now(UTC),
        )
        session.add(run)
        session.flush()  # the run's id; the caller commits
        return run

    @staticmethod
    def get(session: Session, run_id: int) -> LinkageRun:
        """One run, or 404."""
        run = session.get(LinkageRun, run_id)
        if run is None:
            raise NotFound("no such linkage run")
        return run

    @staticmethod
    def recent(session: Session, limit: int = 50) -> list[LinkageRun]:
        """The latest runs, newest first."""
        return list(
            session.execute(
                select(LinkageRun).order_by(col(LinkageRun.run_id).desc()).limit(limit)
            ).scalars()
        )

    def abandon_interrupted(self) -> int:
        """Mark runs a stopped process left queued or running as failed (at start-up)."""
        with self.sessions() as session:
            begin_writer(session)
            runs = session.execute(
                select(LinkageRun).where(col(LinkageRun.status).in_(ACTIVE))
            ).scalars()
            count = 0
            for run in runs:
                run.status, run.finished_at = "failed", datetime.now(UTC)
                run.error = "interrupted: the hub stopped during this run; start a new one"
                count += 1
            session.commit()
            return count

    # -- execution -----------------------------------------------------------------------

    def execute(self, run_id: int) -> None:
        """Run a queued run to success or failure (never raises)."""
        with self._lock:
            try:
                self._execute(run_id)
            except Exception as exc:
                self._held = None  # it may be half-updated: rebuild next time
                log.exception("linkage run %s failed", run_id)
                with self.sessions() as session:
                    begin_writer(session)
                    run = self.get(session, run_id)
                    run.status, run.finished_at = "failed", datetime.now(UTC)
                    run.error = f"{type(exc).__name__}: {exc}"
                    session.commit()

    def _execute(self, run_id: int) -> None:
        """Three short transactions around the work: mark the run running; read what to
        link; write the results with the run's success. Nothing is held locked while
        scoring, so nodes keep syncing during a run (their batches wait for the next)."""
        started = time.perf_counter()
        with self.sessions() as session:
            begin_writer(session)
            run = self.get(session, run_id)
            run.status, run.started_at, run.stage = "running", datetime.now(UTC), "reading"
            kind, requested = run.kind, run.requested_threshold
            session.commit()
        progress = _Progress(self, run_id)
        with self.sessions() as session:
            work = self._read(session, kind)
            session.rollback()  # end the read transaction before the long part
        if work.changes is not None:
            state, counts = self._apply_changes(work, progress)
        else:
            state, counts, proposal = self._relink(work, requested, progress)
        counts.update(_totals(state), seconds=time.perf_counter() - started)
        with self.sessions() as session:
            begin_writer(session)
            run = self.get(session, run_id)
            # Whose confident matches this run changes: their case managers are told.
            touched = (
                sorted(state.resolved_keys() | set(state.last_removed))
                if work.changes is not None
                else None
            )
            before = notify.confident_partners(session, touched)
            if work.changes is not None:
                counts["records_rewritten"] = store.save_update(session, state, run_id)
            else:
                run.proposal = proposal
                store.save_all(session, state, run_id)
                counts["records_rewritten"] = state.records()
            counts["case_managers_notified"] = notify.queue_match_notifications(
                session,
                run_id=run_id,
                before=before,
                after=notify.confident_partners(session, touched),
            )
            run.threshold = state.config.threshold
            run.threshold_source = counts.pop("threshold_source")
            run.params = json.dumps({**state.config.describe(), "executor": self.executor().name})
            run.counts = json.dumps(counts)
            run.epoch = work.context.epoch
            run.schema_fingerprint = work.context.schema_fingerprint
            run.through_seq = work.through
            run.status, run.progress, run.stage = "succeeded", 1.0, "done"
            run.finished_at = datetime.now(UTC)
            session.commit()
        self._held = _Held(state, run_id, work.context, work.through)
        self._store_overlap(run_id)

    def _store_overlap(self, run_id: int) -> None:
        """The run's overlap report, computed here once rather than on request threads;
        a failure is logged (the report is then computed on its first request)."""
        try:
            with self.sessions() as session:
                begin_writer(session)
                reports.store_overlap(session, run_id, self.settings)
                session.commit()
        except Exception:
            log.exception("the overlap report of run %s could not be computed", run_id)

    def _read(self, session: Session, kind: str) -> _Work:
        """Decide how to run, and read what that needs."""
        settings = self.settings
        context = store.linkable_context(
            session, settings.secret_epoch, settings.schema_fingerprint
        )
        if context is None or not store.count(session, context):
            raise Conflict("no encodings are stored yet: agencies must sync first")
        through = store.current_seq(session)
        previous = session.execute(
            select(LinkageRun)
            .where(col(LinkageRun.status) == "succeeded")
            .order_by(col(LinkageRun.run_id).desc())
            .limit(1)
        ).scalar_one_or_none()
        work = _Work(
            context=context,
            through=through,
            previous_params=previous.params if previous else None,
            rebuild=kind == "incremental" and previous is not None,
        )
        held = self._held
        if (
            work.rebuild
            and held is not None
            and previous is not None
            and held.run_id == previous.run_id
            and held.context == context
        ):
            work.changes = store.load_changes(session, held.context, held.through_seq, through)
            return work
        work.next_cluster = _next_cluster(session, previous)
        work.loaded = store.load_all(session, context, through)
        return work

    def _apply_changes(
        self, work: _Work, progress: _Progress
    ) -> tuple[LinkageState, dict[str, Any]]:
        if work.changes is None or self._held is None:
            raise RuntimeError("no changes or no state to apply them to")
        state = self._held.state
        upserts, removals = work.changes
        report = state.update(
            upserts, removals, kernel=load_kernel(), executor=self.executor(), progress=progress
        )
        counts: dict[str, Any] = {
            **report.as_dict(),
            "mode": "incremental",
            "threshold_source": "kept from the last run",
        }
        return state, counts

    def _relink(
        self, work: _Work, requested: float | None, progress: _Progress
    ) -> tuple[LinkageState, dict[str, Any], str | None]:
        loaded, work.loaded = work.loaded, {}  # the state adopts the arrays
        clusters = {a: x.clusters for a, x in loaded.items()}
        upserts = {a: (x.refs, x.clks) for a, x in loaded.items()}
        if work.rebuild and work.previous_params:
            # Rebuild at the last run's settings, so the result is what it would have been.
            state = LinkageState(LinkConfig.from_description(json.loads(work.previous_params)))
            state.next_cluster = work.next_cluster
            report = state.update(
                upserts,
                kernel=load_kernel(),
                executor=self.executor(),
                progress=progress,
                adopt=True,
                clusters=clusters,
            )
            rebuilt: dict[str, Any] = {
                **report.as_dict(),
                "mode": "rebuilt",
                "threshold_source": "kept from the last run",
            }
            return state, rebuilt, None
        result = link(
            [Dataset(a, x.refs, x.clks) for a, x in loaded.items()],
            LinkParams(
                threshold=requested,
                dedupe_within=self.settings.linkage_dedupe_within,
                min_threshold=policy.floor_of(self.settings),
                min_precision=self.settings.disclosure_min_precision,
            ),
            executor=self.executor(),
            progress=lambda stage: progress(stage, 0.1),
            clusters=clusters,
            next_cluster=work.next_cluster,
        )
        counts: dict[str, Any] = {
            "mode": "full",
            "comparisons": result.comparisons,
            "candidates_scored": result.candidates_scored,
            "threshold_source": result.threshold_source,
        }
        return result.state, counts, proposal_document(result.proposal, result.best_scores)


@dataclass
class _Work:
    """What a run read: its context and either the changes or every encoding."""

    context: store.Context
    through: int
    previous_params: str | None
    rebuild: bool
    changes: tuple[dict[str, tuple[list[str], Any]], dict[str, list[str]]] | None = None
    loaded: dict[str, store.Loaded] = field(default_factory=dict)
    next_cluster: int = 1


class _Progress:
    """Writes a run's stage and progress, at most once a second."""

    def __init__(self, runner: LinkageRunner, run_id: int) -> None:
        self.runner, self.run_id, self.last = runner, run_id, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < 1.0:
            return
        self.last = now
        with self.runner.sessions() as session:
            begin_writer(session)
            run = session.get(LinkageRun, self.run_id)
            if run is not None:
                run.stage, run.progress = stage[:200], round(min(max(fraction, 0.0), 1.0), 3)
                session.commit()


def _next_cluster(session: Session, previous: LinkageRun | None) -> int:
    counted = (
        json.loads(previous.counts).get("next_cluster", 1) if previous and previous.counts else 1
    )
    stored = session.execute(select(func.max(RecordCluster.cluster_id))).scalar_one_or_none()
    return max(int(counted), int(stored or 0) + 1)


def _totals(state: LinkageState) -> dict[str, Any]:
    disclose = state.config.disclose_at
    ids = [rec.cluster[: rec.size][rec.alive[: rec.size]] for rec in state.agencies]
    all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
    return {
        "records": {rec.name: rec.live() for rec in state.agencies},
        "clusters": len(np.unique(all_ids[all_ids > 0])),
        "links": int(state.edges.link.sum()),
        "links_for_review": int((state.edges.link & (state.edges.score < disclose)).sum()),
        "pairs_at_threshold": len(state.edges.score),
        "next_cluster": state.next_cluster,
    }
