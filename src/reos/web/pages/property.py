"""The property page (``/properties/{property_id}``): facts with their provenance, sales,
owner, lists, the valuation with its comps (exclude a comp, the value is recomputed), the
area's market index, live underwriting (rental, flip, commercial) with sensitivities, the
maximum offer and the optimiser's frontier, and the deal's CRM (timeline, notes, tasks,
offers).

Every panel that changes is its own template (``property/_*.html``): an htmx request gets
the panel back, a plain form post (no JavaScript) is answered with the whole page or a
redirect to it, so the page works without JavaScript except the map and charts.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from reos.accounts.auth import Permission
from reos.crm import offers as crm_offers
from reos.crm import service as crm_service
from reos.dealflow import read_model as dealflow_read
from reos.errors import NotFound, ReosError
from reos.owners import queries as owner_queries
from reos.owners import read_model as owners_read
from reos.properties import read_model as properties_read
from reos.properties import service as properties_service
from reos.underwriting import service as uw_service
from reos.valuation import service as valuation_service
from reos.web.context import EditPage, Page, PageContext
from reos.web.maps import outlines
from reos.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

STRATEGIES = ("rental", "flip", "commercial")

# --------------------------------------------------------------------------- facts

#: (field, label, unit) of the facts shown, in order.
FACTS: tuple[tuple[str, str, str], ...] = (
    ("parcel_number", "Parcel", ""),
    ("property_type", "Type", ""),
    ("living_area_sqft", "Living area", "sqft"),
    ("lot_size_sqft", "Lot", "sqft"),
    ("beds", "Beds", ""),
    ("baths_full", "Full baths", ""),
    ("baths_half", "Half baths", ""),
    ("year_built", "Year built", ""),
    ("stories", "Stories", ""),
    ("quality", "Quality (1-10)", ""),
    ("condition", "Condition (1-10)", ""),
    ("neighborhood", "Neighbourhood", ""),
    ("latitude", "Latitude", ""),
    ("longitude", "Longitude", ""),
)


def describe_source(source: dict[str, Any] | None) -> tuple[str, str]:
    """``(source, observed)`` of a provenance entry as a reader says them: the file and
    row of an import, or "API edit by …"; the observed date (YYYY-MM-DD)."""
    if not source:
        return "unknown source", "–"
    kind = str(source.get("source") or "import")
    if source.get("file"):
        what = f"{kind}: {source['file']}"
        if source.get("row") is not None:
            what += f" row {source['row']}"
    elif kind == "api":
        what = "entered through the API" + (f" by {source['actor']}" if source.get("actor") else "")
    else:
        what = kind
    observed = str(source.get("observed_at") or "–")[:10]
    return what, observed


def _fact_value(name: str, value: Any) -> str:
    if isinstance(value, float):
        if name in ("latitude", "longitude"):
            return f"{value:.5f}"
        return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
    if isinstance(value, int) and name not in ("year_built",):
        return f"{value:,}"
    return str(value)


def facts_of(prop: Any) -> list[dict[str, Any]]:
    """The facts with a value, each with its source and observed date."""
    sources = prop.field_provenance()
    out = []
    for name, label, unit in FACTS:
        value = getattr(prop, name, None)
        if value is None or value == "":
            continue
        source, observed = describe_source(sources.get(name))
        out.append(
            {
                "name": name,
                "label": label,
                "value": _fact_value(name, value) + (f" {unit}" if unit else ""),
                "source": source,
                "observed": observed,
                "extra": False,
            }
        )
    for key, value in sorted((prop.attributes or {}).items()):
        if value is None or isinstance(value, dict | list):
            continue
        source, observed = describe_source(sources.get(f"attr.{key}"))
        out.append(
            {
                "name": f"attr.{key}",
                "label": key.replace("_", " ").capitalize(),
                "value": _fact_value(key, value),
                "source": source,
                "observed": observed,
                "extra": True,
            }
        )
    return out


# --------------------------------------------------------------------------- valuation


def _latest_valuation(ctx: PageContext, property_id: uuid.UUID) -> Any:
    rows, _total = valuation_service.list_valuations(ctx.session, property_id=property_id, limit=1)
    return rows[0] if rows else None


def valuation_view(ctx: PageContext, prop: Any, message: str | None = None) -> dict[str, Any]:
    """What the valuation panel shows: the latest stored valuation of the property, its
    comps (with their places on the map) and the sales excluded from it."""
    row = _latest_valuation(ctx, prop.id)
    view: dict[str, Any] = {"valuation": None, "message": message, "has_model": True}
    if row is None:
        view["has_model"] = bool(valuation_service.list_models(ctx.session))
        view["points"] = _subject_point(prop)
        view["outlines"] = outlines(view["points"], key="area")
        return view
    body = row.result or {}
    comps = list(body.get("comps", []))
    method = dict(body.get("method", {}))
    excluded = list(method.get("excluded_comps", []))
    lines: list[str] = []
    for comp in comps:
        for name in comp.get("adjustments", {}):
            if name not in lines:
                lines.append(name)
    located = {
        str(p.id): p
        for p in properties_read.properties_by_id(
            ctx.session, [uuid.UUID(c["property_id"]) for c in comps if c.get("property_id")]
        )
    }
    points = _subject_point(prop)
    for n, comp in enumerate(comps, start=1):
        p = located.get(str(comp.get("property_id")))
        comp["number"] = n
        if p is not None and p.latitude is not None and p.longitude is not None:
            points.append(
                {
                    "id": comp["sale_id"],
                    "lat": p.latitude,
                    "lon": p.longitude,
                    "label": f"Comp {n}: {comp.get('address') or 'no address'} "
                    f"({comp['close_date']}, ${comp['sale_price']:,.0f})",
                    "score": 40,
                    "href": f"/properties/{p.id}",
                    "area": p.zip or p.city,
                }
            )
    view.update(
        valuation=row,
        comps=comps,
        lines=lines,
        method=method,
        excluded=excluded,
        warnings=list(body.get("warnings", [])),
        drivers=body.get("drivers", {}),
        points=points,
        outlines=outlines(points, key="area"),
    )
    return view


def _subject_point(prop: Any) -> list[dict[str, Any]]:
    if prop.latitude is None or prop.longitude is None:
        return []
    return [
        {
            "id": str(prop.id),
            "lat": prop.latitude,
            "lon": prop.longitude,
            "label": f"Subject: {prop.address or 'this property'}",
            "score": 95,
            "href": f"/properties/{prop.id}",
            "area": prop.zip or prop.city,
        }
    ]


def index_view(ctx: PageContext, prop: Any) -> dict[str, Any] | None:
    try:
        area = valuation_service.market_index_of(ctx.session, prop.id)
    except ReosError:
        return None
    if area is None or not area.points:
        return None
    series = [(p.day, p.level) for p in area.points]
    return {
        "area": area,
        "svg": line_chart(
            [(p.day.toordinal(), p.level) for p in area.points],
            x_labels=[(p.day.toordinal(), p.day.strftime("%Y-%m")) for p in area.points],
            y_format="{:.1f}",
            title=f"Market index, {area.area or area.market} (first period = 100)",
        ),
        "series": series,
    }


# --------------------------------------------------------------------------- underwriting


@dataclass(frozen=True)
class Input:
    """One editable underwriting input: its dotted deal path, label and kind (``money``,
    ``rate`` (a fraction, typed as a fraction), ``number``, ``int``, ``text``)."""

    path: str
    label: str
    kind: str = "money"


RENTAL_INPUTS = (
    Input("purchase_price", "Purchase price"),
    Input("gross_rent_monthly", "Rent per month"),
    Input("closing_costs", "Closing costs"),
    Input("rehab_cost", "Rehab"),
    Input("after_repair_value", "Value after repair"),
    Input("other_income_monthly", "Other income per month"),
    Input("vacancy_rate", "Vacancy rate", "rate"),
    Input("property_tax_annual", "Property tax per year"),
    Input("insurance_annual", "Insurance per year"),
    Input("hoa_monthly", "HOA per month"),
    Input("utilities_monthly", "Utilities per month"),
    Input("management_rate", "Management (of EGI)", "rate"),
    Input("maintenance_rate", "Maintenance (of EGI)", "rate"),
    Input("capex_rate", "CapEx (of EGI)", "rate"),
    Input("loan.ltv", "Loan to value", "rate"),
    Input("loan.rate", "Loan rate", "rate"),
    Input("loan.amort_years", "Amortisation (years)", "number"),
    Input("loan.points", "Loan points", "rate"),
    Input("hold_years", "Hold (years)", "int"),
    Input("rent_growth", "Rent growth", "rate"),
    Input("expense_growth", "Expense growth", "rate"),
    Input("appreciation", "Appreciation", "rate"),
    Input("exit_cap_rate", "Exit cap rate", "rate"),
    Input("selling_costs_rate", "Selling costs", "rate"),
    Input("discount_rate", "Discount rate", "rate"),
)
FLIP_INPUTS = (
    Input("purchase_price", "Purchase price"),
    Input("arv", "After-repair value"),
    Input("rehab_cost", "Rehab"),
    Input("closing_costs", "Closing costs"),
    Input("holding_months", "Holding (months)", "number"),
    Input("holding_costs_monthly", "Holding costs per month"),
    Input("selling_costs_rate", "Selling costs", "rate"),
    Input("loan.amount", "Loan amount"),
    Input("loan.rate", "Loan rate (interest only)", "rate"),
    Input("loan.points", "Loan points", "rate"),
    Input("mao_rule", "MAO rule (share of ARV)", "rate"),
    Input("wholesale_fee", "Wholesale fee"),
)
COMMERCIAL_INPUTS = (
    Input("purchase_price", "Purchase price"),
    Input("closing_costs", "Closing costs"),
    Input("analysis_start", "Analysis start (YYYY-MM)", "text"),
    Input("hold_years", "Hold (years)", "int"),
    Input("exit_cap_rate", "Exit cap rate", "rate"),
    Input("opex_psf_annual", "Unrecovered opex ($/sf/yr)", "number"),
    Input("reserves_psf_annual", "Reserves ($/sf/yr)", "number"),
    Input("credit_loss_rate", "Credit loss", "rate"),
    Input("expense_growth", "Expense growth", "rate"),
    Input("selling_costs_rate", "Selling costs", "rate"),
    Input("discount_rate", "Discount rate", "rate"),
    Input("market.rent_psf_annual", "Market rent ($/sf/yr)", "number"),
    Input("market.rent_growth", "Market rent growth", "rate"),
    Input("market.renewal_probability", "Renewal probability", "rate"),
    Input("market.downtime_months", "Downtime (months)", "int"),
    Input("market.term_years", "Market lease term (years)", "number"),
    Input("market.ti_psf_new", "TI new ($/sf)", "number"),
    Input("market.lc_rate_new", "Leasing commission new", "rate"),
)
LEASE_COLUMNS = (
    Input("tenant", "Tenant", "text"),
    Input("area_sf", "Area (sf)", "number"),
    Input("rent_psf_annual", "Rent ($/sf/yr)", "number"),
    Input("start", "Start (YYYY-MM)", "text"),
    Input("end", "End (YYYY-MM)", "text"),
    Input("escalation", "Escalation", "rate"),
)
LEASE_ROWS = 3
INPUTS = {"rental": RENTAL_INPUTS, "flip": FLIP_INPUTS, "commercial": COMMERCIAL_INPUTS}
#: The maximum offer's constraints per strategy, editable on the page (name, label, default).
CONSTRAINTS = {
    "rental": (("min_dscr", "Min DSCR", 1.25), ("min_cash_on_cash", "Min cash-on-cash", 0.06)),
    "flip": (("min_profit", "Min profit ($)", 25000.0), ("min_roi", "Min ROI", 0.15)),
    "commercial": (("min_irr_unlevered", "Min unlevered IRR", 0.08),),
}
#: Metrics shown per strategy: (name, label, format).
METRICS = {
    "rental": (
        ("noi", "NOI (year 1)", "money"),
        ("monthly_cash_flow", "Cash flow / month", "money"),
        ("cap_rate", "Cap rate", "pct"),
        ("cash_on_cash", "Cash-on-cash", "pct"),
        ("dscr", "DSCR", "ratio"),
        ("debt_yield", "Debt yield", "pct"),
        ("grm", "GRM", "ratio"),
        ("break_even_ratio", "Break-even ratio", "pct"),
        ("irr_levered", "IRR (levered)", "pct"),
        ("irr_unlevered", "IRR (unlevered)", "pct"),
        ("npv_levered", "NPV (levered)", "money"),
        ("equity_multiple", "Equity multiple", "ratio"),
    ),
    "flip": (
        ("profit", "Profit", "money"),
        ("roi", "ROI", "pct"),
        ("annualized_roi", "Annualised ROI", "pct"),
        ("mao", "MAO (rule)", "money"),
        ("total_cost", "Total cost", "money"),
        ("cash_invested", "Cash invested", "money"),
        ("financing_cost", "Financing cost", "money"),
        ("holding_cost", "Holding cost", "money"),
        ("selling_costs", "Selling costs", "money"),
    ),
    "commercial": (
        ("going_in_cap", "Going-in cap", "pct"),
        ("irr_unlevered", "IRR (unlevered)", "pct"),
        ("dcf_value", "DCF value", "money"),
        ("npv", "NPV", "money"),
        ("reversion", "Reversion", "money"),
    ),
}
#: Sensitivity sweeps per strategy: (path, label, relative steps) and the metrics shown.
SWEEPS = {
    "rental": (
        ("purchase_price", "Purchase price", (-0.1, -0.05, 0.0, 0.05, 0.1)),
        ("gross_rent_monthly", "Rent per month", (-0.1, -0.05, 0.0, 0.05, 0.1)),
    ),
    "flip": (
        ("purchase_price", "Purchase price", (-0.1, -0.05, 0.0, 0.05, 0.1)),
        ("arv", "After-repair value", (-0.1, -0.05, 0.0, 0.05, 0.1)),
    ),
    "commercial": (("exit_cap_rate", "Exit cap rate", (-0.01, -0.005, 0.0, 0.005, 0.01)),),
}
SWEEP_METRICS = {
    "rental": ("cap_rate", "cash_on_cash", "dscr", "irr_levered"),
    "flip": ("profit", "roi", "annualized_roi"),
    "commercial": ("going_in_cap", "irr_unlevered", "npv"),
}
FRONTIER_POINTS = 12


def metric_text(value: Any, kind: str) -> str:
    if value is None or isinstance(value, list):
        return "–"
    number = float(value)
    if not math.isfinite(number):
        return "–"
    if kind == "money":
        return ("-" if number < 0 else "") + f"${abs(number):,.0f}"
    if kind == "pct":
        return f"{number * 100:.2f}%"
    return f"{number:,.2f}"


@dataclass
class UwForm:
    """An underwriting form: its values as typed (by field name), where each came from,
    problems by field, and problems not tied to a field."""

    strategy: str
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _typed(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "text":
        return str(value)
    number = float(value)
    if kind == "money":
        return f"{number:.0f}" if abs(number) >= 100 else f"{number:g}"
    if kind == "int":
        return f"{int(number)}"
    return f"{number:g}"


def _get(deal: dict[str, Any], path: str) -> Any:
    node: Any = deal
    for part in path.split("."):
        if isinstance(node, list):
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def commercial_starter(prop: Any, price: float | None) -> dict[str, Any]:
    """A commercial deal to start from (a property in the store has no rent roll): one
    tenant in place on the building's area at the market rent, to be edited."""
    today = date.today()
    area = float(prop.living_area_sqft or 10_000)
    start = f"{today.year - 1}-01"
    return {
        "strategy": "commercial",
        "purchase_price": price or round(area * 150),
        "closing_costs": 0,
        "analysis_start": f"{today.year}-{today.month:02d}",
        "hold_years": 5,
        "exit_cap_rate": 0.07,
        "opex_psf_annual": 6.0,
        "reserves_psf_annual": 0.25,
        "credit_loss_rate": 0.01,
        "expense_growth": 0.03,
        "selling_costs_rate": 0.02,
        "discount_rate": 0.10,
        "market": {
            "rent_psf_annual": 20.0,
            "rent_growth": 0.03,
            "renewal_probability": 0.6,
            "downtime_months": 3,
            "term_years": 5,
            "ti_psf_new": 10.0,
            "lc_rate_new": 0.05,
        },
        "leases": [
            {
                "tenant": "Tenant in place",
                "area_sf": area,
                "rent_psf_annual": 19.0,
                "start": start,
                "end": f"{today.year + 2}-12",
                "escalation": 0.03,
            }
        ],
    }


