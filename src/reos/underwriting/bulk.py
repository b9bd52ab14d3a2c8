"""The bulk write path of rent listings: one validated chunk of a rents file in, rent
listings inserted or updated (matched by ``rent_record_id``) and linked to the property
they describe, by parcel number, else by address key, through the properties read model.

The import engine (:mod:`reos.ingest.chunks`) calls :func:`write_rent_listings`
(registered in :mod:`reos.underwriting.kinds`) inside the chunk's transaction. A listing
keeps its own location and facts (area, beds, baths, type): an unlinked listing is still a
comparable for a rent estimate. Precedence: the newest observation wins
(:mod:`reos.kernel.merge`); a link made earlier is not undone by a row that cannot be
linked now. Unlike a sales row, a rent row never creates a property: a home listed for
rent is evidence about rents, not a record of the organisation's property list.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from reos.kernel.bulk import among, in_batches
from reos.kernel.merge import ChunkResult, ChunkWriter, Record, count, issues
from reos.kernel.rows import Validated
from reos.kernel.vocabulary import Entity
from reos.models import RentListing
from reos.properties import bulk as properties_bulk
from reos.properties import read_model as properties_read

#: Observed columns of a rent listing: the rent fields, then the property facts it carries.
RENT_FIELDS: tuple[str, ...] = (
    "monthly_rent",
    "lease_date",
    "rent_status",
    "parcel_number",
    "address",
    "city",
    "state",
    "zip",
    "latitude",
    "longitude",
    "property_type",
    "living_area_sqft",
    "beds",
    "baths_full",
    "baths_half",
)
_COLUMNS = (*RENT_FIELDS, "address_key", "property_id", "link_status")
_LOAD = ("id", "rent_record_id", *_COLUMNS, "attributes", "warnings", "provenance")


def _link(
    values: dict[str, Any],
    by_parcel: dict[Any, list[Any]],
    by_source: dict[Any, list[Any]],
    by_address: dict[Any, list[Any]],
) -> tuple[Any, str]:
    """The property a listing describes: one property with its parcel number, else with
    its record id (``source_record_id``, when the file names the property's id apart from
    the listing's own), else with its address key; several is ``ambiguous``, none
    ``unlinked``."""
    for name, index in (
        ("parcel_number", by_parcel),
        ("source_record_id", by_source),
        ("address_key", by_address),
    ):
        wanted = values.get(name)
        if name == "source_record_id" and wanted == values.get("rent_record_id"):
            continue  # the listing's own key (RESO ListingKey), not a property's id
        if not wanted:
            continue
        found = index.get(wanted, [])
        if len(found) == 1:
            return found[0], "linked"
        if len(found) > 1:
            return None, "ambiguous"
    return None, "unlinked"


def write_rent_listings(writer: ChunkWriter, items: list[Validated], result: ChunkResult) -> None:
    """Write a chunk of a rents file. ``items`` passed the validation gate; the caller
    commits."""
    session = writer.session
    listings: dict[str, Record] = {}
    columns = [getattr(RentListing, c) for c in _LOAD]
    for batch in in_batches(str(i.values.get("rent_record_id")) for i in items):
        stmt = (
            select(*columns)
            .where(among(session, RentListing.rent_record_id, batch))
            .order_by(RentListing.created_at)
        )
        for row in session.execute(stmt):
            data = row._asdict()
            listings.setdefault(
                data["rent_record_id"],
                Record(
                    id=data["id"],
                    values={k: data[k] for k in _COLUMNS},
                    provenance=dict(data["provenance"] or {}),
                    attributes=dict(data["attributes"] or {}),
                    warnings=list(data["warnings"] or []),
                ),
            )
    by_parcel = properties_read.property_ids_by(
        session, "parcel_number", [i.values.get("parcel_number") for i in items]
    )
    by_source = properties_read.property_ids_by(
        session, "source_record_id", [i.values.get("source_record_id") for i in items]
    )
    by_address = properties_read.property_ids_by(
        session, "address_key", [i.values.get("address_key") for i in items]
    )
    for item in items:
        values = item.values
        prov = writer.provenance(item.row_number)
        incoming: dict[str, Any] = {
            k: values.get(k) for k in RENT_FIELDS if values.get(k) is not None
        }
        if values.get("address_key"):
            incoming["address_key"] = values["address_key"]
        property_id, status = _link(values, by_parcel, by_source, by_address)
        incoming["property_id"] = property_id
        incoming["link_status"] = status
        attributes = values.get("attributes") or {}
        rid = str(values["rent_record_id"])
        record = listings.get(rid)
        if record is None:
            record = Record(
                id=uuid.uuid4(),
                values=dict.fromkeys(_COLUMNS),
                provenance={},
                attributes={},
                warnings=issues(item.warnings),
                new=True,
                extra={"row_number": item.row_number, "rent_record_id": rid},
            )
            writer.merge(record, Entity.RENT, incoming, attributes, item.row_number, prov)
            listings[rid] = record
            outcome = "inserted"
        else:
            if record.values.get("property_id") is not None and property_id is None:
                incoming.pop("property_id")
                incoming.pop("link_status")
            changed = writer.merge(record, Entity.RENT, incoming, attributes, item.row_number, prov)
            if changed:
                record.warnings = issues(item.warnings)
            outcome = "updated" if changed else "unchanged"
        count(result, outcome, item)
    inserts, updates = [], []
    for rid, record in listings.items():
        if not (record.new or record.dirty):
            continue
        out: dict[str, Any] = {"id": record.id, "rent_record_id": rid}
        for name in _COLUMNS:
            out[name] = record.values.get(name)
        out["link_status"] = out["link_status"] or "unlinked"
        out["attributes"] = record.attributes
        out["warnings"] = record.warnings
        out["provenance"] = record.provenance
        out["updated_at"] = writer.now
        if record.new:
            out["import_id"] = writer.ctx.import_id
            out["row_number"] = record.extra.get("row_number")
            out["created_at"] = writer.now
            inserts.append(out)
        else:
            updates.append(out)
    writer.insert(RentListing.__table__, inserts)  # type: ignore[arg-type]
    writer.update(RentListing.__table__, updates)  # type: ignore[arg-type]
    properties_bulk.write_field_changes(writer)
