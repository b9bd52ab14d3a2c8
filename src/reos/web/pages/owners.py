"""The owners pages: search owners, one owner with its portfolio on a map and in a table,
its flags and related owners, and merge / split with a confirmation step.

Reads go through ``reos.owners.queries`` (the functions the owner API calls); merge and
split call ``reos.owners.service.merge`` / ``split`` like ``POST /api/v1/owners/merge`` and
``/{id}/split``. The confirmation page shows exactly what will change before the POST.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from reos.accounts.auth import Permission
from reos.errors import ValidationFailed
from reos.owners import queries, service
from reos.properties import read_model as properties_read
from reos.web.context import EditPage, Page, PageContext
from reos.web.maps import outlines
from reos.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
KINDS = ("person", "organisation", "trust", "government", "unknown")
MAX_TABLE_PROPERTIES = 500
"""Properties listed in the owner page's table (a registered agent can hold thousands)."""
FLAG_LABELS = (
    ("owner_occupied", "Owner-occupied"),
    ("absentee", "Absentee"),
    ("out_of_state", "Out of state"),
    ("corporate", "Corporate"),
    ("trust", "Trust"),
    ("government", "Government"),
    ("foreign_mailing", "Foreign mailing"),
    ("po_box", "PO box"),
)


def _flags_on(flags: dict[str, Any]) -> list[str]:
    return [label for name, label in FLAG_LABELS if flags.get(name)]