def initial_form(ctx: PageContext, prop: Any, strategy: str) -> UwForm:
    """The form filled from the store (``service.filled_property_deal``): every input with
    its source; what the store cannot give is left empty with the reason."""
    form = UwForm(strategy)
    deal: dict[str, Any] = {}
    if strategy == "commercial":
        price = None
        last = properties_read.last_sales(ctx.session, [prop.id]).get(prop.id)
        if last is not None and last[1]:
            price = last[1]
        deal = commercial_starter(prop, price)
        form.sources = {i.path: "starter assumption: edit" for i in COMMERCIAL_INPUTS}
        if price:
            form.sources["purchase_price"] = f"last sale {last[0].isoformat()}" if last else ""
    else:
        try:
            filled = uw_service.filled_property_deal(ctx.session, prop.id, strategy)
            deal, form.sources = filled.deal, dict(filled.sources)
        except ReosError as exc:
            problems = [str(p) for p in (exc.detail.get("problems") or [exc.message])]
            missing = {}
            for line in problems:
                name = line.partition(":")[0].strip()
                form.errors[name] = line.partition(":")[2].strip() or line
                missing[name] = 1.0
            # fill everything else the store knows; the missing inputs are left empty
            try:
                filled = uw_service.filled_property_deal(
                    ctx.session, prop.id, strategy, assumptions=missing
                )
            except ReosError:
                form.problems = problems
            else:
                deal = {k: v for k, v in filled.deal.items() if k not in missing}
                form.sources = {k: v for k, v in filled.sources.items() if k not in missing}
    for item in INPUTS[strategy]:
        form.values[item.path] = _typed(_get(deal, item.path), item.kind)
        if item.path.startswith("loan.") and deal.get("loan") is None:
            form.sources.setdefault(item.path, "no loan: leave empty for cash")
    for r in range(LEASE_ROWS):
        for col in LEASE_COLUMNS:
            path = f"leases.{r}.{col.path}"
            form.values[path] = _typed(_get(deal, path), col.kind)
    for name, _label, default in CONSTRAINTS[strategy]:
        form.values[f"c.{name}"] = f"{default:g}"
    return form


