"""The management dashboard: what disrupts clients' progress, by month, by program and
by office, de-identified and under one small-cell rule (`hub.services.suppression`).

Built on the child-welfare seed's design features: monthly time series, a benchmark line
(a target set by the hub's settings, else the series' own median), disaggregation (by
program, stuck reason and office), and a question to discuss under each chart.

- Time series (the last 12 months): clients newly shared (the first day two programs
  served them at once, where both sent enrollment dates), shared clients who exited a
  program, milestones newly stuck, milestones completed, intake lookups, and conflicts
  between programs' plans found and resolved (as the daily plan-alerts sweep saw them).
- Now: stuck milestones by program x reason and program x office (one table system, so
  a total hidden in one is hidden in the other), overdue milestones by program, the
  median days to complete by service kind, and the share of shared clients whose record
  has a live consent (from the overlap report's own published counts).

Every count under the limit is published as None ("suppressed"); so is any count that
the published totals would give away. The same numbers feed the page, the JSON and the
CSV, so no combination of them shows more than one of them.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import combinations

from sqlmodel import Session

from consent import ConsentState
from hub.crypto import DataCipher
from hub.services import dashboard_data as data
from hub.services.reports import current_overlap
from hub.services.suppression import Sum, suppress
from hub.settings import HubSettings

PROMPTS = {
    "newly_shared": "Which programs are meeting the same families for the first time, and "
    "do their case managers know it yet?",
    "exited_shared": "When a shared client leaves a program, who picks up what that "
    "program was doing?",
    "newly_stuck": "What made the months above the line different? Which stuck reason grew?",
    "completed": "Is completion keeping pace with what is getting stuck?",
    "intake_lookups": "Are intake workers checking before they open a case?",
    "conflicts_found": "Which kinds of conflict keep coming up between the same programs?",
    "conflicts_resolved": "How long do conflicts stay open, and who settles them?",
    "days_to_first_contact": "What holds case managers back from calling the other program "
    "once they know the client is shared?",
}
LABELS = {
    "newly_shared": "Clients newly shared between programs",
    "exited_shared": "Shared clients who left a program",
    "newly_stuck": "Milestones newly stuck",
    "completed": "Milestones completed",
    "intake_lookups": "Intake lookups",
    "conflicts_found": "Conflicts found between programs' plans",
    "conflicts_resolved": "Conflicts resolved",
    "days_to_first_contact": "Median days from a match to the first contact between case managers",
}


@dataclass
class Series:
    """One monthly series: values per month (None: suppressed), and its line to
    compare against."""

    measure: str
    label: str
    values: list[int | None]
    benchmark: float | None
    benchmark_label: str
    prompt: str


@dataclass
class Dashboard:
    """Everything the dashboard publishes, already suppressed."""

    limit: int
    months: list[str]
    series: list[Series]
    stuck_by_reason: dict[tuple[str, str], int | None] = field(default_factory=dict)
    stuck_by_office: dict[tuple[str, str], int | None] = field(default_factory=dict)
    stuck_by_program: dict[str, int | None] = field(default_factory=dict)
    stuck_reason_totals: dict[str, int | None] = field(default_factory=dict)
    overdue_by_program: dict[str, int | None] = field(default_factory=dict)
    completion: dict[str, tuple[int | None, float | None]] = field(default_factory=dict)
    consent_rate: dict[str, float | None] = field(default_factory=dict)


def last_months(today: date, n: int = 12) -> list[str]:
    """The `n` months up to and including `today`'s, as YYYY-MM."""
    year, month = today.year, today.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def shared_from(programs: dict[str, list[data.Interval]]) -> date | None:
    """The first day two programs served the client at once (None when no two known
    enrollments overlap)."""
    spans = [(p, s, e) for p, found in programs.items() for s, e in found if s is not None]
    best: date | None = None
    for (p1, s1, e1), (p2, s2, e2) in combinations(spans, 2):
        start = max(s1, s2)
        if p1 != p2 and start <= min(e1 or date.max, e2 or date.max):
            best = start if best is None else min(best, start)
    return best


