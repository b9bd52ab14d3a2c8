"""Deal files: read one (YAML or JSON), check all of it, dispatch on ``strategy``.

A deal file is checked whole before anything is computed: every problem becomes one line
naming the field's path and the value it had (``loan.ltv: 1.2 — must be at most 1``), and
they are raised together as one :class:`reos.errors.ValidationFailed` whose ``detail``
carries the list (``problems``). Nothing is ever computed from a half-valid file.

Reading: ``.json`` is JSON, ``.yaml``/``.yml`` YAML, anything else is tried as JSON and then
as YAML. YAML is read safely, with two fixes on PyYAML's YAML 1.1 habits that would
otherwise silently change a deal: ``5e-2`` is a number (not the string "5e-2"), and a key
given twice is an error (not the last one winning). JSON refuses duplicate keys too.

The commercial strategy lives in :mod:`reos.underwriting.commercial`, imported only when a
commercial deal is read (``CommercialDeal`` and ``analyse_commercial``).
"""

from __future__ import annotations

import difflib
import importlib
import json
import re
from collections.abc import Hashable
from pathlib import Path
from types import UnionType
from typing import Any, NoReturn, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from reos.errors import NotFound, ValidationFailed
from reos.underwriting.analysis import DealAnalysis
from reos.underwriting.flip import FlipDeal, analyse_flip
from reos.underwriting.rental import RentalDeal, analyse_rental

STRATEGIES: tuple[str, ...] = ("rental", "flip", "commercial")
COMMERCIAL_MODULE = "reos.underwriting.commercial"


# --- reading a file ------------------------------------------------------------------------


class _DealLoader(yaml.SafeLoader):
    """Safe YAML with ``1e-3`` read as a number and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DealLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} is given twice")
        out[key] = value
    return out


def parse_text(text: str, kind: str, name: str = "the deal") -> Any:
    """``text`` read as ``kind`` (``json`` or ``yaml``); a syntax error says where."""
    if kind == "json":
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        except ValueError as exc:
            raise ValidationFailed(f"{name}: {exc}") from None
    try:
        return yaml.load(text, Loader=_DealLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed(f"{name}: not valid YAML{where}: {problem}") from None


def read_data_file(path: Path) -> Any:
    """The data in a YAML or JSON file (by suffix; any other suffix: JSON, then YAML)."""
    if not path.is_file():
        raise NotFound(f"{path}: no such file", field="deal")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise ValidationFailed(f"{path}: cannot be read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_text(text, "json", str(path))
    if suffix in (".yaml", ".yml"):
        return parse_text(text, "yaml", str(path))
    try:
        return parse_text(text, "json", str(path))
    except ValidationFailed:
        return parse_text(text, "yaml", str(path))


def load_deal_file(path: Path) -> dict[str, Any]:
    """A deal file's contents as a mapping (not yet checked: see :func:`parse_deal`)."""
    data = read_data_file(path)
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"{path}: a deal file is a mapping of field: value, not {type(data).__name__}",
            problems=[f"{path}: a deal file is a mapping of field: value"],
        )
    return data


# --- checking and dispatching --------------------------------------------------------------


