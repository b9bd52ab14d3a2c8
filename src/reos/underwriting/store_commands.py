"""The store side of ``reos underwrite``: ``--property ID`` and ``--all``.

Called by the ``underwrite`` command (:mod:`reos.underwriting.commands`) when it is asked
about stored properties rather than a deal file; kept here so the deal-file command stays
small. Imports nothing heavy at module level.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from reos.cli_support import org_session, parse_uuid, print_json, print_table
from reos.errors import ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from reos.models import UnderwritingRun


def _assumptions(path: Path | None, strategy: str) -> dict[str, Any]:
    """The deal-file fields of an ``--assumptions`` file (YAML or JSON)."""
    if path is None:
        return {}
    from reos.underwriting import deal as deals

    data = deals.read_data_file(path)
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"{path}: assumptions are a mapping of deal field: value", field="assumptions"
        )
    return data


def _parse_day(value: str | None) -> Any:
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"--as-of: {value!r} is not a date (YYYY-MM-DD)", field="as_of"
        ) from None


def underwrite_property(
    property_id: str,
    strategy: str,
    assumptions_file: Path | None,
    price: float | None,
    as_of: str | None,
    org: str | None,
    as_json: bool,
) -> None:
    """``reos underwrite --property ID``: fill, underwrite, store and print."""
    from reos.underwriting import service

    service.check_store_strategy(strategy)
    ident = parse_uuid(property_id, "property", "a property id")
    assumptions = _assumptions(assumptions_file, strategy)
    if price is not None and not price > 0:
        raise ValidationFailed(f"--price: {price} — must be greater than 0", field="price")
    with org_session(org) as session:
        row = service.underwrite_property(
            session, ident, strategy, assumptions=assumptions, price=price, as_of=_parse_day(as_of)
        )
        out = service.to_json(row)
    if as_json:
        print_json(out)
        return
    from reos.underwriting.analysis import DealAnalysis
    from reos.underwriting.commands import format_metric, render_analysis

    typer.echo(f"underwriting {out['id']}  {out['strategy']}  property {out['property_id']}")
    render_analysis(
        DealAnalysis(
            out["strategy"], out["inputs"], out["metrics"], out["cash_flows"],
            out["detail"], out["notes"],
        )
    )  # fmt: skip
    print_table(
        [{"input": name, "source": source} for name, source in sorted(out["sources"].items())],
        ["input", "source"],
    )
    headline = ("profit", "roi") if out["strategy"] == "flip" else ("irr_levered", "npv_levered")
    for case in ("low", "base", "high"):
        body = out["cases"].get(case)
        if body is not None:
            shown = ", ".join(f"{k} {v:,.0f}" for k, v in body["inputs"].items())
            figures = "  ".join(
                f"{name} {format_metric(name, body['metrics'].get(name))}" for name in headline
            )
            typer.echo(f"{case:>4} case (AVM 80% interval): {shown}  {figures}")


def underwrite_all(
    strategy: str,
    assumptions_file: Path | None,
    as_of: str | None,
    org: str | None,
    as_json: bool,
    chunk_properties: int,
) -> None:
    """``reos underwrite --all``: every property, chunked and resumable, with a progress bar."""
    from rich.progress import Progress

    from reos.underwriting import service

    service.check_store_strategy(strategy)
    assumptions = _assumptions(assumptions_file, strategy)
    if chunk_properties < 1:
        raise ValidationFailed("--chunk: must be at least 1", field="chunk")

    def factory() -> AbstractContextManager[Session]:
        return org_session(org)

    def resuming(run: UnderwritingRun) -> None:
        typer.echo(
            f"resuming underwriting run {run.id} ({run.strategy}) after "
            f"{run.properties_done:,} properties",
            err=True,
        )

    with Progress(transient=True) as bar:
        task = bar.add_task("underwriting", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = service.underwrite_all(
            factory,
            strategy,
            assumptions,
            as_of=_parse_day(as_of),
            progress=tick,
            chunk_properties=chunk_properties,
            on_resume=resuming,
        )
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"underwrote {summary['underwritten']} of {summary['properties']} properties "
        f"({summary['strategy']})"
        + (f"; skipped: {summary['skipped']}" if summary["skipped"] else "")
    )


def dispatch(
    *,
    deal: Path | None,
    property_id: str | None,
    all_properties: bool,
    strategy: str,
    assumptions: Path | None,
    price: float | None,
    as_of: str | None,
    chunk: int,
    org: str | None,
    as_json: bool,
) -> None:
    """``reos underwrite --property ID`` or ``--all``: refuse mixed modes by name, then run."""
    if deal is not None:
        raise ValidationFailed("give a deal file or --property/--all, not both", field="property")
    if property_id is not None and all_properties:
        raise ValidationFailed("give --property ID or --all, not both", field="property")
    if all_properties:
        if price is not None:
            raise ValidationFailed(
                "--price goes with --property (one property has one price)", field="price"
            )
        underwrite_all(strategy, assumptions, as_of, org, as_json, chunk)
        return
    assert property_id is not None
    underwrite_property(property_id, strategy, assumptions, price, as_of, org, as_json)
