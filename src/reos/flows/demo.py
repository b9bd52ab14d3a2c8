"""``python -m reos.flows.demo``: load the demo organisation's data (used by ``make demo``).

Imports both sample sales files (idempotent: a second run reports every row unchanged) and
trains the organisation's valuation model when it has none, so the API can value
properties straight away. Then the deal flow: the sample files carry no parcel number or
address, so the demo gives each property a parcel id built from its record id
(``AMES-000123``, ``SAC-000045``) in a small property file; it writes three distress lists
over those parcels (tax delinquent, probate, vacant: chosen by a fixed rule, so every run
writes the same files), imports them, runs the pipeline and prints the top deals with
their reasons. Every file it writes goes to ``--workdir`` (``.reos/demo`` by default).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import subprocess
import sys
from datetime import date
from pathlib import Path

from reos.cli_support import org_session, resolve_org_id
from reos.errors import ReosError
from reos.ingest import service as ingest_service
from reos.valuation import service as valuation_service

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"
FILES = (
    ("ames_iowa_sales_2006_2010.csv", "ames.mapping.yaml", "ames"),
    ("sacramento_ca_sales_2008.csv", "sacramento.mapping.yaml", "sac"),
)
#: The samples' sales end in 2010: the demo values and underwrites as of their last month.
DEMO_VALUATION_DATE = date(2010, 7, 31)
#: The flip the demo organisation assumes for every property: rehab budget (dollars) and
#: months from purchase to resale.
DEMO_FLIP_DEFAULTS = {"rehab_cost": 25_000, "holding_months": 6}
#: The three lists: kind, file name, share of the parcels on it (per mille), list date.
LISTS = (
    ("tax_delinquent", "tax_delinquent.csv", 60, date(2010, 6, 1)),
    ("probate", "probate.csv", 25, date(2010, 5, 15)),
    ("vacant", "vacant.csv", 50, date(2010, 7, 1)),
)
PARCELS_MAPPING = """\
source_name: demo_parcels
record: property
key: source_record_id
fields:
  source_record_id: source_record_id
  parcel_number: parcel_number
