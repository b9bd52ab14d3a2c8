"""Accuracy measures for owner resolution against known truth.

Pairwise precision/recall/F1 count record pairs placed in the same entity (the usual
entity-resolution pair measures, e.g. Christen, "Data Matching", Springer 2012, ch. 7);
B-cubed precision/recall average, per record, the share of its predicted cluster that is
truly its own and vice versa (Bagga & Baldwin 1998); ``exact_entity_rate`` is the share of
true entities recovered exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterScores:
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    exact_entity_rate: float
    true_pairs: int
    predicted_pairs: int


def _pairs(sizes: Counter[str] | Counter[tuple[str, str]]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def score_clusters(predicted: Mapping[str, str], truth: Mapping[str, str]) -> ClusterScores:
    """Compare predicted and true entity labels for the same record ids."""
    ids = [r for r in truth if r in predicted]
    pred_sizes: Counter[str] = Counter(predicted[r] for r in ids)
    true_sizes: Counter[str] = Counter(truth[r] for r in ids)
    joint: Counter[tuple[str, str]] = Counter((predicted[r], truth[r]) for r in ids)
    tp = _pairs(joint)
    pp, tt = _pairs(pred_sizes), _pairs(true_sizes)
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = len(ids) or 1
    b_p = sum(joint[(predicted[r], truth[r])] / pred_sizes[predicted[r]] for r in ids) / n
    b_r = sum(joint[(predicted[r], truth[r])] / true_sizes[truth[r]] for r in ids) / n
    exact = sum(1 for (p, t), c in joint.items() if c == pred_sizes[p] == true_sizes[t])
    return ClusterScores(precision, recall, f1, b_p, b_r, exact / (len(true_sizes) or 1), tt, pp)
