"""The threshold table's exact columns from labels, and the histogram's marks."""

from __future__ import annotations

from hub.services.quality import histogram_svg, threshold_table


def test_exact_precision_and_recall_come_from_pairs_both_stewards_labelled() -> None:
    labels = [(0.90, True), (0.85, False), (0.80, True), (0.70, False)]
    rows = {round(r.threshold, 2): r for r in threshold_table(None, labels, 0.05)}
    at = rows[0.82]
    assert at.labelled == 2
    assert at.exact_precision == 0.5
    assert at.exact_recall == 0.5
    assert rows[0.75].exact_recall == 1.0
    assert rows[0.60].exact_precision == 0.5
    assert rows[0.95].labelled == 0
    assert rows[0.95].exact_precision is None
    assert all(r.exact_precision is None for r in threshold_table(None, [], 0.05))


def test_the_histogram_marks_the_threshold_and_the_review_band() -> None:
    histogram: dict[str, list[float]] = {"edges": [0.5, 0.75, 1.0], "counts": [100, 10]}
    svg = histogram_svg(histogram, 0.8, 0.05)
    assert 'class="threshold"' in svg
    assert 'class="review-band"' in svg
    assert "threshold 0.800" in svg
    assert "threshold" not in histogram_svg(histogram, None, 0.05).split("</desc>")[1]
