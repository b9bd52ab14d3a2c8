"""The deals page: the pipeline's shortlist as a table beside a map.

One GET form carries every filter of ``GET /api/v1/deals`` plus a saved search and a map
area (``polygon=lat,lon;lat,lon;…`` drawn on the map, ``bbox=south,west,north,east`` when
the table follows the map's viewport); the same query string sorts (column headers are
links), pages (the API's keyset cursor) and exports CSV (the API's export). htmx swaps only
``#deals-results`` and pushes the URL; without JavaScript the links and forms load the whole
page. Bulk actions (assign, move stage, add to a list) post the checked rows with the CSRF
token and answer the refreshed table; one failing deal changes nothing (savepoint).

A map area (the box and the drawn polygon's ray cast) is a statement of the properties
domain (:func:`reos.properties.read_model.in_area`) embedded in the deal query: the
database tests every property, and no list of ids leaves it.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from reos.accounts.auth import Permission
from reos.crm import export, listing
from reos.crm import read_model as crm_read
from reos.crm import service as crm_service
from reos.dealflow import read_model as dealflow_read
from reos.dealflow import searches as dealflow_searches
from reos.dealflow import service as dealflow_service
from reos.errors import ReosError, ValidationFailed
from reos.properties import read_model as properties_read
from reos.valuation import read_model as valuation_read
from reos.web.context import EditPage, Page, PageContext
from reos.web.maps import outlines
from reos.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

SORTS = ("score", "address", "due", "updated")
PAGE_SIZES = (25, 50, 100, 200)
#: The map shows at most this many deals of the filter (the best by score).
MAP_CAP = 2000
#: A bulk action names at most this many deals.
BULK_CAP = 500
MAX_VERTICES = 200
ASKING_NAMES = ("list_price", "asking_price", "last_list_price")
TEXT_MAX = 200
ZIP_PATTERN = re.compile(r"^[0-9-]{1,10}$")


@dataclass(frozen=True)
class DealQuery:
    """The page's query string, checked: the deal API's filters, the dashboard's own
    (saved search, map area), sort, page and page size."""

    stages: tuple[str, ...] = ()
    assignee_id: uuid.UUID | None = None
    tag: str = ""
    min_score: int | None = None
    max_score: int | None = None
    city: str = ""
    zip: str = ""
    q: str = ""
    due_before: date | None = None
    status: str = "open"
    sort: str = "-score"
    cursor: str = ""
    limit: int = 50
    search_id: uuid.UUID | None = None
    list_id: uuid.UUID | None = None
    polygon: tuple[tuple[float, float], ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    errors: dict[str, str] = field(default_factory=dict, compare=False)

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The query as (name, value) pairs, defaults left out; ``changes`` override
        fields (a sort link drops the cursor, a page link sets it)."""
        q = replace(self, **changes) if changes else self
        out: list[tuple[str, str]] = [("stage", s) for s in q.stages]
        plain: list[tuple[str, Any]] = [
            ("assignee_id", q.assignee_id),
            ("tag", q.tag),
            ("min_score", q.min_score),
            ("max_score", q.max_score),
            ("city", q.city),
            ("zip", q.zip),
            ("q", q.q),
            ("due_before", q.due_before),
            ("status", q.status if q.status != "open" else None),
            ("search", q.search_id),
            ("list", q.list_id),
            ("polygon", q.polygon_value),
            ("bbox", q.bbox_value),
            ("sort", q.sort if q.sort != "-score" else None),
            ("limit", q.limit if q.limit != 50 else None),
            ("cursor", q.cursor),
        ]
        out += [(k, str(v)) for k, v in plain if v not in (None, "")]
        return out

    def url(self, path: str = "/deals", **changes: Any) -> str:
        pairs = self.pairs(**changes)
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def sort_link(self, key: str) -> str:
        """The header link of ``key``: descending first for score and updated (best and
        newest first), ascending first for the others; a second click reverses."""
        current, descending = self.sort.lstrip("-"), self.sort.startswith("-")
        if current == key:
            target = key if descending else f"-{key}"
        else:
            target = f"-{key}" if key in ("score", "updated") else key
        return self.url(sort=target, cursor="")

    def aria_sort(self, key: str) -> str:
        if self.sort.lstrip("-") != key:
            return "none"
        return "descending" if self.sort.startswith("-") else "ascending"

    def filters(
        self, property_ids: frozenset[uuid.UUID] | None, property_sets: tuple[Any, ...] = ()
    ) -> listing.DealFilters:
        return listing.DealFilters(
            stages=self.stages,
            assignee_id=self.assignee_id,
            tag=self.tag or None,
            min_score=self.min_score,
            max_score=self.max_score,
            city=self.city or None,
            zip=self.zip or None,
            text=self.q or None,
            due_before=self.due_before,
            status=self.status,
            property_ids=property_ids,
            property_sets=property_sets,
        )

    @property
    def polygon_value(self) -> str:
        return polygon_text(self.polygon) if self.polygon else ""

    @property
    def bbox_value(self) -> str:
        return ",".join(f"{v:.6f}" for v in self.bbox) if self.bbox else ""

    @property
    def narrowed(self) -> bool:
        return bool(self.pairs(sort="-score", limit=50, cursor=""))


