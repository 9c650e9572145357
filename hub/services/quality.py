"""Match quality for operators: a run's summary, the score histogram, and the threshold
table (estimated from the fitted mixture, exact once stewards have labelled pairs).

Built only from encodings' scores, stored clusters and review answers; never from
contacts, plans or consent.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlmodel import Session, col

from hub.linkage.threshold import MixtureFit, estimate
from hub.models import LinkageRun, RecordCluster
from hub.services import review
from hub.services.reports import program_labels
from hub.services.suppression import Sum, suppress

THRESHOLDS = np.round(np.arange(0.60, 0.96, 0.01), 2)


@dataclass(frozen=True)
class ThresholdRow:
    """One candidate threshold: what linking there would give, estimated and labelled.
    `links` and `review_workload` count records (a link joins two), as the mixture is
    fitted to each record's best score."""

    threshold: float
    links: float
    review_workload: float
    estimated_precision: float
    estimated_recall: float
    estimated_f1: float
    labelled: int
    exact_precision: float | None
    exact_recall: float | None


@dataclass(frozen=True)
class Quality:
    """Everything the dashboard shows about one run."""

    run: LinkageRun
    histogram: dict[str, list[float]] | None
    table: list[ThresholdRow]
    fit_from_run: int | None
    clusters_by_size: dict[int, int]
    clusters_by_programs: dict[str, int]


def _proposal(run: LinkageRun) -> dict[str, Any] | None:
    return json.loads(run.proposal) if run.proposal else None


def _fit_source(session: Session, run: LinkageRun) -> LinkageRun | None:
    """The run whose score distribution this run's threshold rests on (incremental runs
    keep the last full run's)."""
    if (_proposal(run) or {}).get("fit"):
        return run
    earlier = session.execute(
        select(LinkageRun)
        .where(col(LinkageRun.status) == "succeeded", col(LinkageRun.run_id) < run.run_id)
        .order_by(col(LinkageRun.run_id).desc())
    ).scalars()
    return next((r for r in earlier if (_proposal(r) or {}).get("fit")), None)


def threshold_table(
    fit: MixtureFit | None, labels: list[tuple[float, bool]], margin: float
) -> list[ThresholdRow]:
    """Rows for the candidate thresholds."""
    rows = []
    est = estimate(fit, THRESHOLDS) if fit else None
    above_margin = estimate(fit, THRESHOLDS + margin) if fit else None
    scores = np.array([s for s, _ in labels])
    matches = np.array([m for _, m in labels], bool)
    for k, t in enumerate(THRESHOLDS.tolist()):
        chosen = scores >= t if len(scores) else np.zeros(0, bool)
        labelled = int(chosen.sum())
        total_matches = int(matches.sum())
        rows.append(
            ThresholdRow(
                threshold=t,
                links=float(est["links"][k]) if est else 0.0,
                review_workload=(
                    float(est["links"][k] - above_margin["links"][k])
                    if est and above_margin
                    else 0.0
                ),
                estimated_precision=float(est["precision"][k]) if est else 0.0,
                estimated_recall=float(est["recall"][k]) if est else 0.0,
                estimated_f1=float(est["f1"][k]) if est else 0.0,
                labelled=labelled,
                exact_precision=(float((matches & chosen).sum() / labelled) if labelled else None),
                exact_recall=(
                    float((matches & chosen).sum() / total_matches) if total_matches else None
                ),
            )
        )
    return rows


def find_run(session: Session, run_id: int) -> LinkageRun | None:
    """One linkage run, or None (the pages answer "not found" their own way)."""
    return session.get(LinkageRun, run_id)


def latest_succeeded_run(session: Session) -> int | None:
    """The id of the newest run that succeeded (the clusters stored are its)."""
    run_id: int | None = session.execute(
        select(col(LinkageRun.run_id))
        .where(col(LinkageRun.status) == "succeeded")
        .order_by(col(LinkageRun.run_id).desc())
        .limit(1)
    ).scalar_one_or_none()
    return run_id


def quality(session: Session, run: LinkageRun, *, margin: float, clusters: bool = True) -> Quality:
    """The dashboard's data for `run`. `clusters=False` skips the cluster counts (a pass
    over every stored cluster row) for callers that only need the scores."""
    source = _fit_source(session, run)
    proposal = _proposal(source) if source else None
    fit = MixtureFit(**proposal["fit"]) if proposal else None
    latest = latest_succeeded_run(session)
    by_size: Counter[int] = Counter()
    by_programs: Counter[str] = Counter()
    if clusters and latest == run.run_id:
        labels = program_labels(session)
        members: dict[int, set[str]] = defaultdict(set)
        sizes: Counter[int] = Counter()
        for cluster_id, agency in session.execute(
            select(col(RecordCluster.cluster_id), col(RecordCluster.agency_id))
        ):
            members[int(cluster_id)].add(labels.get(agency, agency))
            sizes[int(cluster_id)] += 1
        by_size = Counter(sizes.values())
        by_programs = Counter(" & ".join(sorted(m)) for m in members.values())
    return Quality(
        run=run,
        histogram=(proposal or {}).get("best_score_histogram")
        or (_proposal(run) or {}).get("best_score_histogram"),
        table=threshold_table(fit, review.labels(session), margin),
        fit_from_run=source.run_id if source else None,
        clusters_by_size=dict(sorted(by_size.items())),
        clusters_by_programs=dict(by_programs.most_common()),
    )