def exits_while_shared(programs: dict[str, list[data.Interval]]) -> set[date]:
    """The days one program's record exited while another program still served the
    client (an unknown enrollment date counts as "served before")."""
    out = set()
    for program, found in programs.items():
        for _, exited in found:
            if exited is None:
                continue
            if any(
                (s is None or s <= exited) and (e is None or e >= exited)
                for other, spans in programs.items()
                if other != program
                for s, e in spans
            ):
                out.add(exited)
    return out


def build(
    session: Session,
    cipher: DataCipher,
    consent: ConsentState,
    shared_published: dict[str, int | None],
    *,
    limit: int,
    targets: dict[str, float],
    now: datetime | None = None,
) -> Dashboard:
    """Count, then suppress. `shared_published` is the overlap report's published
    "shared with any other program" count per program (None where it is suppressed)."""
    now = now or datetime.now(UTC)
    months = last_months(now.date())
    monthly: dict[str, Counter[str]] = {
        m: Counter() for m in LABELS if m != "days_to_first_contact"
    }
    _count_clusters(session, monthly)
    plans = _count_plans(session, cipher, monthly, now.date())
    first = date.fromisoformat(months[0] + "-01")
    for when in data.intake_lookups(session, datetime(first.year, first.month, 1, tzinfo=UTC)):
        monthly["intake_lookups"][when.strftime("%Y-%m")] += 1
    for found, resolved in data.conflict_alerts(session).values():
        monthly["conflicts_found"][found.strftime("%Y-%m")] += 1
        if resolved is not None:
            monthly["conflicts_resolved"][resolved.strftime("%Y-%m")] += 1
    series = [_series(m, monthly[m], months, limit, targets) for m in LABELS if m in monthly]
    series.append(_contact_series(session, months, limit, targets))
    dashboard = Dashboard(limit, months, series)
    _stuck_tables(dashboard, plans.stuck, limit)
    dashboard.overdue_by_program = {
        p: n if n >= limit else None for p, n in sorted(plans.overdue.items())
    }
    dashboard.completion = {
        kind: (len(days), statistics.median(days)) if len(days) >= limit else (None, None)
        for kind, days in sorted(plans.durations.items())
    }
    dashboard.consent_rate = _consent_rate(session, consent, shared_published, limit, now)
    return dashboard


def _count_clusters(session: Session, monthly: dict[str, Counter[str]]) -> None:
    for programs in data.clusters(session):
        start = shared_from(programs)
        if start is not None:
            monthly["newly_shared"][start.strftime("%Y-%m")] += 1
        for month in {d.strftime("%Y-%m") for d in exits_while_shared(programs)}:
            monthly["exited_shared"][month] += 1


@dataclass
class _PlanCounts:
    stuck: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    overdue: Counter[str] = field(default_factory=Counter)
    durations: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


def _count_plans(
    session: Session, cipher: DataCipher, monthly: dict[str, Counter[str]], today: date
) -> _PlanCounts:
    counts = _PlanCounts()
    for fact in data.plan_facts(session, cipher):
        if fact.status == "stuck" and fact.open:
            counts.stuck[(fact.program, fact.stuck_reason or "other", fact.office)] += 1
            if fact.stuck_since:
                monthly["newly_stuck"][fact.stuck_since.strftime("%Y-%m")] += 1
        if fact.open and fact.target_end is not None and fact.target_end < today:
            counts.overdue[fact.program] += 1
        if fact.status == "complete" and fact.actual_end is not None:
            monthly["completed"][fact.actual_end.strftime("%Y-%m")] += 1
            if fact.actual_start is not None and fact.actual_start <= fact.actual_end:
                days = (fact.actual_end - fact.actual_start).days
                counts.durations[fact.service_kind].append(days)
    return counts


def _series(
    measure: str, counts: Counter[str], months: list[str], limit: int, targets: dict[str, float]
) -> Series:
    values = [counts[m] if counts[m] >= limit else None for m in months]
    shown = [v for v in values if v is not None]
    if measure in targets:
        benchmark, said = targets[measure], "target"
    elif len(shown) >= 3:
        benchmark, said = float(statistics.median(shown)), "12-month median"
    else:
        benchmark, said = None, ""
    return Series(measure, LABELS[measure], values, benchmark, said, PROMPTS[measure])