def polygon_text(vertices: tuple[tuple[float, float], ...]) -> str:
    return ";".join(f"{lat:.6f},{lon:.6f}" for lat, lon in vertices)


def _number(text: str, name: str, errors: dict[str, str], low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        errors[name] = f"{text!r} is not a number between {low:g} and {high:g}"
        return 0.0
    return value


def parse_polygon(text: str, errors: dict[str, str]) -> tuple[tuple[float, float], ...]:
    parts = [p for p in text.split(";") if p.strip()]
    if not 3 <= len(parts) <= MAX_VERTICES:
        errors["polygon"] = f"a polygon needs 3 to {MAX_VERTICES} points 'lat,lon;lat,lon;…'"
        return ()
    out = []
    for part in parts:
        pieces = part.split(",")
        if len(pieces) != 2:
            errors["polygon"] = f"{part!r} is not a point 'lat,lon'"
            return ()
        lat = _number(pieces[0].strip(), "polygon", errors, -90, 90)
        lon = _number(pieces[1].strip(), "polygon", errors, -180, 180)
        out.append((lat, lon))
    return () if "polygon" in errors else tuple(out)


def parse_bbox(text: str, errors: dict[str, str]) -> tuple[float, float, float, float] | None:
    pieces = text.split(",")
    if len(pieces) != 4:
        errors["bbox"] = "the map box is 'south,west,north,east'"
        return None
    south, north = (_number(pieces[i].strip(), "bbox", errors, -90, 90) for i in (0, 2))
    west, east = (_number(pieces[i].strip(), "bbox", errors, -180, 180) for i in (1, 3))
    if "bbox" not in errors and (south > north or west > east):
        errors["bbox"] = "the map box needs south ≤ north and west ≤ east"
    return None if "bbox" in errors else (south, west, north, east)


def parse_query(items: list[tuple[str, str]]) -> DealQuery:
    """The page's query from its query string (or a bulk form's ``return_query``): an
    empty field is no filter (a GET form sends every field); a bad value is named in
    ``errors`` and left out, so the page still shows and says what to fix."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    stages: list[str] = []
    for name, raw in items:
        text = raw.strip()
        if not text:
            continue
        if len(text) > (4000 if name == "polygon" else TEXT_MAX):
            errors[name] = "too long"
            continue
        if "\x00" in text:
            errors[name] = "not text"
            continue
        if name == "stage":
            stages.append(text)
        elif name in ("assignee_id", "search", "list"):
            try:
                values[{"search": "search_id", "list": "list_id"}.get(name, name)] = uuid.UUID(text)
            except ValueError:
                errors[name] = f"{text!r} is not an id"
        elif name in ("min_score", "max_score"):
            if text.isdigit() and 0 <= int(text) <= 100:
                values[name] = int(text)
            else:
                errors[name] = "a score is a whole number from 0 to 100"
        elif name in ("tag", "city", "q"):
            values[name] = text
        elif name == "zip":
            if ZIP_PATTERN.match(text):
                values["zip"] = text
            else:
                errors["zip"] = "a ZIP code is digits (and a dash)"
        elif name == "due_before":
            try:
                values["due_before"] = date.fromisoformat(text)
            except ValueError:
                errors["due_before"] = "a date is YYYY-MM-DD"
        elif name == "status":
            if text in ("open", "closed", "all"):
                values["status"] = text
            else:
                errors["status"] = "status is open, closed or all"
        elif name == "sort":
            if text.lstrip("-") in SORTS:
                values["sort"] = text
            else:
                errors["sort"] = f"sort by one of {', '.join(SORTS)}"
        elif name == "limit":
            if text.isdigit() and int(text) in PAGE_SIZES:
                values["limit"] = int(text)
            else:
                errors["limit"] = f"rows per page: one of {', '.join(map(str, PAGE_SIZES))}"
        elif name == "cursor":
            values["cursor"] = text
        elif name == "polygon":
            values["polygon"] = parse_polygon(text, errors)
        elif name == "bbox":
            values["bbox"] = parse_bbox(text, errors)
    if (
        values.get("min_score") is not None
        and values.get("max_score") is not None
        and values["min_score"] > values["max_score"]
    ):
        errors["min_score"] = "the lowest score is above the highest"
    return DealQuery(stages=tuple(stages), errors=errors, **values)


# --- what the page reads ------------------------------------------------------------------


def area_of(query: DealQuery) -> Any:
    """The statement selecting the properties in the query's map area (box and/or drawn
    polygon), None when the query names no area."""
    if not query.polygon and query.bbox is None:
        return None
    south, west, north, east = query.bbox or (-90.0, -180.0, 90.0, 180.0)
    if query.polygon:
        lats = [v[0] for v in query.polygon]
        lons = [v[1] for v in query.polygon]
        south, north = max(south, min(lats)), min(north, max(lats))
        west, east = max(west, min(lons)), min(east, max(lons))
    return properties_read.in_area(south, west, north, east, query.polygon)


@dataclass
class Scope:
    """What the query selects: the deal filters, the saved search's name and match count."""

    filters: listing.DealFilters
    search_name: str | None = None
    search_matches: int | None = None