@router.get("/owners")
def search(
    request: Request,
    page: Page,
    q: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    min_properties: Annotated[str, Query(max_length=9, pattern=r"^\d*$")] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Owners by name, kind and portfolio size, 50 a page."""
    q = q.replace("\x00", "").strip()
    kind = kind if kind in KINDS else ""
    at_least = int(min_properties) if min_properties else None
    items, total = queries.list_owners(
        page.session,
        q=q or None,
        kind=kind or None,
        min_properties=at_least,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    params = {"q": q, "kind": kind, "min_properties": at_least or ""}
    pages = max(1, -(-total // PAGE_SIZE))

    def link(n: int) -> str:
        return "/owners?" + urlencode({**{k: v for k, v in params.items() if v}, "page": n})

    context = {
        "owners": [{**o, "flag_labels": _flags_on(o.get("flags") or {})} for o in items],
        "total": total,
        "q": q,
        "kind": kind,
        "kinds": KINDS,
        "min_properties": at_least,
        "page_no": page_no,
        "pages": pages,
        "prev_url": link(page_no - 1) if page_no > 1 else None,
        "next_url": link(page_no + 1) if page_no < pages else None,
        "first": (page_no - 1) * PAGE_SIZE + 1 if total else 0,
        "last": min(total, page_no * PAGE_SIZE),
    }
    template = "owners/_results.html" if is_htmx(request) else "owners/index.html"
    return render(request, template, context)


def _portfolio_points(page: PageContext, properties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [p["property_id"] for p in properties]
    located = {
        p.id: p
        for p in properties_read.properties_by_id(page.session, ids)
        if p.latitude is not None and p.longitude is not None
    }
    points = []
    for p in properties:
        prop = located.get(p["property_id"])
        if prop is None:
            continue
        points.append(
            {
                "id": str(p["property_id"]),
                "lat": float(prop.latitude),  # type: ignore[arg-type]
                "lon": float(prop.longitude),  # type: ignore[arg-type]
                "label": ", ".join(str(x) for x in (p["address"], p["city"]) if x),
                "score": None,
                "href": f"/properties/{p['property_id']}",
                "area": p["zip"] or p["city"],
            }
        )
    return points


@router.get("/owners/{entity_id}")
def owner(request: Request, entity_id: uuid.UUID, page: Page) -> Response:
    """One owner: flags, portfolio (map and table), records and related owners."""
    detail = queries.get_owner(page.session, entity_id)
    points = _portfolio_points(page, detail["properties"])
    return render(
        request,
        "owners/owner.html",
        {
            "owner": detail,
            "flag_labels": _flags_on(detail["flags"]),
            "properties": detail["properties"][:MAX_TABLE_PROPERTIES],
            "more_properties": max(0, len(detail["properties"]) - MAX_TABLE_PROPERTIES),
            "points": points,
            "outlines": outlines(points, key="area"),
            "may_edit": page.may(Permission.DATA_WRITE),
        },
    )


# --- merge ----------------------------------------------------------------------------


@router.get("/owners/{entity_id}/merge")
def merge_pick(
    request: Request,
    entity_id: uuid.UUID,
    page: EditPage,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Choose the owner to merge with: related owners first, then a name search."""
    detail = queries.get_owner(page.session, entity_id)
    q = q.replace("\x00", "").strip()
    found: list[dict[str, Any]] = []
    if q:
        items, _total = queries.list_owners(page.session, q=q, limit=20)
        found = [o for o in items if o["id"] != detail["id"]]
    return render(request, "owners/merge_pick.html", {"owner": detail, "q": q, "found": found})


def _merge_plan(page: PageContext, entity_id: uuid.UUID, other_id: uuid.UUID) -> dict[str, Any]:
    """What a merge of two owners will do, as ``service.merge`` does it: the owner with more
    records keeps its id and takes the other's records; the other is removed."""
    if entity_id == other_id:
        raise ValidationFailed("an owner cannot be merged with itself", field="other_id")
    left = queries.get_owner(page.session, entity_id)
    right = queries.get_owner(page.session, other_id)
    if not left["records"] or not right["records"]:
        raise ValidationFailed(
            "an owner without records cannot be merged: run owner resolution first",
            field="other_id",
        )
    keep, gone = (left, right) if len(left["records"]) >= len(right["records"]) else (right, left)
    property_ids = {p["property_id"] for p in left["properties"]} | {
        p["property_id"] for p in right["properties"]
    }
    return {
        "left": left,
        "right": right,
        "keep": keep,
        "gone": gone,
        "record_a": left["records"][0]["owner_record_id"],
        "record_b": right["records"][0]["owner_record_id"],
        "record_count": len(left["records"]) + len(right["records"]),
        "property_count": len(property_ids),
    }


@router.get("/owners/{entity_id}/merge/{other_id}")
def merge_confirm(
    request: Request, entity_id: uuid.UUID, other_id: uuid.UUID, page: EditPage
) -> Response:
    return render(request, "owners/merge_confirm.html", _merge_plan(page, entity_id, other_id))


@router.post("/owners/{entity_id}/merge/{other_id}")
def merge_do(
    request: Request, entity_id: uuid.UUID, other_id: uuid.UUID, page: EditPage
) -> Response:
    """Merge: one must-link between a record of each owner (``service.merge``), kept by
    every later resolution run."""
    plan = _merge_plan(page, entity_id, other_id)
    result = service.merge(page.session, plan["record_a"], plan["record_b"])
    return render(
        request,
        "owners/done.html",
        {
            "action": "merge",
            "result": result,
            "owner": result["entity"],
            "gone": plan["gone"],
        },
    )


# --- split ----------------------------------------------------------------------------


def _split_plan(page: PageContext, entity_id: uuid.UUID, record_id: str) -> dict[str, Any]:
    detail = queries.get_owner(page.session, entity_id)
    moving = [r for r in detail["records"] if r["owner_record_id"] == record_id]
    if not moving:
        raise ValidationFailed(
            f"owner record {record_id!r} is not a member of this owner", field="record_id"
        )
    staying = [r for r in detail["records"] if r["owner_record_id"] != record_id]
    if not staying:
        raise ValidationFailed(
            f"owner record {record_id!r} is this owner's only record; nothing to split",
            field="record_id",
        )
    moving_properties = {str(r["property_id"]) for r in moving if r["property_id"]}
    return {
        "owner": detail,
        "record_id": record_id,
        "moving": moving,
        "staying": staying,
        "moving_properties": [
            p for p in detail["properties"] if str(p["property_id"]) in moving_properties
        ],
    }


@router.get("/owners/{entity_id}/split")
def split_confirm(
    request: Request,
    entity_id: uuid.UUID,
    page: EditPage,
    record: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    return render(request, "owners/split_confirm.html", _split_plan(page, entity_id, record))


@router.post("/owners/{entity_id}/split")
def split_do(
    request: Request,
    entity_id: uuid.UUID,
    page: EditPage,
    record_id: Annotated[str, Form(min_length=1, max_length=128)],
) -> Response:
    """Split: the record leaves the owner for one of its own (``service.split``), kept by
    every later resolution run."""
    _split_plan(page, entity_id, record_id)
    result = service.split(page.session, entity_id, record_id)
    return render(
        request,
        "owners/done.html",
        {"action": "split", "result": result, "owner": result["entity"]},
    )