def form_from_post(strategy: str, data: dict[str, str]) -> tuple[UwForm, dict[str, Any]]:
    """The posted form and the deal it describes; a value that is not a number is an error
    on its field (the deal is then not computed)."""
    form = UwForm(strategy, sources={k[4:]: v for k, v in data.items() if k.startswith("src.")})
    deal: dict[str, Any] = {"strategy": strategy}
    items: list[tuple[str, Input]] = [(i.path, i) for i in INPUTS[strategy]]
    if strategy == "commercial":
        items += [(f"leases.{r}.{c.path}", c) for r in range(LEASE_ROWS) for c in LEASE_COLUMNS]
    parsed: dict[str, Any] = {}
    for path, item in items:
        raw = (data.get(path) or "").strip()
        form.values[path] = raw
        if raw == "":
            continue
        if item.kind == "text":
            parsed[path] = raw[:200]
            continue
        try:
            number = float(raw.replace(",", "").replace("$", "").replace("%", ""))
        except ValueError:
            form.errors[path] = f"“{raw[:40]}” is not a number"
            continue
        if not math.isfinite(number):
            form.errors[path] = "must be a finite number"
            continue
        parsed[path] = int(number) if item.kind == "int" and number == int(number) else number
    for path, value in parsed.items():
        parts = path.split(".")
        if parts[0] == "leases":
            continue
        node = deal
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    if strategy == "commercial":
        leases = []
        for r in range(LEASE_ROWS):
            row = {
                c.path: parsed[f"leases.{r}.{c.path}"]
                for c in LEASE_COLUMNS
                if f"leases.{r}.{c.path}" in parsed
            }
            if row.get("area_sf") is not None or len(row) > 1:
                if "tenant" not in row:
                    row["tenant"] = None
                leases.append(row)
        deal["leases"] = leases
    constraints: dict[str, float] = {}
    for name, _label, _default in CONSTRAINTS[strategy]:
        raw = (data.get(f"c.{name}") or "").strip()
        form.values[f"c.{name}"] = raw
        if raw:
            try:
                constraints[name] = float(raw)
            except ValueError:
                form.errors[f"c.{name}"] = f"“{raw[:40]}” is not a number"
    deal["__constraints__"] = constraints
    return form, deal