def scope_of(session: Session, query: DealQuery) -> Scope:
    ids: frozenset[uuid.UUID] | None = None
    search_name = None
    matches = None
    if query.search_id is not None:
        search = dealflow_service.get_search(session, query.search_id)  # 404 across orgs
        found = dealflow_searches.matching(session, dict(search.filters or {}))
        search_name, matches = search.name, len(found)
        ids = frozenset(found)
    sets = []
    area = area_of(query)
    if area is not None:
        sets.append(area)
    if query.list_id is not None:
        dealflow_service.get_list(session, query.list_id)  # 404 across orgs
        sets.append(dealflow_read.on_list(query.list_id))
    return Scope(query.filters(ids, tuple(sets)), search_name, matches)


def price_of(
    attributes: dict[str, Any], sale: tuple[date, float | None, float | None] | None
) -> tuple[float | None, str | None]:
    """The asking price (an attribute a list or listing gave), else the last sale price:
    what the score's "priced under value" driver compares the value with."""
    for name in ASKING_NAMES:
        value = attributes.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value), "asking price"
    if sale is not None and sale[1]:
        return float(sale[1]), f"last sale {sale[0].isoformat()}"
    return None, None


def table_rows(session: Session, deals: list[Any]) -> list[dict[str, Any]]:
    """The page's rows with what other domains know of each deal's property (one query
    per source for the whole page, never one per row)."""
    pids = [d.property_id for d in deals]
    stacks = dealflow_read.stacks(session, pids)
    values = valuation_read.latest_values(session, pids)
    facts = properties_read.property_facts(session, pids)
    sales = properties_read.last_sales(session, pids)
    tags = crm_service.tags_of(session, [d.id for d in deals])
    members = crm_service.members(session)
    rows = []
    for d in deals:
        fact = facts.get(d.property_id)
        price, price_source = price_of(fact.attributes if fact else {}, sales.get(d.property_id))
        value = values.get(d.property_id)
        margin = margin_pct = None
        if value is not None and price is not None:
            margin = value[0] - price
            margin_pct = margin / value[0] if value[0] else None
        rows.append(
            {
                "deal": d,
                "stack": sorted({kind for kind, _name, _day in stacks.get(d.property_id, [])}),
                "stack_names": [name for _kind, name, _day in stacks.get(d.property_id, [])],
                "tags": tags.get(d.id, []),
                "value": value[0] if value else None,
                "value_date": value[1] if value else None,
                "price": price,
                "price_source": price_source,
                "margin": margin,
                "margin_pct": margin_pct,
                "assignee": members.get(d.assignee_id) if d.assignee_id else None,
            }
        )
    return rows


