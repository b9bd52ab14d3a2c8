"""``python -m reos.flows.demo``: load the demo organisation's data (used by ``make demo``).

Imports both sample sales files (idempotent: a second run reports every row unchanged) and
trains the organisation's valuation model when it has none, so the API can value
properties straight away.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reos.cli_support import org_session, resolve_org_id
from reos.errors import ReosError
from reos.ingest import service as ingest_service
from reos.valuation import service as valuation_service

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"
FILES = (
    ("ames_iowa_sales_2006_2010.csv", "ames.mapping.yaml"),
    ("sacramento_ca_sales_2008.csv", "sacramento.mapping.yaml"),
)


def load(org_ref: str, samples: Path = SAMPLES) -> None:
    org_id = resolve_org_id(org_ref)
    for data, mapping in FILES:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", required=True)
    args = parser.parse_args()
    try:
        load(args.org)
    except ReosError as exc:
        raise SystemExit(f"error: {exc.message}") from None


if __name__ == "__main__":
    main()