def _sweep_values(base: float, steps: tuple[float, ...], relative: bool) -> list[float]:
    if relative:
        return [round(base * (1 + s), 2) for s in steps]
    return [round(base + s, 6) for s in steps]


def compute(session: Any, form: UwForm, deal: dict[str, Any]) -> dict[str, Any]:
    """The results panel: metrics, sensitivities, maximum offer, frontier — or the
    problems, by field, when the deal cannot be computed."""
    constraints = deal.pop("__constraints__", {})
    out: dict[str, Any] = {"ok": False}
    if form.errors:
        return out
    strategy = form.strategy
    try:
        analysis = uw_service.analyse(deal)
    except ReosError as exc:
        problems = [str(p) for p in (exc.detail.get("problems") or [exc.message])]
        known = {i.path for i in INPUTS[strategy]} | set(form.values)
        for line in problems:
            name = line.partition(":")[0].strip()
            name = name.removeprefix("deal.")
            if name in known and name not in form.errors:
                form.errors[name] = line.partition(":")[2].strip()
            else:
                form.problems.append(line)
        return out
    out["ok"] = True
    out["metrics"] = [
        (label, metric_text(analysis.metrics.get(name), kind), name)
        for name, label, kind in METRICS[strategy]
        if name in analysis.metrics
    ]
    out["notes"] = dict(analysis.notes)
    kinds = {name: kind for name, _label, kind in METRICS[strategy]}
    sweeps = []
    for path, label, steps in SWEEPS[strategy]:
        base = _get(deal, path)
        if not isinstance(base, int | float):
            continue
        values = _sweep_values(float(base), steps, relative=strategy != "commercial")
        try:
            result = uw_service.sensitivity_of(deal, path, values, SWEEP_METRICS[strategy])
        except ReosError:
            continue
        rows = []
        for i, value in enumerate(result.values[0]):
            rows.append(
                {
                    "value": metric_text(value, "pct" if strategy == "commercial" else "money"),
                    "base": i == len(values) // 2,
                    "cells": [
                        metric_text(result.grid[m][i], kinds.get(m, "ratio"))
                        for m in result.metrics
                    ],
                }
            )
        sweeps.append(
            {
                "label": label,
                "metrics": [
                    dict((n, lab) for n, lab, _k in METRICS[strategy]).get(m, m)
                    for m in result.metrics
                ],
                "rows": rows,
            }
        )
    out["sweeps"] = sweeps
    if constraints:
        try:
            offer, _sources = uw_service.max_offer(session, constraints, deal=deal)
            out["max_offer"] = {
                "price": offer.max_offer,
                "binding": offer.binding,
                "reason": offer.reason,
                "constraints": constraints,
            }
        except ReosError as exc:
            out["max_offer"] = {
                "price": None,
                "binding": None,
                "reason": exc.message,
                "constraints": constraints,
            }
    if strategy in ("rental", "flip"):
        try:
            best = uw_service.optimised_offer(deal, frontier=FRONTIER_POINTS)
        except (ReosError, ValueError, ArithmeticError) as exc:
            out["frontier"] = {"reason": str(getattr(exc, "message", exc)), "points": []}
        else:
            points = [
                {
                    "price": p.offer.price,
                    "probability": p.acceptance_probability,
                    "profit": p.profit,
                    "expected": p.expected_profit,
                }
                for p in sorted(best.frontier, key=lambda p: p.offer.price)
            ]
            out["frontier"] = {
                "reason": best.reason,
                "best": None
                if best.best is None
                else {
                    "price": best.best.offer.price,
                    "probability": best.best.acceptance_probability,
                    "expected": best.best.expected_profit,
                },
                "measure": best.profit_measure,
                "points": points,
                "svg": line_chart(
                    [(p["price"], p["expected"]) for p in points],
                    second=[(p["price"], p["probability"] * 100) for p in points],
                    x_format="${:,.0f}",
                    y_format="${:,.0f}",
                    second_format="{:.0f}%",
                    title="Offer frontier: expected profit (line) and chance of acceptance (dashed) by price",
                    marker=None if best.best is None else best.best.offer.price,
                )
                if len(points) >= 2
                else None,
            }
    return out