def commercial_module() -> Any:
    """The commercial strategy's module, or a clear refusal when this build lacks it."""
    try:
        return importlib.import_module(COMMERCIAL_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != COMMERCIAL_MODULE:
            raise
        raise ValidationFailed(
            'strategy: "commercial" — the commercial engine is not installed in this build',
            field="strategy",
            problems=['strategy: "commercial" — not available in this build'],
        ) from None


def deal_model(strategy: str) -> type[BaseModel]:
    """The input model of a strategy."""
    if strategy == "rental":
        return RentalDeal
    if strategy == "flip":
        return FlipDeal
    if strategy == "commercial":
        model: type[BaseModel] = commercial_module().CommercialDeal
        return model
    raise ValidationFailed(
        f"strategy: {show(strategy)} — must be one of {', '.join(STRATEGIES)}",
        field="strategy",
        problems=[f"strategy: {show(strategy)} — must be one of {', '.join(STRATEGIES)}"],
    )


def strategy_of(deal: BaseModel) -> str:
    """``rental``, ``flip`` or ``commercial``."""
    if isinstance(deal, RentalDeal):
        return "rental"
    if isinstance(deal, FlipDeal):
        return "flip"
    return "commercial"


def parse_deal(data: Any) -> BaseModel:
    """``data`` checked whole against its strategy's model.

    Raises :class:`ValidationFailed` listing every problem, one line each, in
    ``detail["problems"]`` (and joined by newlines in the message)."""
    if not isinstance(data, dict):
        fail(["the deal must be a mapping of field: value"])
    strategy = data.get("strategy")
    if strategy is None:
        fail([f"strategy: required — one of {', '.join(STRATEGIES)}"])
    if strategy not in STRATEGIES:
        fail([f"strategy: {show(strategy)} — must be one of {', '.join(STRATEGIES)}"])
    model = deal_model(strategy)
    payload = data if "strategy" in model.model_fields else _without(data, "strategy")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fail(problems_of(exc, model, strategy))


def analyse(deal: BaseModel) -> DealAnalysis:
    """Underwrite a checked deal with its strategy's engine."""
    if isinstance(deal, RentalDeal):
        return analyse_rental(deal)
    if isinstance(deal, FlipDeal):
        return analyse_flip(deal)
    result: DealAnalysis = commercial_module().analyse_commercial(deal)
    return result


def analyse_deal(data: dict[str, Any]) -> DealAnalysis:
    """Check a deal (a deal file's mapping) and underwrite it: the one entry point."""
    return analyse(parse_deal(data))


def fail(problems: list[str]) -> NoReturn:
    """Raise the one error of an invalid deal: every problem, one line each."""
    raise ValidationFailed(
        "\n".join(problems),
        field=problems[0].partition(":")[0] if len(problems) == 1 else None,
        problems=problems,
    )


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


# --- one line per problem ------------------------------------------------------------------

_BOUND_WORDS = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def show(value: Any) -> str:
    """A value as the user wrote it, shortened."""
    try:
        text = json.dumps(value, default=str, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _submodel(annotation: Any) -> Any:
    """The pydantic model inside an annotation (``Loan | None``, ``list[Lease]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (Union, UnionType, list, tuple) or origin is not None:
        for arg in get_args(annotation):
            found = _submodel(arg)
            if found is not None:
                return found
    return None


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model holding the field at ``loc`` (walking nested models and list indexes)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = _submodel(info.annotation)
    return current


def _hint(model: type[BaseModel], loc: tuple[Any, ...], strategy: str) -> str:
    """What the user may have meant by an unknown field, or the fields allowed there."""
    holder = _model_at(model, loc[:-1])
    if holder is None:
        return ""
    names = list(holder.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]}?)"
    if len(names) <= 8:
        return f" (allowed: {', '.join(names)})"
    return f" (`reos underwrite --template {strategy}` shows every field)"


def problems_of(exc: ValidationError, model: type[BaseModel], strategy: str) -> list[str]:
    """Each pydantic error as ``path: value — what is wrong``."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        # pydantic names the union branch (``loan.RentalLoan.rate``); the user never wrote it
        parts = [str(p) for p in loc if not (isinstance(p, str) and p[:1].isupper())]
        path = ".".join(parts) or "deal"
        kind = error.get("type", "")
        ctx = error.get("ctx") or {}
        value = error.get("input")
        if kind == "missing":
            lines.append(f"{path}: required for a {strategy} deal")
            continue
        if kind == "extra_forbidden":
            lines.append(f"{path}: {show(value)} — unknown field{_hint(model, loc, strategy)}")
            continue
        if kind in _BOUND_WORDS:
            key, words = _BOUND_WORDS[kind]
            message = f"{words} {_number(ctx.get(key))}"
        elif kind in ("int_from_float", "int_parsing"):
            message = "must be a whole number"
        elif kind == "finite_number":
            message = "must be a finite number"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = "must be a mapping of field: value"
        else:
            message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            message = message.replace("Input should be", "must be")
        lines.append(f"{path}: {show(value)} — {message}" if parts else message)
    return lines


# --- templates -----------------------------------------------------------------------------

RENTAL_TEMPLATE = """\
# A rental deal (reos underwrite deal.yaml). Money in dollars, rates as fractions
# (0.07 = 7%). A field left out (or null) takes the default shown in its comment.
strategy: rental
purchase_price: 250000        # required
closing_costs: 5000           # default 0
rehab_cost: 15000             # default 0; paid at purchase
after_repair_value: 285000    # optional; the sale is priced on it (else on the price)
gross_rent_monthly: 2300      # required
other_income_monthly: 50      # default 0 (laundry, parking, pets)
vacancy_rate: 0.05            # default 0.05, of gross potential rent only
property_tax_annual: 3600     # required
insurance_annual: 1400        # required
hoa_monthly: 0                # default 0
utilities_monthly: 0          # default 0 (owner-paid)
management_rate: 0.08         # default 0, of effective gross income
maintenance_rate: 0.05        # default 0, of effective gross income
capex_rate: 0.05              # default 0, of effective gross income
loan:                         # default none (a cash deal)
  ltv: 0.75                   # loan = ltv x purchase price
  rate: 0.07                  # annual, monthly compounding
  amort_years: 30
  points: 0.01                # default 0, of the loan amount, paid at closing
hold_years: 10                # default 10
rent_growth: 0.03             # default 0.03 a year, from year 2
expense_growth: 0.03          # default 0.03 a year, from year 2
appreciation: 0.03            # default 0.03 a year (used when there is no exit cap)
# exit_cap_rate: 0.07         # optional: sale price = year N+1 NOI / exit cap
selling_costs_rate: 0.06      # default 0.06 of the sale price
discount_rate: 0.10           # default 0.10, for NPV
"""

FLIP_TEMPLATE = """\
# A fix-and-flip deal (reos underwrite flip.yaml). Money in dollars, rates as fractions.
# A field left out (or null) takes the default shown in its comment.
strategy: flip
arv: 300000                   # required: after-repair value, the sale price
purchase_price: 170000        # required
closing_costs: 3000           # default 0
rehab_cost: 45000             # required
holding_months: 6             # required
holding_costs_monthly: 900    # default 0: taxes, insurance, utilities
selling_costs_rate: 0.06      # default 0.06 of the ARV
loan:                         # default none (all cash)
  amount: 150000              # dollars, repaid at the sale
  rate: 0.11                  # annual, interest only
  points: 0.02                # default 0, of the amount
mao_rule: 0.70                # default 0.70: MAO = ARV x rule - rehab - wholesale fee
wholesale_fee: 0              # default 0 (lowers the MAO only)
"""

COMMERCIAL_TEMPLATE = """\
# A commercial deal, lease by lease (reos underwrite office.yaml). Money in dollars, rates
# as fractions, months as YYYY-MM (a lease's end month is included). Rents are per square
# foot per year. A field left out (or null) takes the default shown in its comment.
strategy: commercial
purchase_price: 12500000      # required
closing_costs: 150000         # default 0
analysis_start: "2026-01"     # required: month 1 of the analysis
hold_years: 10                # required
leases:                       # the rent roll
  - tenant: Acme Dental       # suite 100
    area_sf: 5000
    rent_psf_annual: 28.00    # the rent at the lease's own start
    start: "2022-04"
    end: "2028-03"
    escalation: 0.03          # a year, from each anniversary of the start
  - tenant: Northside Law     # suite 200
    area_sf: 12000
    rent_psf_annual: 31.50
    start: "2024-01"
    end: "2033-12"
    escalation: 0.025
  - tenant: Corner Cafe       # suite 105
    area_sf: 2500
    rent_psf_annual: 35.00
    start: "2026-06"          # starts after the analysis start: empty until then
    end: "2031-05"
    escalation: 0.03
  - tenant: null              # suite 300, vacant: leased on new-tenant terms
    area_sf: 8000
market:                       # market leasing assumptions
  rent_psf_annual: 32.00      # at the analysis start
  rent_growth: 0.03           # a year, by analysis year
  renewal_probability: 0.70
  downtime_months: 6
  free_rent_months_new: 4
  free_rent_months_renew: 1
  ti_psf_new: 40.00
  ti_psf_renew: 10.00
  lc_rate_new: 0.06           # of the successor's base rent over its term
  lc_rate_renew: 0.03
  term_years: 5
  escalation: 0.03
credit_loss_rate: 0.01        # default 0, of collected rent
opex_psf_annual: 9.50         # owner's unrecovered operating expenses, per sf of total area
reserves_psf_annual: 0.25     # default 0
expense_growth: 0.03          # default 0.03
exit_cap_rate: 0.075          # required: reversion = year N+1 NOI / exit cap
selling_costs_rate: 0.02      # default 0.02
discount_rate: 0.08           # default 0.10
"""

TEMPLATES: dict[str, str] = {
    "rental": RENTAL_TEMPLATE,
    "flip": FLIP_TEMPLATE,
    "commercial": COMMERCIAL_TEMPLATE,
}


def template(strategy: str) -> str:
    """A commented example deal file for ``strategy`` (YAML)."""
    if strategy not in TEMPLATES:
        raise ValidationFailed(
            f"template: {show(strategy)} — must be one of {', '.join(STRATEGIES)}",
            field="template",
        )
    return TEMPLATES[strategy]
