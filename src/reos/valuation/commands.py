"""``reos avm train|models|backtest|ratio-study`` and ``reos value``."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from reos.cli_support import JsonOption, OrgOption, org_session, parse_uuid, print_json, print_table
from reos.errors import ValidationFailed
from reos.kernel.jsonable import jsonable
from reos.models import ValuationRun
from reos.valuation import service
from reos.valuation.backtest_import import file_sales_frame
from reos.valuation.ratio_study import RatioStudy

avm_app = typer.Typer(
    help="The valuation model: train, list, backtest, ratio study.", no_args_is_help=True
)


@avm_app.command("train")
def train(
    org: str = OrgOption,
    cutoff: str = typer.Option(
        None, "--cutoff", help="train on sales before this date (default: all)"
    ),
    if_stale: bool = typer.Option(
        False,
        "--if-stale",
        help="train only when the active model is older than the data (sales it has not "
        "seen, REOS_AVM_STALE_AFTER_SALES) or missing; say which either way",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Fit the ranker, hedonic model and market index on the organisation's sales."""
    if if_stale and cutoff:
        raise ValidationFailed(
            "--if-stale retrains on every sale; leave out --cutoff (or drop --if-stale)",
            field="cutoff",
        )
    if if_stale:
        _train_if_stale(org, as_json)
        return
    with org_session(org) as session:
        row = service.train_model(session, service.parse_date(cutoff, "cutoff"))
        out: dict[str, Any] = {
            "version": row.version,
            "rows": row.row_count,
            "cutoff": row.cutoff,
            "window": [row.window_start, row.window_end],
            "train_seconds": row.holdout_metrics.get("train_seconds"),
            "holdout": row.holdout_metrics.get("holdout_metrics"),
        }
    if as_json:
        print_json(out)
    else:
        typer.echo(
            f"trained {out['version']} on {out['rows']} sales ({out['window'][0]} .. {out['window'][1]}) in {out['train_seconds']} s"
        )


def _train_if_stale(org: str, as_json: bool) -> None:
    with org_session(org) as session:
        outcome = service.train_if_stale(session)
        before = outcome.before
        trained = outcome.trained
        out: dict[str, Any] = {
            "retrained": trained is not None,
            "was_stale": before.stale,
            "before": before.to_dict(),
            "version": trained.version if trained is not None else before.model_version,
        }
        if trained is not None:
            out["rows"] = trained.row_count
            out["window"] = [trained.window_start, trained.window_end]
            out["train_seconds"] = trained.holdout_metrics.get("train_seconds")
    if as_json:
        print_json(out)
    elif trained is None:
        typer.echo(f"up to date, not retrained: {before.describe()}")
    else:
        typer.echo(
            f"stale ({before.describe()}): trained {out['version']} on {out['rows']} sales "
            f"({out['window'][0]} .. {out['window'][1]}) in {out['train_seconds']} s"
        )


@avm_app.command("models")
def models(org: str = OrgOption, as_json: bool = JsonOption) -> None:
    """List trained model versions (the active one is used for new valuations)."""
    with org_session(org) as session:
        rows = [
            {
                "version": m.version,
                "active": m.is_active,
                "cutoff": m.cutoff,
                "rows": m.row_count,
                "window": f"{m.window_start} .. {m.window_end}",
                "features": len(m.features),
                "created_at": m.created_at,
            }
            for m in service.list_models(session)
        ]
    print_json(rows) if as_json else print_table(
        rows, ["version", "active", "cutoff", "rows", "window", "features", "created_at"]
    )


@avm_app.command("backtest")
def backtest(
    file: Path = typer.Argument(..., help="sales file (CSV, TSV, XLSX, Parquet)"),
    holdout_from: str = typer.Option(
        ..., "--holdout-from", help="value the sales on or after this date"
    ),
    mapping: Path = typer.Option(
        None, "--mapping", help="mapping YAML (optional when headers are recognised)"
    ),
    json_out: Path = typer.Option(None, "--json", help="also write the full result as JSON here"),
    draws: int = typer.Option(
        1000, "--draws", min=100, help="bootstrap draws for the 95% intervals"
    ),
) -> None:
    """Out-of-time backtest in a scratch store: train before the date, value each later sale
    as of its own sale date, and compare with two baselines (IAAO ratio study)."""
    from reos.valuation.backtest import format_table, run_backtest

    day = service.parse_date(holdout_from, "holdout-from")
    assert day is not None
    frame, report = file_sales_frame(file, mapping)
    typer.echo(
        f"imported {report.rows_read} rows: {report.inserted} sales in, {report.quarantined} quarantined",
        err=True,
    )
    result = run_backtest(frame, day, draws=draws)
    typer.echo(format_table(result))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(jsonable(result.to_dict()), indent=2, default=str))
        typer.echo(f"wrote {json_out}", err=True)


@avm_app.command("ratio-study")
def ratio_study_command(org: str = OrgOption, as_json: bool = JsonOption) -> None:
    """IAAO ratio study of stored valuations against later sales of the same properties."""
    with org_session(org) as session:
        study = service.ratio_study_of_stored(session)
    print_json(jsonable(study.to_dict())) if as_json else typer.echo(_format_study(study))


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _format_study(study: RatioStudy) -> str:
    keys = (
        "n",
        "mdape",
        "ppe5",
        "ppe10",
        "ppe20",
        "coverage_80",
        "median_ratio",
        "cod",
        "prd",
        "prb",
    )
    lines = [f"{'statistic':<14}{'untrimmed':>12}{'trimmed':>12}   95% CI (untrimmed)"]
    for key in keys:
        a, b = study.stats.get(key), study.trimmed.get(key)
        ci = study.ci95.get(key)
        lines.append(
            f"{key:<14}{_fmt(a):>12}{_fmt(b):>12}   {'' if not ci else f'{ci[0]:.4f} .. {ci[1]:.4f}'}"
        )
    lines.append(f"trimmed {study.n_trimmed} ({study.trim_method})")
    return "\n".join(lines)


