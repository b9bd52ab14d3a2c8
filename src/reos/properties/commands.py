"""``reos properties list|show``."""

from __future__ import annotations

import typer

from reos.cli_support import JsonOption, OrgOption, org_session, parse_uuid, print_json, print_table
from reos.errors import ValidationFailed
from reos.properties import service
from reos.properties.schemas import PropertyOut

properties_app = typer.Typer(help="Property records.", no_args_is_help=True)
COLUMNS = [
    "id",
    "address",
    "city",
    "state",
    "zip",
    "property_type",
    "living_area_sqft",
    "beds",
    "year_built",
]


@properties_app.command("list")
def list_properties(
    org: str = OrgOption,
    city: str = typer.Option(None),
    state: str = typer.Option(None),
    zip: str = typer.Option(None),
    property_type: str = typer.Option(None, "--type"),
    near: str = typer.Option(None, help="lat,lon"),
    radius_m: float = typer.Option(None, "--radius-m"),
    limit: int = typer.Option(50, min=1, max=10_000),
    offset: int = typer.Option(0, min=0),
    as_json: bool = JsonOption,
) -> None:
    """List properties, optionally within a radius of a point."""
    filters = service.PropertyFilters(city=city, state=state, zip=zip, property_type=property_type)
    with org_session(org) as session:
        if near:
            try:
                lat, lon = (float(x) for x in near.split(","))
            except ValueError:
                raise ValidationFailed(
                    "--near must be 'latitude,longitude'", field="near"
                ) from None
            if radius_m is None:
                raise ValidationFailed("--near needs --radius-m", field="radius_m")
            hits, total = service.search_radius(
                session, lat, lon, radius_m, filters, limit=limit, offset=offset
            )
        else:
            hits, total = service.list_properties(session, filters, limit=limit, offset=offset)
        rows = []
        for h in hits:
            rows.append(PropertyOut.of(h.property, h.distance_m).model_dump(mode="json"))
    if as_json:
        print_json({"items": rows, "total": total, "limit": limit, "offset": offset})
    else:
        print_table(rows, COLUMNS + (["distance_m"] if near else []))
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