# --------------------------------------------------------------------------- CRM


def crm_view(ctx: PageContext, prop: Any, message: str | None = None) -> dict[str, Any]:
    deal = crm_service.open_deal_of(ctx.session, prop.id)
    if deal is None:
        return {"deal": None, "message": message, "may_edit": ctx.may(Permission.DATA_WRITE)}
    return {
        "deal": deal,
        "events": list(reversed(crm_service.events_of(ctx.session, deal.id)))[:50],
        "notes": crm_service.notes_of(ctx.session, deal.id)[:50],
        "tasks": crm_service.tasks_of(ctx.session, deal.id),
        "offers": crm_offers.offers_of(ctx.session, deal_id=deal.id, limit=50),
        "message": message,
    }


# --------------------------------------------------------------------------- routes


def _property(ctx: PageContext, property_id: uuid.UUID) -> Any:
    return properties_service.get_property(ctx.session, property_id)


def _owner_view(ctx: PageContext, prop: Any) -> dict[str, Any] | None:
    record = owners_read.owner_of_property(ctx.session, prop.id)
    if record is None:
        return None
    view: dict[str, Any] = {"record": record, "entity": None}
    if record.entity_id is not None:
        try:
            view["entity"] = owner_queries.get_owner(ctx.session, record.entity_id)
        except NotFound:
            view["entity"] = None
    return view