def _contact_series(
    session: Session, months: list[str], limit: int, targets: dict[str, float]
) -> Series:
    """The median days per month of contact, published for months with at least
    `limit` first contacts (a median of fewer would describe too few people)."""
    by_month: dict[str, list[float]] = defaultdict(list)
    for at, days in data.first_contacts(session):
        by_month[at.strftime("%Y-%m")].append(days)
    values = [
        round(statistics.median(by_month[m])) if len(by_month[m]) >= limit else None for m in months
    ]
    measure = "days_to_first_contact"
    benchmark = targets.get(measure)
    return Series(
        measure,
        LABELS[measure],
        values,
        benchmark,
        "target" if benchmark is not None else "",
        PROMPTS[measure],
    )


def _stuck_tables(dashboard: Dashboard, stuck: Counter[tuple[str, str, str]], limit: int) -> None:
    """Program x reason and program x office, with their totals, suppressed as one
    system (they share the program totals). Only combinations that occur are cells: a
    combination with no stuck milestone is not listed (an office belongs to one agency,
    so most program x office pairs cannot occur at all)."""
    by_reason: Counter[tuple[str, str]] = Counter()
    by_office: Counter[tuple[str, str]] = Counter()
    for (program, reason, office), n in stuck.items():
        by_reason[(program, reason)] += n
        by_office[(program, office)] += n
    programs = sorted({p for p, _, _ in stuck})
    reasons = sorted({r for _, r, _ in stuck})
    cells: dict[tuple[str, str, str], int] = {}
    cells |= {
        ("program", p, ""): sum(n for (q, _), n in by_reason.items() if q == p) for p in programs
    }
    cells |= {
        ("reason_total", "", r): sum(n for (_, q), n in by_reason.items() if q == r)
        for r in reasons
    }
    cells |= {("reason", p, r): n for (p, r), n in by_reason.items()}
    cells |= {("office", p, o): n for (p, o), n in by_office.items()}
    sums = [
        Sum(("program", p, ""), {k: 1.0 for k in cells if k[0] == kind and k[1] == p})
        for p in programs
        for kind in ("reason", "office")
    ]
    sums += [
        Sum(("reason_total", "", r), {k: 1.0 for k in cells if k[0] == "reason" and k[2] == r})
        for r in reasons
    ]
    shown = suppress(cells, sums, limit=limit)
    dashboard.stuck_by_program = {p: shown[("program", p, "")] for p in programs}
    dashboard.stuck_reason_totals = {r: shown[("reason_total", "", r)] for r in reasons}
    dashboard.stuck_by_reason = {(p, r): shown[("reason", p, r)] for p, r in sorted(by_reason)}
    dashboard.stuck_by_office = {(p, o): shown[("office", p, o)] for p, o in sorted(by_office)}


def _consent_rate(
    session: Session,
    consent: ConsentState,
    shared_published: dict[str, int | None],
    limit: int,
    now: datetime,
) -> dict[str, float | None]:
    """Per program, the share of its shared clients whose record there has a live
    consent grant, published only where the overlap report publishes the shared count
    and both the consented and the other clients number at least the limit."""
    consented = data.consented_shared(session, consent, now)
    out: dict[str, float | None] = {}
    for program, shared in sorted(shared_published.items()):
        yes = consented.get(program, 0)
        if shared is None or yes < limit or shared - yes < limit:
            out[program] = None
        else:
            out[program] = round(100 * yes / shared, 1)
    return out


def current_dashboard(
    session: Session, settings: HubSettings, cipher: DataCipher, consent: ConsentState
) -> Dashboard:
    """The dashboard now, at the hub's limit, consistent with the overlap report it
    takes the shared counts from."""
    overlap = current_overlap(session, settings)
    shared = {c.programs[0]: c.count for c in overlap.cells if c.kind == "shared_any"}
    return build(
        session,
        cipher,
        consent,
        shared,
        limit=overlap.limit,
        targets=settings.dashboard_targets,
    )