def map_points(session: Session, scope: Scope) -> tuple[list[dict[str, Any]], bool]:
    """The best :data:`MAP_CAP` deals of the filter with coordinates, and whether more
    were left off."""
    found = crm_read.deal_points(session, scope.filters, MAP_CAP + 1)
    capped = len(found) > MAP_CAP
    found = found[:MAP_CAP]
    coords = properties_read.coordinates(session, [p.property_id for p in found])
    points = []
    for p in found:
        where = coords.get(p.property_id)
        if where is None:
            continue
        points.append(
            {
                "id": str(p.deal_id),
                "lat": round(where[0], 6),
                "lon": round(where[1], 6),
                "label": p.address or str(p.property_id),
                "score": p.score,
                "href": f"/properties/{p.property_id}",
                "area": p.zip or p.city,
            }
        )
    return points, capped


def results_context(ctx: PageContext, query: DealQuery) -> dict[str, Any]:
    session = ctx.session
    stages = crm_service.stages_of(session)
    errors = dict(query.errors)
    known = {s.name for s in stages}
    bad = [s for s in query.stages if s not in known]
    if bad:
        errors["stage"] = f"no stage {bad[0]!r}; the stages are {', '.join(s.name for s in stages)}"
        query = replace(query, stages=tuple(s for s in query.stages if s in known))
    scope = scope_of(session, query)
    try:
        deals, next_cursor = listing.page(
            session, scope.filters, query.sort, query.limit, query.cursor or None
        )
    except ValidationFailed as exc:  # a stale or foreign cursor: start again
        errors["cursor"] = str(exc)
        query = replace(query, cursor="")
        deals, next_cursor = listing.page(session, scope.filters, query.sort, query.limit, None)
    total = crm_read.deal_count(session, scope.filters)
    return {
        "query": query,
        "errors": errors,
        "rows": table_rows(session, list(deals)),
        "total": total,
        "next_url": query.url(cursor=next_cursor) if next_cursor else None,
        "first_url": query.url(cursor="") if query.cursor else None,
        "export_url": query.url("/deals/export.csv", cursor="", limit=50),
        "map_url": query.url("/deals/map.json", cursor="", limit=50, sort="-score"),
        "stages": stages,
        "members": sorted(crm_service.members(session).items(), key=lambda m: m[1]),
        "search_name": scope.search_name,
        "search_matches": scope.search_matches,
        "may_edit": ctx.may(Permission.DATA_WRITE),
        "sorts": SORTS,
    }


def full_page(
    ctx: PageContext, request: Request, query: DealQuery, status_code: int = 200, **extra: Any
) -> Response:
    context = results_context(ctx, query)
    context.update(extra)
    context["searches"] = dealflow_service.list_searches(ctx.session)
    context["lists"] = dealflow_service.list_lists(ctx.session)
    context["page_sizes"] = PAGE_SIZES
    status = 422 if context["errors"] else status_code
    return render(request, "deals/index.html", context, status_code=status)


def wants_fragment(request: Request) -> bool:
    return is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"


@router.get("/deals")
def deals(request: Request, page: Page) -> Response:
    query = parse_query(list(request.query_params.multi_items()))
    if wants_fragment(request):
        context = results_context(page, query)
        return render(
            request, "deals/results.html", context, status_code=422 if context["errors"] else 200
        )
    return full_page(page, request, query)


@router.get("/deals/map.json")
def map_json(request: Request, page: Page) -> Response:
    """The map's markers for the page's filters (the best :data:`MAP_CAP` by score) and
    the outlines of their areas, asked by the page's script after the table: the table
    never waits for thousands of markers."""
    query = parse_query(list(request.query_params.multi_items()))
    if query.errors:
        name, message = next(iter(query.errors.items()))
        raise ValidationFailed(f"{name}: {message}", field=name)
    points, capped = map_points(page.session, scope_of(page.session, query))
    body = {"points": points, "capped": capped, "cap": MAP_CAP, "outlines": outlines(points)}
    return JSONResponse(body, headers={"Cache-Control": "private, no-store"})


