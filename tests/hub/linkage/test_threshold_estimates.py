"""Estimated precision and recall at the proposed threshold, against the truth of
generated records with realistic corruptions."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.linkage_data import encode_linked
from hub.linkage.engine import Dataset, LinkParams, link
from hub.linkage.refs import raw_refs


@pytest.mark.parametrize("seed", [31, 32])
def test_estimates_at_the_proposed_threshold_are_within_two_points_of_the_truth(
    seed: int,
) -> None:
    encoded = encode_linked(["A", "B"], 3000, shared=0.5, seed=seed)
    datasets = [
        Dataset(
            a, raw_refs(np.array([r.encode() for r in encoded.refs[a]], "S64")), encoded.clks[a]
        )
        for a in ("A", "B")
    ]
    result = link(datasets, LinkParams())
    proposal = result.proposal
    assert proposal is not None
    found = {
        (row.ref_a, row.ref_b) if row.agency_a == "A" else (row.ref_b, row.ref_a)
        for row in result.state.links()
    }
    truth = encoded.true_pairs("A", "B")
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert abs(proposal.estimated_precision - precision) <= 0.02, (proposal, precision)
    assert abs(proposal.estimated_recall - recall) <= 0.02, (proposal, recall)
