"""``reos owners resolve|list|show|portfolio|top|merge|split|export-clusters``.

Owners are named by their id (UUID) or their key (``own:<smallest record id>``); records by
the source's own owner record id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from reos.cli_support import JsonOption, OrgOption, org_session, print_json, print_table
from reos.errors import ValidationFailed
from reos.owners import queries, service
from reos.owners.schemas import (
    MergeResult,
    OwnerDetail,
    OwnerSummary,
    PortfolioOut,
    SplitResult,
    TopOwner,
    report_out,
)

owners_app = typer.Typer(
    help="Owner resolution: who owns what, corrections, portfolios.", no_args_is_help=True
)
SUMMARY_COLUMNS = ["id", "entity_key", "display_name", "kind", "record_count", "property_count"]


def _flag_text(flags: dict[str, Any]) -> str:
    names = ("owner_occupied", "absentee", "out_of_state", "corporate", "trust", "government",
             "foreign_mailing", "po_box")  # fmt: skip
    on = [n for n in names if flags.get(n)]
    years = flags.get("years_owned_max")
    return ", ".join(on + ([f"owned up to {years} years"] if years is not None else [])) or "-"


@owners_app.command("resolve")
def resolve(
    org: str = OrgOption,
    threshold: float = typer.Option(
        None, "--threshold", help="match probability for one party (default: last run's, 0.95)"
    ),
    full: bool = typer.Option(False, "--full", help="re-resolve everything, retrain the model"),
    as_json: bool = JsonOption,
) -> None:
    """Resolve owner records into owners (only new records are linked unless --full)."""
    with org_session(org) as session:
        report = report_out(service.resolve(session, threshold=threshold, full=full))
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    typer.echo(
        f"{report.records} owner records -> {report.entities} owners ({report.merges} merged) "
        f"in {report.seconds} s [{report.mode}, {report.method}, threshold {report.threshold}]"
    )
    if report.mode == "incremental" and report.new_records:
        typer.echo(
            f"{report.new_records} new records linked; {len(report.bridges)} bridge "
            "two or more owners (candidates for `reos owners merge`)"
        )
    if report.property_unknown:
        typer.echo(f"{report.property_unknown} records have no stored property (property unknown)")
    for line in (report.reason, report.note, *report.overrides_rejected):
        if line:
            typer.echo(f"note: {line}")


@owners_app.command("list")
def list_owners(
    q: str = typer.Option(None, "--q", help="part of a name"),
    kind: str = typer.Option(None, "--kind", help="person, organisation, trust, government"),
    absentee: bool = typer.Option(None, "--absentee/--not-absentee"),
    out_of_state: bool = typer.Option(None, "--out-of-state/--in-state"),
    corporate: bool = typer.Option(None, "--corporate/--not-corporate"),
    limit: int = typer.Option(50, help="at most this many (1-10000)"),
    offset: int = typer.Option(0, help="skip this many"),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """List owners, optionally filtered by name, kind and flags."""
    if not 1 <= limit <= 10_000:
        raise ValidationFailed("--limit must be between 1 and 10000", field="limit")
    if offset < 0:
        raise ValidationFailed("--offset must be 0 or more", field="offset")
    with org_session(org) as session:
        items, total = queries.list_owners(
            session, q=q, kind=kind, absentee=absentee, out_of_state=out_of_state,
            corporate=corporate, limit=limit, offset=offset,
        )  # fmt: skip
        rows = [OwnerSummary.model_validate(i).model_dump(mode="json") for i in items]
    if as_json:
        print_json({"items": rows, "total": total, "limit": limit, "offset": offset})
        return
    print_table(rows, SUMMARY_COLUMNS)
    typer.echo(f"{len(rows)} of {total}")


@owners_app.command("show")
def show(entity: str, org: str = OrgOption, as_json: bool = JsonOption) -> None:
    """One owner: its records (raw names), properties, flags, related owners, portfolio."""
    with org_session(org) as session:
        row = queries.find_owner(session, entity)
        detail = OwnerDetail.model_validate(queries.get_owner(session, row.id))
    out = detail.model_dump(mode="json")
    if as_json:
        print_json(out)
        return
    typer.echo(f"{detail.display_name} ({detail.kind}) {detail.id} [{detail.entity_key}]")
    typer.echo(f"flags: {_flag_text(out['flags'])}")
    folio = detail.portfolio
    total = f"{folio.total_estimated_value:,.0f}" if folio.total_estimated_value else "unknown"
    typer.echo(
        f"portfolio: {folio.property_count} properties, estimated value {total}"
        + (f", {folio.property_unknown_count} property unknown" if folio.property_unknown_count
           else "")
    )  # fmt: skip
    print_table(
        [{**r, "property": "unknown" if r["property_unknown"] else r["property_id"]}
         for r in out["records"]],
        ["owner_record_id", "owner_name", "owner_name_2", "mailing_address", "mailing_city",
         "mailing_state", "match_probability", "property"],
    )  # fmt: skip
    if out["properties"]:
        print_table(out["properties"], ["address", "city", "state", "zip", "estimated_value",
                                        "years_owned", "absentee"])  # fmt: skip
    if out["related"]:
        print_table(out["related"], ["id", "display_name", "kind", "reason"])


@owners_app.command("portfolio")
def portfolio(entity: str, org: str = OrgOption, as_json: bool = JsonOption) -> None:
    """An owner's properties with their latest valuations, total and locations."""
    with org_session(org) as session:
        row = queries.find_owner(session, entity)
        folio = PortfolioOut.model_validate(queries.portfolio(session, row.id))
    out = folio.model_dump(mode="json")
    if as_json:
        print_json(out)
        return
    print_table(out["properties"], ["address", "city", "state", "zip", "estimated_value",
                                    "valuation_date", "years_owned"])  # fmt: skip
    total = f"{folio.total_estimated_value:,.0f}" if folio.total_estimated_value else "unknown"
    typer.echo(
        f"{folio.display_name}: {folio.property_count} properties "
        f"({folio.valued_property_count} valued), total estimated value {total}; "
        f"{', '.join(folio.cities) or 'no city known'}"
    )