def _strategy(value: str | None) -> str:
    return value if value in STRATEGIES else "rental"


def underwriting_context(
    ctx: PageContext,
    prop: Any,
    strategy: str,
    form: UwForm | None = None,
    results: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The underwriting section: the deal filled from the store (or the posted form) and
    its results."""
    if form is None:
        form = initial_form(ctx, prop, strategy)
        results = (
            compute(ctx.session, form, form_from_post(strategy, form.values)[1])
            if not form.problems and not form.errors
            else {"ok": False}
        )
    return {
        "prop": prop,
        "uw_inline": True,
        "strategy": strategy,
        "strategies": STRATEGIES,
        "form": form,
        "inputs": INPUTS[strategy],
        "lease_columns": LEASE_COLUMNS,
        "lease_rows": range(LEASE_ROWS),
        "constraints": CONSTRAINTS[strategy],
        "results": results or {"ok": False},
    }


def page_context(
    ctx: PageContext,
    prop: Any,
    strategy: str | None,
    form: UwForm | None = None,
    results: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole page. The underwriting section (filling a deal runs the AVM twice) is
    part of it when a strategy is asked for or a form was posted; otherwise the page
    loads it after (htmx), with a link that shows it without JavaScript."""
    uw: dict[str, Any] = {"uw_inline": False}
    if strategy is not None or form is not None:
        uw = underwriting_context(ctx, prop, _strategy(strategy), form, results)
    stack = dealflow_read.stacks(ctx.session, [prop.id]).get(prop.id, [])
    score = dealflow_read.latest_scores(ctx.session, [prop.id]).get(prop.id)
    return {
        "prop": prop,
        "facts": facts_of(prop),
        "sales": properties_service.sales_of(ctx.session, prop.id),
        "owner": _owner_view(ctx, prop),
        "stack": stack,
        "score": score,
        "val": valuation_view(ctx, prop),
        "index": index_view(ctx, prop),
        **uw,
        "crm": crm_view(ctx, prop),
        "may_edit": ctx.may(Permission.DATA_WRITE),
    }


@router.get("/properties/{property_id}")
def property_page(
    request: Request, property_id: uuid.UUID, page: Page, strategy: str | None = None
) -> Response:
    prop = _property(page, property_id)
    chosen = None if strategy is None else _strategy(strategy)
    return render(request, "property/page.html", page_context(page, prop, chosen))


@router.get("/properties/{property_id}/underwriting")
def underwriting_section(
    request: Request, property_id: uuid.UUID, page: Page, strategy: str | None = None
) -> Response:
    """The underwriting section alone (the page loads it after itself)."""
    prop = _property(page, property_id)
    if not is_htmx(request):
        return RedirectResponse(
            f"/properties/{prop.id}?strategy={_strategy(strategy)}#underwriting", status_code=303
        )
    context = underwriting_context(page, prop, _strategy(strategy))
    return render(request, "property/_underwriting.html", context)


async def posted(request: Request) -> dict[str, list[str]]:
    """The posted form's text fields (each name with its values, in order)."""
    form = await request.form()
    return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}