def value_command(
    property_id: str = typer.Option(None, "--property", help="property id"),
    address: str = typer.Option(None, "--address", help="an address not in the store"),
    all_properties: bool = typer.Option(
        False,
        "--all",
        help="value every property (batch, committed in chunks; a re-run resumes an unfinished one)",
    ),
    as_of: str = typer.Option(None, "--as-of", help="valuation date (default today)"),
    chunk_properties: int = typer.Option(
        service.BATCH_SIZE,
        "--chunk-properties",
        min=1,
        help="with --all: properties per committed transaction",
    ),
    living_area_sqft: float = typer.Option(None, "--living-area-sqft"),
    beds: int = typer.Option(None, "--beds"),
    baths_full: int = typer.Option(None, "--baths-full"),
    year_built: int = typer.Option(None, "--year-built"),
    lot_size_sqft: float = typer.Option(None, "--lot-size-sqft"),
    latitude: float = typer.Option(None, "--latitude"),
    longitude: float = typer.Option(None, "--longitude"),
    zip: str = typer.Option(None, "--zip"),
    property_type: str = typer.Option("single_family", "--type"),
    fields: list[str] = typer.Option(
        None,
        "--set",
        help="with --address: any other field as NAME=VALUE (quality=7, neighborhood=..., "
        "attributes.garage_area_sqft=480); repeat it",
    ),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Value a property (by id, or an address with attributes), or every property."""
    chosen = [x for x in (property_id, address) if x] + (["all"] if all_properties else [])
    if len(chosen) != 1:
        raise ValidationFailed(
            'give exactly one of --property ID, --address "..." or --all', field="property"
        )
    day = service.parse_date(as_of, "as-of")
    if all_properties:
        from rich.progress import Progress

        def factory() -> AbstractContextManager[Session]:
            return org_session(org)

        def resuming(run: ValuationRun) -> None:
            typer.echo(
                f"resuming valuation run {run.id} as of {run.valuation_date} "
                f"after {run.properties_done:,} properties",
                err=True,
            )

        with Progress(transient=True) as bar:
            task = bar.add_task("valuing", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = service.value_all(
                factory, day, tick, chunk_properties=chunk_properties, on_resume=resuming
            )
        print_json(summary) if as_json else typer.echo(
            f"valued {summary['valued']} of {summary['properties']} properties as of {summary['valuation_date']}"
            + (f"; not valued: {summary['not_valued']}" if summary["not_valued"] else "")
        )
        for warning in summary.get("warnings", []):
            typer.echo(f"warning: {warning}", err=True)
        return
    with org_session(org) as session:
        if property_id:
            ident = parse_uuid(property_id, "property", "a property id")
            row = service.value_property(session, ident, day)
        else:
            subject = {
                "address": address,
                "living_area_sqft": living_area_sqft,
                "beds": beds,
                "baths_full": baths_full,
                "year_built": year_built,
                "lot_size_sqft": lot_size_sqft,
                "latitude": latitude,
                "longitude": longitude,
                "zip": zip,
                "property_type": property_type,
            }
            given = {k: v for k, v in subject.items() if v is not None}
            given.update(_subject_fields(fields or []))
            row = service.value_subject(session, given, day)
        from reos.valuation.api import to_out

        out = to_out(row).model_dump(mode="json")
    if as_json:
        print_json(out)
        return
    typer.echo(
        f"{out['estimated_value']:,.0f} (80%: {out['interval_80'][0]:,.0f} .. {out['interval_80'][1]:,.0f}), "
        f"confidence {out['confidence']}, as of {out['valuation_date']}, model {out['model_version']}"
    )
    for warning in out["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    print_table(
        [
            {
                **c,
                "sale_price": f"{c['sale_price']:,.0f}",
                "adjusted_price": f"{c['adjusted_price']:,.0f}",
                "distance_m": round(c["distance_m"]),
                "weight": round(c["weight"], 3),
                "gross_%": round(c["gross_adjustment_pct"], 1),
            }
            for c in out["comps"]
        ],
        [
            "address",
            "distance_m",
            "close_date",
            "sale_price",
            "adjusted_price",
            "gross_%",
            "weight",
        ],
    )


def _subject_fields(pairs: list[str]) -> dict[str, Any]:
    """``--set NAME=VALUE`` options as subject fields; ``attributes.x`` go under
    ``attributes``. A value that reads as a number is one; true/false are booleans."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValidationFailed(f"--set takes NAME=VALUE, not {pair!r}", field="set")
        value: Any = text.strip()
        if value.lower() in ("true", "false"):
            value = value.lower() == "true"
        else:
            try:
                value = float(value)
            except ValueError:
                pass
        if name.startswith("attributes.") and len(name) > len("attributes."):
            out.setdefault("attributes", {})[name.removeprefix("attributes.")] = value
        elif name in SUBJECT_FIELDS:
            out[name] = value
        else:
            raise ValidationFailed(
                f"--set {name}: not a field of a property; use one of "
                f"{', '.join(sorted(SUBJECT_FIELDS))} or attributes.NAME",
                field="set",
            )
    return out


#: What ``--set`` may name besides ``attributes.NAME``.
SUBJECT_FIELDS = frozenset(service.PROPERTY_COLUMNS) | {"city", "state"}


def mount(app: typer.Typer) -> None:
    app.add_typer(avm_app, name="avm")
    app.command("value")(value_command)
