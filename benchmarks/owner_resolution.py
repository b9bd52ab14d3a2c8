"""Owner resolution benchmark: accuracy at 10,000 records, speed and memory at 100,000.

Run: ``.venv/bin/python benchmarks/owner_resolution.py [--accuracy-n 10000] [--speed-n 100000]``

Accuracy: pairwise precision/recall/F1 over record pairs in the same entity, B-cubed
precision/recall, share of true entities recovered exactly (``reos.owners.evaluation``) on a
seeded synthetic roster (``reos.owners.synthetic``). Speed: wall seconds of
``resolve_owners`` on 100,000 records (name parsing, address normalisation, training,
scoring, clustering) and peak RSS of the process (``ru_maxrss``, includes DuckDB).
Targets: precision >= 0.97, recall >= 0.93; 100k in <= 120 s, peak RSS <= 4 GB.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time

from reos.owners.evaluation import score_clusters
from reos.owners.resolution import resolve_owners
from reos.owners.synthetic import generate_owner_records


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accuracy-n", type=int, default=10_000)
    parser.add_argument("--speed-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)

    rows: list[tuple[str, str, str]] = []
    roster = generate_owner_records(args.accuracy_n, seed=args.seed)
    truth = dict(zip(roster["record_id"], roster["true_entity"], strict=True))
    started = time.perf_counter()
    result = resolve_owners(roster.drop(columns=["true_entity", "true_group"]))
    seconds = time.perf_counter() - started
    scores = score_clusters(result.assignments, truth)
    n = f"{args.accuracy_n:,}"
    rows += [
        (f"pairwise precision ({n})", f"{scores.pairwise_precision:.4f}", ">= 0.97"),
        (f"pairwise recall ({n})", f"{scores.pairwise_recall:.4f}", ">= 0.93"),
        (f"pairwise F1 ({n})", f"{scores.pairwise_f1:.4f}", ""),
        (f"B-cubed precision ({n})", f"{scores.bcubed_precision:.4f}", ""),
        (f"B-cubed recall ({n})", f"{scores.bcubed_recall:.4f}", ""),
        (f"true entities recovered exactly ({n})", f"{scores.exact_entity_rate:.4f}", ""),
        (f"true / predicted pairs ({n})", f"{scores.true_pairs} / {scores.predicted_pairs}", ""),
        (f"entities / records ({n})", f"{result.report.entities} / {result.report.records}", ""),
        (f"seconds ({n})", f"{seconds:.1f}", ""),
        (f"method ({n})", result.report.method, ""),
    ]
    if args.speed_n:
        big = generate_owner_records(args.speed_n, seed=args.seed + 1)
        big_truth = dict(zip(big["record_id"], big["true_entity"], strict=True))
        big = big.drop(columns=["true_entity", "true_group"])
        started = time.perf_counter()
        big_result = resolve_owners(big)
        seconds = time.perf_counter() - started
        big_scores = score_clusters(big_result.assignments, big_truth)
        m = f"{args.speed_n:,}"
        rows += [
            (f"wall seconds ({m})", f"{seconds:.1f}", "<= 120"),
            (f"peak RSS MB (process, {m})", f"{_peak_rss_mb():.0f}", "<= 4096"),
            (f"pairs scored ({m})", f"{big_result.report.pairs_scored:,}", ""),
            (
                f"pairwise precision / recall ({m})",
                f"{big_scores.pairwise_precision:.4f} / {big_scores.pairwise_recall:.4f}",
                "",
            ),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>16}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>16}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