Posted = Annotated[dict[str, list[str]], Depends(posted)]


def _one(data: dict[str, list[str]], name: str) -> str:
    values = data.get(name) or [""]
    return values[0]


@router.post("/properties/{property_id}/underwriting")
def underwriting(request: Request, property_id: uuid.UUID, page: Page, data: Posted) -> Response:
    """Recompute every metric from the posted inputs (nothing is stored): the results
    panel for htmx (as the user types), the whole page for a plain form post."""
    values = {k: v[0] for k, v in data.items() if v}
    strategy = _strategy(values.get("strategy"))
    form, deal = form_from_post(strategy, values)
    results = compute(page.session, form, deal)
    status = 200 if results.get("ok") else 422
    if is_htmx(request):
        return render(
            request,
            "property/_uw_results.html",
            {
                "form": form,
                "results": results,
                "strategy": strategy,
                "inputs": INPUTS[strategy],
                "oob": True,
            },
            status_code=status,
        )
    prop = _property(page, property_id)
    return render(
        request,
        "property/page.html",
        page_context(page, prop, strategy, form, results),
        status_code=status,
    )


@router.post("/properties/{property_id}/valuation")
def revalue(request: Request, property_id: uuid.UUID, page: EditPage, data: Posted) -> Response:
    """Value the property again with the checked comps excluded; the valuation panel
    comes back with the new value (the whole page without JavaScript)."""
    exclude = [v for v in data.get("exclude", []) if v][:200]
    prop = _property(page, property_id)
    message = None
    status = 200
    try:
        latest = _latest_valuation(page, prop.id)
        as_of = latest.valuation_date if latest is not None else None
        valuation_service.value_property(page.session, prop.id, as_of, exclude=exclude)
    except ReosError as exc:
        if isinstance(exc, NotFound) and "property" in exc.message:
            raise
        message, status = exc.message, 422
    if not is_htmx(request):
        if status == 200:
            return RedirectResponse(f"/properties/{prop.id}#valuation", status_code=303)
        context = page_context(page, prop, None)
        context["val"]["message"] = message
        return render(request, "property/page.html", context, status_code=status)
    return render(
        request,
        "property/_valuation.html",
        {"prop": prop, "val": valuation_view(page, prop, message), "may_edit": True},
        status_code=status,
    )


def _crm_answer(request: Request, page: PageContext, prop: Any, message: str | None) -> Response:
    status = 422 if message else 200
    if is_htmx(request):
        return render(
            request,
            "property/_crm.html",
            {"prop": prop, "crm": crm_view(page, prop, message), "may_edit": True},
            status_code=status,
        )
    if message is None:
        return RedirectResponse(f"/properties/{prop.id}#crm", status_code=303)
    context = page_context(page, prop, None)
    context["crm"]["message"] = message
    return render(request, "property/page.html", context, status_code=status)


@router.post("/properties/{property_id}/deal")
def open_deal(request: Request, property_id: uuid.UUID, page: EditPage) -> Response:
    prop = _property(page, property_id)
    message = None
    try:
        crm_service.create_deal(page.session, prop.id)
    except ReosError as exc:
        message = exc.message
    return _crm_answer(request, page, prop, message)