@router.get("/deals/export.csv")
def export_csv(request: Request, page: Page) -> Response:
    """The deals the page's filters select (its sort too) as the API's CSV export."""
    query = parse_query(list(request.query_params.multi_items()))
    if query.errors:
        name, message = next(iter(query.errors.items()))
        raise ValidationFailed(f"{name}: {message}", field=name)
    scope = scope_of(page.session, query)
    text = export.deals_csv(page.session, scope.filters, query.sort)
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="deals.csv"'},
    )


# --- bulk actions -------------------------------------------------------------------------


def apply_bulk(session: Session, form: dict[str, Any], ids: list[uuid.UUID]) -> str:
    """Apply one bulk action to every deal in ``ids`` under the API's rules; the message
    says what was done. Any refusal raises (and the caller's savepoint undoes it all)."""
    action = form.get("action")
    if not ids:
        raise ValidationFailed("tick at least one deal first", field="deal_id")
    if len(ids) > BULK_CAP:
        raise ValidationFailed(f"at most {BULK_CAP} deals at a time", field="deal_id")
    if action == "assign":
        raw = (form.get("to_assignee") or "").strip()
        assignee: uuid.UUID | None = None
        if raw:
            try:
                assignee = uuid.UUID(raw)
            except ValueError:
                raise ValidationFailed("choose a member", field="to_assignee") from None
        for deal_id in ids:
            crm_service.assign(session, deal_id, assignee)
        who = crm_service.members(session).get(assignee, "") if assignee else "nobody"
        return f"Assigned {len(ids)} deal{'s' if len(ids) != 1 else ''} to {who}."
    if action == "move":
        stage = (form.get("to_stage") or "").strip()
        if not stage:
            raise ValidationFailed("choose a stage", field="to_stage")
        reason = (form.get("reason") or "").strip()[:500] or None
        for deal_id in ids:
            deal = crm_service.get_deal(session, deal_id)
            try:
                crm_service.move(session, deal_id, stage, reason=reason)
            except ValidationFailed as exc:
                label = deal.address or str(deal.id)
                raise ValidationFailed(f"{label}: {exc}", field="to_stage") from exc
        return f"Moved {len(ids)} deal{'s' if len(ids) != 1 else ''} to {stage}."
    if action == "list":
        name = (form.get("to_list") or "").strip()
        if not name:
            raise ValidationFailed("name the list to add the deals to", field="to_list")
        properties = [crm_service.get_deal(session, deal_id).property_id for deal_id in ids]
        try:
            plist, joined = dealflow_service.add_to_list(
                session, name, properties, created_by="web"
            )
        except ValidationFailed as exc:
            raise ValidationFailed(str(exc), field="to_list") from exc
        already = len(set(properties)) - joined
        return (
            f"Added {joined} propert{'ies' if joined != 1 else 'y'} to the list “{plist.name}”"
            + (f" ({already} already on it)." if already else ".")
        )
    raise ValidationFailed("choose an action: assign, move or add to a list", field="action")


@router.post("/deals/bulk")
def bulk(
    request: Request,
    page: EditPage,
    deal_id: Annotated[list[str] | None, Form()] = None,
    action: Annotated[str, Form(max_length=20)] = "",
    to_assignee: Annotated[str, Form(max_length=60)] = "",
    to_stage: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    to_list: Annotated[str, Form(max_length=200)] = "",
    return_query: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Assign, move or add to a list every ticked deal, then answer the table again (the
    fragment for htmx, the whole page without JavaScript)."""
    query = parse_query(parse_qsl(return_query, keep_blank_values=True))
    ids: list[uuid.UUID] = []
    for raw in deal_id or []:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            raise ValidationFailed(f"{raw!r} is not a deal id", field="deal_id") from None
    values = {"action": action, "to_assignee": to_assignee, "to_stage": to_stage,
              "reason": reason, "to_list": to_list}  # fmt: skip
    notice, problem = None, None
    try:
        with page.session.begin_nested():
            notice = apply_bulk(page.session, values, list(dict.fromkeys(ids)))
    except ReosError as exc:
        if exc.status_code == 404:
            raise  # another organisation's (or a deleted) deal: the 404 page, nothing changed
        problem = str(exc)
    extra = {"notice": notice, "problem": problem, "checked": set() if notice else set(ids)}
    status = 422 if problem else 200
    if wants_fragment(request):
        context = results_context(page, query)
        context.update(extra)
        return render(request, "deals/results.html", context, status_code=status)
    return full_page(page, request, query, status_code=status, **extra)
