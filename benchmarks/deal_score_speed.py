"""Deal score speed: score 25,000 properties (with sales, owners and two lists) at once and
in pipeline-sized chunks of 500.

    PYTHONPATH=src .venv/bin/python benchmarks/deal_score_speed.py [--properties 25000]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The store is made through the product (``reos init``, ``reos import properties/sales/
owners``, ``reos import list``, ``reos lists refresh``) in a scratch REOS_HOME (SQLite) or
a scratch database on the given PostgreSQL server (dropped after). Then
``score_properties`` is timed on every property (one transaction) and on the first ten
chunks of 500 (one transaction each, as the pipeline calls it); medians of ``--repeats``.
Wall and CPU time are printed with the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def write_files(folder: Path, n: int) -> dict[str, Path]:
    rng = random.Random(15)
    paths = {k: folder / f"{k}.csv" for k in ("properties", "sales", "owners", "tax", "probate")}
    with paths["properties"].open("w", newline="") as p, paths["sales"].open("w", newline="") as s, \
            paths["owners"].open("w", newline="") as o:  # fmt: skip
        pw, sw, ow = csv.writer(p), csv.writer(s), csv.writer(o)
        pw.writerow(
            ["parcel_number", "address", "city", "state", "zip", "property_type", "assessed_value"]
        )
        sw.writerow(["parcel_number", "close_date", "sale_price"])
        ow.writerow(["owner_record_id", "parcel_number", "owner_name", "mailing_address", "mailing_city", "mailing_state", "mailing_zip"])  # fmt: skip
        for i in range(n):
            parcel = f"{i // 10000:03d}-{i // 100 % 100:03d}-{i % 100:03d}"
            address = f"{100 + i} Main St"
            pw.writerow(
                [
                    parcel,
                    address,
                    "Springfield",
                    "IL",
                    "62701",
                    "single_family",
                    rng.randrange(50_000, 500_000),
                ]
            )
            sw.writerow(
                [
                    parcel,
                    f"{rng.randrange(1980, 2025)}-0{rng.randrange(1, 9)}-15",
                    rng.randrange(40_000, 400_000),
                ]
            )
            absentee = rng.random() < 0.3
            ow.writerow([f"o{i}", parcel, f"Owner {i}", f"{9 + i} Far Rd" if absentee else address,
                         "Phoenix" if absentee else "Springfield", "AZ" if absentee else "IL",
                         "85001" if absentee else "62701"])  # fmt: skip
    for kind, share in (("tax", 0.2), ("probate", 0.05)):
        with paths[kind].open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["APN", "Amount Due", "Case Number"])
            for i in rng.sample(range(n), int(n * share)):
                parcel = (
                    f"{i // 10000:03d}{i // 100 % 100:03d}{i % 100:03d}"  # written without dashes
                )
                w.writerow([parcel, f"${rng.randrange(200, 20_000):,}", f"C-{i}"])
    return paths


def cli(args: list[str]) -> None:
    from reos.cli import main as cli_main

    try:
        cli_main(args)
    except SystemExit as exc:
        if exc.code:
            raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--properties", type=int, default=25_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", default=None, help="PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="reos-score-bench-"))
    os.environ["REOS_HOME"] = str(home)
    dropped = None
    if args.pg:
        sys.path.insert(0, str(Path(__file__).parent))
        from scratch_database import create_database, drop_database

        url, name = create_database(args.pg)
        os.environ["REOS_DATABASE_URL"] = url
        dropped = (args.pg, name)
    try:
        run(args, home)
    finally:
        if dropped:
            drop_database(*dropped)
        shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: Path) -> None:
    paths = write_files(home, args.properties)
    started = time.perf_counter()
    cli(["init", "--password", "benchmark password 15"])
    for kind in ("properties", "sales", "owners"):
        cli(["import", kind, str(paths[kind]), "--json"])
    cli(["import", "list", str(paths["tax"]), "--kind", "tax_delinquent", "--json"])
    cli(["import", "list", str(paths["probate"]), "--kind", "probate", "--json"])
    cli(["lists", "refresh", "--json"])
    print(f"store made in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    from contextlib import contextmanager

    from reos.cli_support import resolve_org_id
    from reos.db.session import tenant_session
    from reos.dealflow import service
    from reos.kernel.principal import Principal, attach
    from reos.properties import read_model as properties_read

    org_id = resolve_org_id(None)

    @contextmanager
    def org_session(_ref: None):  # type: ignore[no-untyped-def]
        """One tenant transaction, as a pipeline worker opens it (the CLI's helper also
        checks the schema version each time, which is not the scorer's cost)."""
        with tenant_session(org_id) as session:
            attach(session, Principal(kind="cli", org_id=org_id, role="owner"))
            yield session

    with org_session(None) as session:
        ids = properties_read.property_ids_where(session)
    ids.sort(key=str)
    every, chunks = [], []
    for _ in range(args.repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        with org_session(None) as session:
            scored = service.score_properties(session)
        every.append((time.perf_counter() - wall, time.process_time() - cpu))
        assert len(scored) == len(ids)
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, 5000, 500):
            with org_session(None) as session:
                service.score_properties(session, ids[start : start + 500])
        chunks.append(((time.perf_counter() - wall) / 10, (time.process_time() - cpu) / 10))
    store = "PostgreSQL" if args.pg else "SQLite"
    load = os.getloadavg()
    print(f"{store}, {len(ids):,} properties, load average {load[0]:.2f} {load[1]:.2f}")
    w, c = statistics.median(x[0] for x in every), statistics.median(x[1] for x in every)
    print(f"score all:         wall {w:6.2f} s  CPU {c:6.2f} s  ({len(ids) / w:,.0f} properties/s)")
    w, c = statistics.median(x[0] for x in chunks), statistics.median(x[1] for x in chunks)
    print(
        f"chunk of 500:      wall {w * 1000:6.0f} ms CPU {c * 1000:6.0f} ms (median of 10 chunks x {args.repeats})"
    )


if __name__ == "__main__":
    main()
