"""Ames AVM backtest (train 2006-2009, value 2010 sales) and speed measurements.

    .venv/bin/python benchmarks/avm_backtest.py --json /tmp/avm_backtest.json [--speed] [--api]
    .venv/bin/python benchmarks/avm_backtest.py --rolling [--years 2008 2009 2010]

``--rolling``: rolling origin on Ames - for every year Y with at least 24 months of history
(2008, 2009, 2010) train on sales before Y and value the sales of Y - then Sacramento 2008.
Sacramento's file has no sale dates (five days in May 2008, imported as one month), so no
out-of-time window exists there: it is 4-fold cross-fitted instead (each quarter of the
sales, at random, valued one month later by a model trained on the other three; pooled),
a check of level and vertical equity in a second market, not of forecasting. Each window
prints engine and the LightGBM baseline side by side with the targets checked.

The Ames file goes through the product path, exactly as ``reos avm backtest`` does: the
importer with ``data/samples/ames.mapping.yaml`` into a scratch store, then the valuation
service's sales frame (``--source converter`` uses the direct CSV converter instead, for
comparison). Prints one table (engine vs. ``lightgbm_hedonic`` and ``knn_ppsf`` baselines, untrimmed and
trimmed, 95 % bootstrap CIs). ``--speed`` adds: training time on 25,000 synthetic sales
(Ames rows resampled with jittered coordinates, dates and prices), batch valuations per
second, and single-valuation latency p50/p95 with a warm model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avm_frames import ames_frame, synthetic_frame  # noqa: E402

from reos.valuation.backtest import (  # noqa: E402
    format_rolling,
    format_table,
    run_backtest,
    run_cross_fitted,
    run_rolling,
)
from reos.valuation.backtest_import import file_sales_frame  # noqa: E402
from reos.valuation.engine import train, value, value_many  # noqa: E402


def speed(n_sales: int = 25_000, n_batch: int = 2_000, n_single: int = 100) -> dict[str, float]:
    frame = synthetic_frame(n_sales)
    cutoff = "2010-01-01"
    print(f"load average before speed run: {os.getloadavg()}", flush=True)
    t0 = time.perf_counter()
    model = train(frame[frame["close_date"] < cutoff], cutoff)
    t_train = time.perf_counter() - t0
    subjects = frame[frame["close_date"] >= cutoff].head(n_batch)
    subj = subjects.drop(columns=["sale_price"])
    value_many(model, subj.head(5), list(subjects["close_date"].head(5)), frame)  # warm pool cache
    t0 = time.perf_counter()
    value_many(model, subj, list(subjects["close_date"]), frame)
    t_batch = time.perf_counter() - t0
    lat = []
    for i in range(n_single):
        row = subj.iloc[i].to_dict()
        t0 = time.perf_counter()
        value(model, row, subjects["close_date"].iloc[i], frame)
        lat.append(time.perf_counter() - t0)
    return {
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "train_rows": float(model.metadata["rows"]["input"]),
        "train_s": round(t_train, 2),
        "batch_n": float(len(subj)),
        "batch_valuations_per_s": round(len(subj) / t_batch, 1),
        "single_p50_ms": round(1000 * float(np.percentile(lat, 50)), 1),
        "single_p95_ms": round(1000 * float(np.percentile(lat, 95)), 1),
    }


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def api_latency(n: int = 200) -> dict[str, float]:
    """p50/p95 of ``POST /api/v1/valuations`` through the HTTP app (in-process client), on a
    fresh embedded store holding the Ames sales, with the model trained and warm."""
    import tempfile

    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory(prefix="reos-api-bench-") as home:
        os.environ["REOS_HOME"] = home
        os.environ.pop("REOS_DATABASE_URL", None)
        os.environ["REOS_RATE_LIMIT_IP_PER_MIN"] = "100000"  # one client sends every request
        os.environ["REOS_RATE_LIMIT_ORG_PER_MIN"] = "100000"
        from reos.config import reset_settings
        from reos.db.engine import reset_engines

        reset_settings()
        reset_engines()
        from reos.accounts import service as accounts
        from reos.app import create_app
        from reos.db import schema
        from reos.db.session import system_session, tenant_session
        from reos.ingest import service as ingest_service
        from reos.kernel.principal import Principal, attach

        schema.upgrade()
        with system_session() as s:
            org_id = accounts.create_organization(s, "bench", "bench").id
        with tenant_session(org_id) as s:
            attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
            accounts.add_member(s, "bench@example.com", "owner", "bench password")
        ingest_service.import_file(
            SAMPLES / "ames_iowa_sales_2006_2010.csv",
            "sales",
            org_id=org_id,
            mapping_path=SAMPLES / "ames.mapping.yaml",
        )
        from sqlalchemy import select

        from reos.models import Property

        with tenant_session(org_id) as s:
            ids = [str(i) for i in s.scalars(select(Property.id).limit(n))]
        with TestClient(create_app()) as client:
            token = client.post(
                "/api/v1/auth/token",
                data={"username": "bench@example.com", "password": "bench password"},
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            queued = client.post(
                "/api/v1/avm/models", json={"cutoff": "2010-07-31"}, headers=headers
            )
            assert queued.status_code == 202, queued.text
            from reos.jobs.worker import Worker

            Worker(poll_seconds=0.01).run(burst=True)  # training is a background job
            for _ in range(600):  # the in-process worker may have taken it instead
                training = client.get(queued.headers["location"], headers=headers).json()
                if training["status"] in {"done", "failed"}:
                    break
                time.sleep(0.5)
            assert training["status"] == "done", training
            client.post(
                "/api/v1/valuations",
                json={"property_id": ids[0], "as_of": "2010-07-01"},
                headers=headers,
            )  # warm
            lat = []
            for pid in ids:
                t0 = time.perf_counter()
                r = client.post(
                    "/api/v1/valuations",
                    json={"property_id": pid, "as_of": "2010-07-01"},
                    headers=headers,
                )
                lat.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
        reset_engines()
    return {
        "api_requests": float(len(lat)),
        "api_p50_ms": round(1000 * float(np.percentile(lat, 50)), 1),
        "api_p95_ms": round(1000 * float(np.percentile(lat, 95)), 1),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the full result as JSON here")
    parser.add_argument(
        "--speed", action="store_true", help="also measure training/valuation speed"
    )
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap draws")
    parser.add_argument("--api", action="store_true", help="also measure API valuation latency")
    parser.add_argument(
        "--source",
        choices=["product", "converter"],
        default="product",
        help="read Ames through the importer and mapping (product) or the direct converter",
    )
    parser.add_argument(
        "--rolling",
        action="store_true",
        help="rolling-origin windows on Ames (one per year) and Sacramento cross-fitted",
    )
    parser.add_argument("--years", type=int, nargs="*", help="rolling windows to run (Ames)")
    parser.add_argument(
        "--no-sacramento", action="store_true", help="with --rolling: skip Sacramento"
    )
    parser.add_argument(
        "--rising-pct-per-year",
        type=float,
        default=0.0,
        help="with --rolling: semi-synthetic test of a moving market - multiply every Ames "
        "price by (1 + pct/100) ** (years since 2006-01-01) before backtesting",
    )
    args = parser.parse_args()
    if args.rolling:
        rolling(args)
        return
    if args.source == "product":
        frame, report = file_sales_frame(
            SAMPLES / "ames_iowa_sales_2006_2010.csv", SAMPLES / "ames.mapping.yaml"
        )
        print(
            f"imported {report.rows_read} rows, {report.inserted} sales, {report.quarantined} quarantined"
        )
    else:
        frame = ames_frame()
    result = run_backtest(frame, "2010-01-01", draws=args.draws)
    print(format_table(result))
    out = result.to_dict()
    if args.speed:
        out["speed"] = speed()
        print("speed:", out["speed"])
    if args.api:
        out["api"] = api_latency()
        print("api:", out["api"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
        print(f"wrote {args.json}")


def rolling(args: argparse.Namespace) -> None:
    frame, report = file_sales_frame(
        SAMPLES / "ames_iowa_sales_2006_2010.csv", SAMPLES / "ames.mapping.yaml"
    )
    print(f"Ames: imported {report.rows_read} rows, {report.inserted} sales", flush=True)
    if args.rising_pct_per_year:
        years = (pd.to_datetime(frame["close_date"]) - pd.Timestamp("2006-01-01")).dt.days / 365.25
        frame["sale_price"] = frame["sale_price"] * (1 + args.rising_pct_per_year / 100) ** years
        print(
            f"semi-synthetic: Ames prices rising {args.rising_pct_per_year:g} % a year", flush=True
        )
    results = run_rolling(frame, args.years or None, draws=args.draws)
    print(format_rolling(results), flush=True)
    out = {r.label: r.to_dict() for r in results}
    if not args.no_sacramento:
        sac, report = file_sales_frame(
            SAMPLES / "sacramento_ca_sales_2008.csv", SAMPLES / "sacramento.mapping.yaml"
        )
        print(f"Sacramento: imported {report.rows_read} rows, {report.inserted} sales", flush=True)
        result = run_cross_fitted(sac, draws=args.draws)
        result.label = "Sacramento 2008, " + result.label
        print(format_rolling([result]), flush=True)
        out[result.label] = result.to_dict()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
