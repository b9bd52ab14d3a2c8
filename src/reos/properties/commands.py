"""``reos properties list|show``."""

from __future__ import annotations

import typer

from reos.cli_support import (
    JsonOption,
    OrgOption,
    org_session,
    parse_uuid,
    print_json,
    print_table,
    validated,
)
from reos.properties import service
from reos.properties.schemas import PropertyOut, PropertyQuery

properties_app = typer.Typer(help="Property records.", no_args_is_help=True)
COLUMNS = [
    "id",
    "address",
    "city",
    "state",
    "zip",
    "zip4",
    "property_type",
    "living_area_sqft",
    "beds",
    "year_built",
]


@properties_app.command("list")
def list_properties(
    org: str = OrgOption,
    city: str = typer.Option(None),
    state: str = typer.Option(None, help="two-letter code (IA)"),
    zip: str = typer.Option(None, help="five-digit ZIP"),
    property_type: str = typer.Option(None, "--property-type", "--type"),
    min_price: float = typer.Option(None, "--min-price", help="last sale price at least"),
    max_price: float = typer.Option(None, "--max-price", help="last sale price at most"),
    min_area_sqft: float = typer.Option(None, "--min-area-sqft"),
    max_area_sqft: float = typer.Option(None, "--max-area-sqft"),
    min_year_built: int = typer.Option(None, "--min-year-built"),
    max_year_built: int = typer.Option(None, "--max-year-built"),
    near: str = typer.Option(None, help="lat,lon (with --radius-m)"),
    radius_m: float = typer.Option(None, "--radius-m"),
    sort: str = typer.Option(
        "created_at",
        help="created_at, zip, city, year_built, living_area_sqft, last_sale_price or "
        "distance; a leading - sorts descending",
    ),
    limit: int = typer.Option(50, help="at most this many (1-500)"),
    offset: int = typer.Option(0, help="skip this many"),
    as_json: bool = JsonOption,
) -> None:
    """List properties: filters, sorting and paging as ``GET /api/v1/properties``,
    optionally within a radius of a point."""
    query = validated(PropertyQuery, {
        "city": city, "state": state, "zip": zip, "property_type": property_type,
        "min_price": min_price, "max_price": max_price, "min_area_sqft": min_area_sqft,
        "max_area_sqft": max_area_sqft, "min_year_built": min_year_built,
        "max_year_built": max_year_built, "near": near, "radius_m": radius_m, "sort": sort,
        "limit": limit, "offset": offset,
    })  # fmt: skip
    with org_session(org) as session:
        hits, total = service.search_for(session, query)
        rows = [PropertyOut.of(h.property, h.distance_m).model_dump(mode="json") for h in hits]
    if as_json:
        print_json({"items": rows, "total": total, "limit": query.limit, "offset": query.offset})
    else:
        print_table(rows, COLUMNS + (["distance_m"] if query.near else []))
        typer.echo(f"{len(rows)} of {total}")


@properties_app.command("show")
def show_property(
    property_id: str,
    org: str = OrgOption,
    provenance: bool = typer.Option(False, "--provenance", help="per-field source and history"),
) -> None:
    """Show one property as JSON (with --provenance: where each value came from)."""
    ident = parse_uuid(property_id, "property_id", "a property id")
    with org_session(org) as session:
        prop = service.get_property(session, ident)
        out = PropertyOut.of(prop, with_provenance=provenance).model_dump(mode="json")
        if provenance:
            out["history"] = service.history(session, prop.id)
    print_json(out)


def mount(app: typer.Typer) -> None:
    app.add_typer(properties_app, name="properties")