@owners_app.command("top")
def top(
    n: int = typer.Option(20, "--n", help="how many (at least 1)"),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """The most connected owners (PageRank over owners, properties, addresses, people)."""
    with org_session(org) as session:
        rows = [TopOwner.model_validate(o).model_dump(mode="json") for o in queries.top(session, n)]
    if as_json:
        print_json(rows)
        return
    print_table(rows, ["pagerank", *SUMMARY_COLUMNS])


@owners_app.command("merge")
def merge(
    record_a: str = typer.Argument(..., help="an owner record id"),
    record_b: str = typer.Argument(..., help="another owner record id"),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """The two records are the same owner (kept by every later run)."""
    with org_session(org) as session:
        result = MergeResult.model_validate(service.merge(session, record_a, record_b))
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    e = result.entity
    verb = "were already" if result.already_same_owner else "now are"
    typer.echo(f"{record_a} and {record_b} {verb} one owner: {e.display_name} {e.id} "
               f"({e.record_count} records)")  # fmt: skip


@owners_app.command("split")
def split(
    entity: str = typer.Argument(..., help="the owner's id or key"),
    record_id: str = typer.Argument(..., help="the owner record that is not this owner"),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """The record is not this owner: give it an owner of its own (kept by every later run)."""
    with org_session(org) as session:
        row = queries.find_owner(session, entity)
        result = SplitResult.model_validate(service.split(session, row.id, record_id))
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    typer.echo(f"{record_id} split off into owner {result.new_entity.id}; "
               f"{result.entity.display_name} keeps {result.entity.record_count} records")  # fmt: skip


@owners_app.command("export-clusters")
def export_clusters(
    out: Path = typer.Argument(..., help="CSV to write: source_record_id,entity_id"),
    org: str = OrgOption,
) -> None:
    """Every owner record with the owner (UUID) it was resolved into, one row per record."""
    with org_session(org) as session:
        summary = queries.export_clusters(session, out)
    typer.echo(f"wrote {summary['records']} records ({summary['entities']} owners) to {out}")


def mount(app: typer.Typer) -> None:
    app.add_typer(owners_app, name="owners")