def published_sizes(by_size: dict[int, int], *, limit: int) -> dict[int, int | None]:
    """Clusters by size as the run page may show them: small counts hidden, and enough
    others that neither the number of clusters nor the number of records (both known)
    gives a hidden one away."""
    if not by_size:
        return {}
    counts: dict[tuple[str, int], int] = {("size", s): n for s, n in by_size.items()}
    counts[("clusters", 0)] = sum(by_size.values())
    counts[("records", 0)] = sum(s * n for s, n in by_size.items())
    shown = suppress(
        counts,
        [
            Sum(("clusters", 0), {("size", s): 1.0 for s in by_size}),
            Sum(("records", 0), {("size", s): float(s) for s in by_size}),
        ],
        limit=limit,
        always=frozenset({("clusters", 0), ("records", 0)}),
    )
    return {s: shown[("size", s)] for s in by_size}


def table_csv(rows: list[ThresholdRow]) -> str:
    """The threshold table as CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "threshold",
            "records_linked",
            "records_in_review_band",
            "estimated_precision",
            "estimated_recall",
            "estimated_f1",
            "labelled_pairs",
            "exact_precision",
            "exact_recall",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                f"{r.threshold:.2f}",
                f"{r.links:.0f}",
                f"{r.review_workload:.0f}",
                f"{r.estimated_precision:.4f}",
                f"{r.estimated_recall:.4f}",
                f"{r.estimated_f1:.4f}",
                r.labelled,
                "" if r.exact_precision is None else f"{r.exact_precision:.4f}",
                "" if r.exact_recall is None else f"{r.exact_recall:.4f}",
            ]
        )
    return out.getvalue()


def histogram_svg(
    histogram: dict[str, list[float]] | None, threshold: float | None, margin: float
) -> str:
    """Counts of records' best scores, log scale, with the link threshold and the review
    band drawn on; plain SVG with a title and description for screen readers."""
    width, height, pad = 720, 260, 40
    if not histogram:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" role="img" '
            'aria-label="No score histogram for this run"><text x="10" y="30">No scores '
            "for this run</text></svg>"
        )
    edges, counts = histogram["edges"], histogram["counts"]
    lo, hi = edges[0], edges[-1]
    top = max(np.log10(np.array(counts, float) + 1).max(), 1.0)

    def x(v: float) -> float:
        return pad + (v - lo) / (hi - lo) * (width - 2 * pad)

    def y(c: float) -> float:
        return float(height - pad - np.log10(c + 1) / top * (height - 2 * pad))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="h-title h-desc">',
        '<title id="h-title">Best score per record, log scale</title>',
        f'<desc id="h-desc">Counts of records by their best candidate score from {lo} to '
        f"{hi}; the link threshold is "
        f"{'not set' if threshold is None else f'{threshold:.3f}'}.</desc>",
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
        'fill="#fff" stroke="#555"/>',
    ]
    if threshold is not None:
        parts.append(
            f'<rect class="review-band" x="{x(threshold):.1f}" y="{pad}" '
            f'width="{x(min(threshold + margin, hi)) - x(threshold):.1f}" '
            f'height="{height - 2 * pad}" fill="#fff1cc"/>'
        )
    for k, c in enumerate(counts):
        if c:
            parts.append(
                f'<rect x="{x(edges[k]):.1f}" y="{y(c):.1f}" '
                f'width="{max(x(edges[k + 1]) - x(edges[k]) - 0.5, 0.5):.1f}" '
                f'height="{height - pad - y(c):.1f}" fill="#0b3d63"/>'
            )
    if threshold is not None:
        parts.append(
            f'<line class="threshold" x1="{x(threshold):.1f}" x2="{x(threshold):.1f}" '
            f'y1="{pad - 10}" y2="{height - pad}" stroke="#c45500" stroke-width="3"/>'
            f'<text x="{x(threshold) + 4:.1f}" y="{pad - 14}" font-size="13" '
            f'fill="#7a3300">threshold {threshold:.3f}</text>'
        )
    for tick in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - pad + 18}" font-size="12" '
            f'text-anchor="middle">{tick:.1f}</text>'
        )
    parts.append(f'<text x="{pad}" y="{pad - 14}" font-size="12">records (log scale)</text></svg>')
    return "".join(parts)
