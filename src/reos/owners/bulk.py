"""The bulk write path of owner records: one validated chunk of an owner file in, owner
records inserted or updated (matched by ``owner_record_id``) and linked to the property
they own, by parcel number, else by address key, through the properties read model.
A row with no property key at all (a skip-trace or contact list) is kept as an unlinked
owner record: resolution groups it into an owner like any other, and a later row with the
same ``owner_record_id`` and a parcel number or address links it.

The import engine (:mod:`reos.ingest.chunks`) calls :func:`write_owner_records`
(registered in :mod:`reos.owners.kinds`) inside the chunk's transaction. Precedence: the
newest observation wins (:mod:`reos.kernel.merge`); a link made earlier is not undone by a
row that cannot be linked now.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from reos.ingest.kinds import field_names
from reos.kernel.addresses import normalize_address
from reos.kernel.bulk import among, in_batches
from reos.kernel.merge import ChunkResult, ChunkWriter, Record, count, issues, plain
from reos.kernel.rows import Validated
from reos.kernel.vocabulary import Entity
from reos.models import OwnerRecord
from reos.properties import bulk as properties_bulk
from reos.properties import read_model as properties_read

OWNER_FIELDS: tuple[str, ...] = field_names(Entity.OWNER)

_OWNER_LOAD = (
    "id", *OWNER_FIELDS, "mailing_address_key", "property_id", "property_ref", "link_status",
    "attributes", "warnings", "provenance",
)  # fmt: skip
_OWNER_COLUMNS = (
    *OWNER_FIELDS,
    "mailing_address_key",
    "property_id",
    "property_ref",
    "link_status",
)


def _link(
    values: dict[str, Any], by_parcel: dict[str, list[Any]], by_address: dict[str, list[Any]]
) -> tuple[Any, str]:
    for name, index in (("parcel_number", by_parcel), ("address_key", by_address)):
        wanted = values.get(name)
        if not wanted:
            continue
        found = index.get(wanted, [])
        if len(found) == 1:
            return found[0], "linked"
        if len(found) > 1:
            return None, "ambiguous"
    return None, "unlinked"


def write_owner_records(writer: ChunkWriter, items: list[Validated], result: ChunkResult) -> None:
    """Write a chunk of an owner file. ``items`` passed the validation gate; the caller
    commits."""
    session = writer.session
    valid = items
    owners: dict[str, Record] = {}
    columns = [getattr(OwnerRecord, c) for c in _OWNER_LOAD]
    for batch in in_batches(i.values.get("owner_record_id") for i in valid):
        stmt = (
            select(*columns)
            .where(among(session, OwnerRecord.owner_record_id, batch))
            .order_by(OwnerRecord.created_at)
        )
        for row in session.execute(stmt):
            data = row._asdict()
            owners.setdefault(
                data["owner_record_id"],
                Record(
                    id=data["id"],
                    values={k: data[k] for k in _OWNER_COLUMNS},
                    provenance=dict(data["provenance"] or {}),
                    attributes=dict(data["attributes"] or {}),
                    warnings=list(data["warnings"] or []),
                ),
            )
    by_parcel = properties_read.property_ids_by(
        session, "parcel_number", _field_values(valid, "parcel_number")
    )
    by_address = properties_read.property_ids_by(
        session, "address_key", _field_values(valid, "address_key")
    )
    for item in items:
        values = item.values
        prov = writer.ctx.provenance(item.row_number)
        incoming: dict[str, Any] = {
            k: values.get(k) for k in OWNER_FIELDS if values.get(k) is not None
        }
        mailing = normalize_address(
            values.get("mailing_address"),
            values.get("mailing_address_2"),
            values.get("mailing_city"),
            values.get("mailing_state"),
            values.get("mailing_zip"),
            values.get("mailing_country"),
        )
        if values.get("mailing_address"):
            incoming["mailing_address_key"] = mailing.key
        property_id, status = _link(values, by_parcel, by_address)
        incoming["link_status"] = status
        incoming["property_id"] = property_id
        incoming["property_ref"] = {
            k: plain(values.get(k))
            for k in ("parcel_number", "source_record_id", "address", "address_key")
            if values.get(k) is not None
        }
        if not any(values.get(k) for k in ("parcel_number", "address_key", "source_record_id")):
            result.owners_without_property += 1
        elif status == "unlinked":
            result.unlinked_owners += 1
        elif status == "ambiguous":
            result.ambiguous_owners += 1
        rid = str(values["owner_record_id"])
        record = owners.get(rid)
        warnings = issues(item.warnings)
        if record is None:
            record = Record(
                id=uuid.uuid4(),
                values=dict.fromkeys(_OWNER_COLUMNS),
                provenance={},
                attributes={},
                warnings=warnings,
                new=True,
                extra={"row_number": item.row_number},
            )
            writer.merge(
                record,
                Entity.OWNER,
                incoming,
                values.get("attributes") or {},
                item.row_number,
                prov,
            )
            owners[rid] = record
            outcome = "inserted"
        else:
            if record.values.get("property_id") is not None and property_id is None:
                # a link made earlier is not undone by a row that cannot be linked now
                incoming.pop("property_id")
                incoming.pop("link_status")
            changed = writer.merge(
                record,
                Entity.OWNER,
                incoming,
                values.get("attributes") or {},
                item.row_number,
                prov,
            )
            if changed:
                record.warnings = warnings
            outcome = "updated" if changed else "unchanged"
        count(result, outcome, item)
    inserts, updates = [], []
    for record in owners.values():
        if not (record.new or record.dirty):
            continue
        out: dict[str, Any] = {"id": record.id}
        for name in _OWNER_COLUMNS:
            out[name] = record.values.get(name)
        out["property_ref"] = out["property_ref"] or {}
        out["link_status"] = out["link_status"] or "unlinked"
        out["attributes"] = record.attributes
        out["warnings"] = record.warnings
        out["provenance"] = record.provenance
        out["updated_at"] = writer.now
        if record.new:
            out["import_id"] = writer.ctx.import_id
            out["row_number"] = record.extra.get("row_number")
            out["created_at"] = writer.now
            out["entity_id"] = None
            out["match_probability"] = None
            inserts.append(out)
        else:
            updates.append(out)
    writer.insert(OwnerRecord.__table__, inserts)  # type: ignore[arg-type]
    writer.update(OwnerRecord.__table__, updates)  # type: ignore[arg-type]
    properties_bulk.write_field_changes(writer)


def _field_values(items: list[Validated], name: str) -> list[Any]:
    """The values of field ``name`` in ``items`` (empty ones included; the read model skips them)."""
    return [i.values.get(name) for i in items]