"""


def load(org_ref: str, samples: Path = SAMPLES) -> None:
    org_id = resolve_org_id(org_ref)
    for data, mapping, _prefix in FILES:
        report = ingest_service.import_file(
            samples / data,
            "sales",
            org_id=org_id,
            mapping_path=samples / mapping,
            created_by="demo",
        )
        print(
            f"{data}: {report.rows_read} rows read, {report.inserted} inserted, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.quarantined} quarantined"
        )
    with org_session(org_ref) as session:
        models = valuation_service.list_models(session)
        if models:
            print(f"valuation model {models[0].version} is ready")
            return
        row = valuation_service.train_model(session)
        print(f"trained valuation model {row.version} on {row.row_count} sales")


def _rows(samples: Path) -> list[tuple[str, str]]:
    """(record id, parcel id) of every sample property, in file order."""
    out = []
    for data, _mapping, prefix in FILES:
        with (samples / data).open(newline="") as handle:
            count = sum(1 for _ in csv.DictReader(handle))
        out += [(f"{prefix}-{n}", f"{prefix.upper()}-{n:06d}") for n in range(1, count + 1)]
    return out


def _draw(parcel: str, kind: str) -> int:
    """A fixed number 0-999 for (parcel, list): which parcels a list holds, the same on
    every machine and every run."""
    return int(hashlib.sha256(f"{kind}:{parcel}".encode()).hexdigest()[:8], 16) % 1000


def write_files(workdir: Path, samples: Path = SAMPLES) -> list[tuple[str, Path, date]]:
    """Write the parcel file and the three list files; (kind, path, list date) of each list."""
    workdir.mkdir(parents=True, exist_ok=True)
    rows = _rows(samples)
    (workdir / "parcels.mapping.yaml").write_text(PARCELS_MAPPING)
    with (workdir / "parcels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_record_id", "parcel_number"])
        writer.writerows(rows)
    lists = []
    for kind, name, per_mille, listed in LISTS:
        path = workdir / name
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            extra = {"tax_delinquent": "amount_due", "probate": "case_number"}.get(kind)
            writer.writerow(["apn", "filing_date", *([extra] if extra else [])])
            for _record, parcel in rows:
                draw = _draw(parcel, kind)
                if draw >= per_mille:
                    continue
                if kind == "tax_delinquent":
                    detail = [f"{1_000 + draw * 97 % 9_000}.00"]
                elif kind == "probate":
                    detail = [f"PR-2010-{draw:04d}"]
                else:
                    detail = []
                writer.writerow([parcel, listed.isoformat(), *detail])
        lists.append((kind, path, listed))
    return lists


def deal_flow(org_ref: str, workdir: Path, samples: Path = SAMPLES) -> None:
    """Parcels, the three lists, the organisation's settings, then one pipeline run."""
    from reos.dealflow import service as dealflow_service
    from reos.pipeline import service as pipeline_service
    from reos.underwriting import service as underwriting_service

    org_id = resolve_org_id(org_ref)
    lists = write_files(workdir, samples)
    report = ingest_service.import_file(
        workdir / "parcels.csv",
        "properties",
        org_id=org_id,
        mapping_path=workdir / "parcels.mapping.yaml",
        created_by="demo",
    )
    print(f"parcels.csv: {report.rows_read} rows read, {report.updated} updated, "
          f"{report.unchanged} unchanged, {report.quarantined} quarantined")  # fmt: skip
    with org_session(org_ref) as session:
        known = {p.name for p in dealflow_service.list_lists(session)}
    for kind, path, listed in lists:
        name = f"demo {kind.replace('_', ' ')}"
        if name in known:
            print(f"{path.name}: list {name!r} is already imported")
            continue
        with org_session(org_ref) as session:
            imported = dealflow_service.import_list(
                session, path, kind, name=name, source="demo", list_date=listed,
                created_by="demo",
            )  # fmt: skip
            print(f"{path.name}: {imported.matched} of {imported.rows_read} rows matched")
    with org_session(org_ref) as session:
        underwriting_service.set_defaults(session, "flip", DEMO_FLIP_DEFAULTS)
        pipeline_service.update_settings(
            session, strategy="flip", valuation_date=DEMO_VALUATION_DATE, shortlist_top_n=100
        )
    run_pipeline(org_id)
    print_standing_deals(org_ref)


def run_pipeline(org_id: object) -> None:
    """One pipeline run, as ``reos pipeline run`` does it (progress bars, report, top
    deals)."""
    subprocess.run(
        [sys.executable, "-m", "reos", "pipeline", "run", "--org", str(org_id)], check=True
    )


def print_standing_deals(org_ref: str) -> None:
    """When the run found nothing new (the demo was loaded before), the top deals of the
    last run that shortlisted, with their reasons."""
    from reos.pipeline import service as pipeline_service

    with org_session(org_ref) as session:
        runs, _total = pipeline_service.list_runs(session, limit=50)
        if not runs or runs[0].status != "nothing_new":
            return
        shortlisted = [r for r in runs if r.status == "done" and r.summary.get("top_deals")]
        deals = list(shortlisted[0].summary["top_deals"]) if shortlisted else []
    print(f"the top deals standing from the last pipeline run ({len(deals)} kept):")
    for rank, deal in enumerate(deals[:10], 1):
        print(f"{rank:>3}. score {deal['score']}  {deal.get('address') or deal['property_id']}")
        for reason in deal.get("reasons", [])[:5]:
            print(f"       {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", required=True)
    parser.add_argument("--workdir", default=".reos/demo", help="where the demo writes its files")
    args = parser.parse_args()
    try:
        load(args.org)
        deal_flow(args.org, Path(args.workdir))
    except ReosError as exc:
        raise SystemExit(f"error: {exc.message}") from None
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"error: the pipeline run stopped (exit code {exc.returncode})") from None


if __name__ == "__main__":
    main()