def _deal_of(page: PageContext, prop: Any) -> Any:
    deal = crm_service.open_deal_of(page.session, prop.id)
    if deal is None:
        raise NotFound("this property has no open deal; open one first")
    return deal


@router.post("/properties/{property_id}/notes")
def add_note(request: Request, property_id: uuid.UUID, page: EditPage, data: Posted) -> Response:
    prop = _property(page, property_id)
    body = _one(data, "body")
    message = None
    try:
        crm_service.add_note(page.session, _deal_of(page, prop).id, str(body or "")[:5000])
    except ReosError as exc:
        if isinstance(exc, NotFound):
            raise
        message = exc.message
    return _crm_answer(request, page, prop, message)


@router.post("/properties/{property_id}/tasks")
def add_task(request: Request, property_id: uuid.UUID, page: EditPage, data: Posted) -> Response:
    prop = _property(page, property_id)
    title = _one(data, "title")[:500]
    due_text = _one(data, "due_date").strip()
    message = None
    try:
        due = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        due, message = None, f"due date: “{due_text[:20]}” is not a date (YYYY-MM-DD)"
    if message is None:
        try:
            crm_service.add_task(page.session, _deal_of(page, prop).id, title, due_date=due)
        except ReosError as exc:
            if isinstance(exc, NotFound):
                raise
            message = exc.message
    return _crm_answer(request, page, prop, message)


@router.post("/properties/{property_id}/tasks/{task_id}/done")
def complete_task(
    request: Request, property_id: uuid.UUID, task_id: uuid.UUID, page: EditPage, data: Posted
) -> Response:
    prop = _property(page, property_id)
    deal = _deal_of(page, prop)
    task = crm_service.get_task(page.session, task_id)
    if task.deal_id != deal.id:
        raise NotFound(f"task {task_id} not found")
    done = (_one(data, "done") or "1") != "0"
    crm_service.set_task_done(page.session, task_id, done)
    return _crm_answer(request, page, prop, None)


# --------------------------------------------------------------------------- charts


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    out = []
    value = first
    while value <= high + 1e-9 * step:
        out.append(value)
        value += step
    return out


def line_chart(
    points: list[tuple[float, float]],
    *,
    title: str,
    x_labels: list[tuple[float, str]] | None = None,
    x_format: str = "{:,.0f}",
    y_format: str = "{:,.0f}",
    second: list[tuple[float, float]] | None = None,
    second_format: str = "{:,.0f}",
    marker: float | None = None,
    width: int = 640,
    height: int = 240,
) -> dict[str, Any]:
    """A line chart drawn on the server as SVG: the template writes the paths and labels
    (so every value is escaped). ``second`` is a dashed series on its own right-hand
    axis; ``marker`` a vertical line at that x."""
    left, right, top, bottom = 64, 56 if second else 16, 16, 36
    xs = [p[0] for p in points] + [p[0] for p in second or []]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 1
    ys = [p[1] for p in points]
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.08 or abs(y1) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return round(left + (x - x0) / (x1 - x0) * plot_w, 1)

    def sy(y: float, lo: float = y0, hi: float = y1) -> float:
        return round(top + (1 - (y - lo) / (hi - lo)) * plot_h, 1)

    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x)},{sy(y)}" for i, (x, y) in enumerate(points))
    y_ticks = [{"y": sy(v), "label": y_format.format(v)} for v in _ticks(y0, y1)]
    if x_labels:
        step = max(1, len(x_labels) // 6)
        chosen = x_labels[::step]
        x_ticks = [{"x": sx(x), "label": label} for x, label in chosen]
    else:
        x_ticks = [{"x": sx(v), "label": x_format.format(v)} for v in _ticks(x0, x1, 5)]
    chart: dict[str, Any] = {
        "title": title,
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "path": path,
        "dots": [{"x": sx(x), "y": sy(y)} for x, y in points],
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "second_path": None,
        "second_ticks": [],
        "marker": None if marker is None else sx(marker),
    }
    if second:
        s_lo = min(p[1] for p in second)
        s_hi = max(p[1] for p in second)
        s_pad = (s_hi - s_lo) * 0.08 or 1.0
        s_lo, s_hi = s_lo - s_pad, s_hi + s_pad
        chart["second_path"] = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(x)},{sy(y, s_lo, s_hi)}"
            for i, (x, y) in enumerate(second)
        )
        chart["second_ticks"] = [
            {"y": sy(v, s_lo, s_hi), "label": second_format.format(v)} for v in _ticks(s_lo, s_hi)
        ]
    return chart
