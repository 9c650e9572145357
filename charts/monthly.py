"""Monthly charts for the dashboards, drawn on the server as plain SVG (like the run
page's histogram): no JavaScript, nothing fetched from elsewhere, attributes only (no
style sheet), so the pages' strict content policies hold.

A chart is a column per month (a gap where the count is suppressed) and the benchmark
(a target, or the series' median) as a dashed line, with a title and a description that
states every number for screen readers. pygal was tried first and dropped: importing it
installs a legacy import hook into `sys.meta_path` that warns on every later import.
"""

from __future__ import annotations

import calendar
from html import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 24, 64


def _nice_top(value: float) -> float:
    """A round top for the axis at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 10.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if factor * step >= value:
            return factor * step
    return 10 * step


def monthly_chart(
    chart_id: str,
    title: str,
    months: list[str],
    values: list[int | None],
    *,
    benchmark: float | None,
    benchmark_label: str,
) -> str:
    """Columns of monthly counts (gaps where suppressed), the benchmark dashed."""
    shown = [v for v in values if v is not None]
    top = _nice_top(max([*shown, benchmark or 0, 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    said = "; ".join(
        f"{m}: {'suppressed' if v is None else v}" for m, v in zip(months, values, strict=True)
    )
    if benchmark is not None:
        said += f". {benchmark_label.capitalize()}: {benchmark:.0f}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'font-family="system-ui, sans-serif" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}, by month</title>',
        f'<desc id="{chart_id}-d">{escape(said)}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        'stroke="#555"/>',
    ]
    for tick in (0, top / 2, top):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="20" text-anchor="end">'
            f"{tick:,.0f}</text>"
        )
    for k, (month, value) in enumerate(zip(months, values, strict=True)):
        x = LEFT + k * slot
        if value is not None:
            parts.append(
                f'<rect class="month" x="{x + slot * 0.15:.1f}" y="{y(value):.1f}" '
                f'width="{slot * 0.7:.1f}" height="{TOP + plot_h - y(value):.1f}" '
                'fill="#0b3d63"/>'
            )
        else:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{TOP + plot_h - 8}" font-size="20" '
                'text-anchor="middle" fill="#555">&#8211;</text>'
            )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 24}" font-size="20" '
            f'text-anchor="middle">{calendar.month_abbr[int(month[5:7])]}</text>'
        )
    if benchmark is not None:
        parts.append(
            f'<line class="benchmark" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(benchmark):.1f}" '
            f'y2="{y(benchmark):.1f}" stroke="#c45500" stroke-width="3" '
            'stroke-dasharray="10 6"/>'
            f'<text x="{LEFT + plot_w - 4}" y="{y(benchmark) - 8:.1f}" font-size="20" '
            f'text-anchor="end" fill="#7a3300">{escape(benchmark_label)}</text>'
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="18" fill="#333">'
        f"{escape(months[0])} to {escape(months[-1])}; &#8211; : too few to publish</text></svg>"
    )
    return "".join(parts)
