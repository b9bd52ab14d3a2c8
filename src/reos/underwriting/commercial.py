"""Commercial underwriting: a lease-by-lease discounted cash flow, the work ARGUS does.

Every figure follows ``shared/reference/underwriting.md`` ("Common" and "Commercial"). The
engine is monthly: every month of every lease and successor within the ``12 · (N + 1)``
months of the analysis is one entry of flat numpy arrays (a suite has one tenancy a month,
so there are at most suites × months entries); the building's monthly columns are their
sums by month and the annual cash-flow table is the sum of each year's 12 months. Every metric
is derived from that table, so the table a user sees is the one the metrics came from. No
figure is rounded anywhere (money is float dollars, unrounded).

How a lease is read (the contract, restated where spreadsheets differ):

- A lease's ``rent_psf_annual`` is its rent at its own ``start``; it steps by ``escalation``
  every 12 whole months since that start, so an in-place lease that started before the
  analysis is already escalated at month 1, and its next step falls on its own anniversary.
- A successor starts ``round_half_up((1 - p) · downtime_months)`` months after its
  predecessor's last month, at the market rent of the *analysis* year it starts in
  (``market.rent_psf_annual · (1 + rent_growth) ** (y - 1)``, no monthly growth), for
  ``12 · term_years`` months, with ``round_half_up(p · free_renew + (1 - p) · free_new)``
  free months at its start, TI = area · blended TI psf and LC = blended rate · its scheduled
  base rent over its whole term (free rent not deducted, months past the analysis
  included); TI and LC are paid in its first month. Successors roll over again alike.
- Blended months are rounded half up in exact decimal arithmetic (:func:`round_half_up`):
  ``(1 - 0.9) · 5`` is 0.5 and rounds to 1.
- A vacant suite (``tenant: null``) is first leased on new-tenant terms (p = 0), starting in
  month ``1 + downtime_months``; its later roll-overs are blended.
- A lease that ended before ``analysis_start`` is refused; one starting after it leaves its
  suite empty until it starts.
- Year N+1 is computed as it stands (downtime, free rent, TI and LC included); the
  reversion is ``NOI_{N+1} / exit_cap_rate``.

Where the contract is silent, this module chooses what an ARGUS user expects:

- A lease may carry its own ``free_rent_months`` (default 0): the first months of the lease
  counted from its own start are free; those before the analysis are already past. Its
  successors get the market's blended free rent, never the lease's own.
- A lease's ``escalation`` defaults to 0 (a rent roll without steps is flat); so does
  ``market.escalation``. ``market.rent_growth`` defaults to 0.03 like the contract's other
  growth rates; downtime, free rent, TI and LC default to 0. ``opex_psf_annual``,
  ``market.rent_psf_annual``, ``market.renewal_probability`` and ``market.term_years`` have
  no default in the contract and are required.
- The vacant suite's first lease runs the market ``term_years`` like any successor.
- Only successors that start within the ``12 · (N + 1)`` analysis months exist; a
  successor starting in year N+1 gets year N+1's market rent. A lease that outlives year
  N+1 simply continues past the table (its LC still counts its whole term).
- Free rent longer than the term makes the whole term free (never more).
- Each row is one suite: two rows naming the same ``suite`` are refused (their areas would
  both be counted); a suite's future lease follows from the roll-over assumptions.
- Occupancy counts a suite as occupied from its lease's first month to its last, free-rent
  months included (physical occupancy, as ARGUS reports it).
- The decimals blended months are computed from are the inputs read to 12 decimal places
  (:data:`EXACT_PLACES`), so a probability a sweep computed as 0.9000000000000001 is 0.9.
- Months, downtime and free rent are whole numbers; ``term_years`` may be fractional when
  ``12 · term_years`` is whole (2.5 years = 30 months). Growth, escalation and discount
  rates lie in (-100%, +100%]; the exit cap in (0, 1]; the hold in 1..100 years. A vacant
  suite carries no dates (a rent of 0 or null is accepted, any other is refused).
- The in-place tenant's name is the lease's; successors are the market's (``tenant`` null
  in the audit table, ``kind`` says blended roll-over or new lease of a vacant suite).

Pure: plain data in, plain data out; no database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from reos.errors import ValidationFailed
from reos.kernel.schemas import InputModel
from reos.underwriting import finance
from reos.underwriting.analysis import DealAnalysis, Metric

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

#: How a ``YYYY-MM`` month is published in the JSON schema.
MONTH_SCHEMA: dict[str, Any] = {
    "json_schema_extra": {"pattern": _MONTH.pattern, "examples": ["2024-07"]}
}

#: The longest hold accepted (years): longer is a typo, not a deal.
MAX_HOLD_YEARS = 100


# --- small exact helpers -----------------------------------------------------------------


def round_half_up(value: Decimal) -> int:
    """``value`` rounded to a whole number, halves up (0.5 → 1, 2.5 → 3, 4.5 → 5): the contract's rounding of blended months. Exact because ``value``
    is a Decimal built from the inputs' decimal spelling, not from binary floats."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


#: Decimal places an input is read to for exact arithmetic: more than anyone writes, fewer
#: than float noise (a sweep's 1.1 - 0.2 = 0.9000000000000001 is read as the 0.9 it means).
EXACT_PLACES = 12


def exact(value: float) -> Decimal:
    """The decimal a user wrote for ``value``: 0.9 is 0.9, not 0.90000000000000002220 (the
    binary float), read to :data:`EXACT_PLACES` decimal places."""
    return Decimal(repr(round(float(value), EXACT_PLACES)))


def month_index(month: str) -> int:
    """A ``YYYY-MM`` month as a count of months since year 0 (so differences are months)."""
    match = _MONTH.match(month)
    if match is None:
        raise ValueError(f"{month!r} is not a month written YYYY-MM")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_label(index: int) -> str:
    """The ``YYYY-MM`` spelling of :func:`month_index`'s count."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_text(value: Any) -> Any:
    """Refuses, with the value, what is not text where a ``YYYY-MM`` month is expected (YAML
    reads ``2024-07-01`` as a date and ``202407`` as a number)."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"must be a month written YYYY-MM (e.g. 2024-07), not {value!s}")
    return value


def _shown(value: Any) -> str:
    """A value as a person wrote it: 5 rather than 5.0, strings quoted."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _problem(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    """One validation error at ``loc`` whose message is ``message`` as written."""
    return InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", {"message": message}),
        loc=loc,
        input=value,
    )


def _reraised(error: ErrorDetails) -> InitErrorDetails:
    """A reported error, to be raised again beside further ones."""
    details = InitErrorDetails(type=error["type"], loc=error["loc"], input=error["input"])
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


@dataclass(frozen=True)
class Bounds:
    """The range a number must lie in; ``None`` leaves that side open."""

    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True
    whole: bool = False

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None."""
        if not math.isfinite(value):
            return f"must be a finite number, not {_shown(value)}"
        if self.whole and not float(value).is_integer():
            return f"must be a whole number, not {_shown(value)}"
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            side = "at least" if self.low_inclusive else "greater than"
            return f"must be {side} {_shown(self.low)}{self._rest()}, not {_shown(value)}"
        if self.high is not None and (
            value > self.high or (value == self.high and not self.high_inclusive)
        ):
            side = "at most" if self.high_inclusive else "less than"
            return f"must be {side} {_shown(self.high)}{self._rest()}, not {_shown(value)}"
        return None

    def _rest(self) -> str:
        if self.low is not None and self.high is not None:
            lo = "[" if self.low_inclusive else "("
            hi = "]" if self.high_inclusive else ")"
            return f" (range {lo}{_shown(self.low)}, {_shown(self.high)}{hi})"
        return ""


NON_NEGATIVE = Bounds(low=0)
POSITIVE = Bounds(low=0, low_inclusive=False)
FRACTION = Bounds(low=0, high=1)
#: A yearly growth, step or discount rate: above -100% and at most +100%.
GROWTH = Bounds(low=-1, low_inclusive=False, high=1)
MONTHS = Bounds(low=0, whole=True)


class _Ranged(InputModel):
    """An input model whose numeric fields are checked against ``RANGES``, each with a
    message naming the value and the range (pydantic's own says neither)."""

    RANGES: ClassVar[dict[str, Bounds]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _whole(cls, value: Any, info: ValidationInfo) -> Any:
        """A count of months or years is whole; said with the value, before pydantic's
        integer parsing says it without."""
        bounds = cls.RANGES.get(info.field_name or "")
        if (
            bounds is not None
            and bounds.whole
            and isinstance(value, float)
            and math.isfinite(value)
            and not value.is_integer()
        ):
            raise ValueError(f"must be a whole number, not {_shown(value)}")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _in_range(cls, value: Any, info: ValidationInfo) -> Any:
        bounds = cls.RANGES.get(info.field_name or "")
        if bounds is not None and isinstance(value, int | float) and not isinstance(value, bool):
            problem = bounds.problem(float(value))
            if problem is not None:
                raise ValueError(problem)
        return value


# --- the deal file -----------------------------------------------------------------------


class Lease(_Ranged):
    """One row of the rent roll: one suite and the lease in force (``tenant: null`` for a
    vacant suite, which then carries only its area).

    ``rent_psf_annual`` is dollars per square foot per year *at the lease's own start*;
    ``start`` and ``end`` are ``YYYY-MM`` months, ``end`` inclusive; ``escalation`` is the
    annual step (0.03 = 3%) applied every 12 whole months since ``start``;
    ``free_rent_months`` (not in the contract; default 0) are the lease's own free months
    counted from its start."""

    RANGES: ClassVar[dict[str, Bounds]] = {
        "area_sf": POSITIVE,
        "rent_psf_annual": NON_NEGATIVE,
        "escalation": GROWTH,
        "free_rent_months": MONTHS,
    }

    suite: str | None = Field(default=None, description="suite label, unique in the rent roll")
    tenant: str | None = Field(default=None, description="null for a vacant suite")
    area_sf: float = Field(description="rentable area, square feet")
    # validated even when absent: whether each is required depends on the tenant
    rent_psf_annual: float | None = Field(
        default=None, validate_default=True, description="$/sf/year at the lease's own start"
    )
    start: str | None = Field(
        default=None, validate_default=True, description="first month", **MONTH_SCHEMA
    )
    end: str | None = Field(
        default=None, validate_default=True, description="last month, inclusive", **MONTH_SCHEMA
    )
    escalation: float = Field(default=0.0, description="annual step from the lease's start")
    free_rent_months: int = Field(
        default=0, validate_default=True, description="free months from the lease's own start"
    )

    @field_validator("suite", mode="before")
    @classmethod
    def _suite_number(cls, value: Any) -> Any:
        """``suite: 100`` in YAML is a number; a suite number is its label."""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _month_text(cls, value: Any) -> Any:
        return month_text(value)

    @field_validator("tenant", "suite")
    @classmethod
    def _a_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty: write a name, or null (a vacant suite has tenant null)")
        return value

    @field_validator("rent_psf_annual", "start", "end", "free_rent_months")
    @classmethod
    def _lease_terms(cls, value: Any, info: ValidationInfo) -> Any:
        """Dates are months; a lease needs its rent and dates, a vacant suite has neither;
        a lease ends no earlier than it starts."""
        name = info.field_name
        if name in ("start", "end") and value is not None:
            month_index(value)
        if "tenant" not in info.data:  # the tenant itself was refused: nothing to judge by
            return value
        tenant = info.data["tenant"]
        if tenant is None:
            if name in ("start", "end") and value is not None:
                raise ValueError(
                    "a vacant suite (tenant null) has no lease dates: leave it out, or name "
                    "the tenant"
                )
            if name == "rent_psf_annual" and value not in (None, 0):
                raise ValueError(
                    f"a vacant suite (tenant null) pays no rent, not {_shown(value)}: its "
                    "first lease is at market rent"
                )
            if name == "free_rent_months" and value:
                raise ValueError(
                    "a vacant suite (tenant null) has no lease to give free rent: its first "
                    "lease gets market.free_rent_months_new"
                )
            return value
        if value is None:
            raise ValueError(f"required for a lease (tenant {tenant!r})")
        start = info.data.get("start")
        if name == "end" and start is not None and month_index(value) < month_index(start):
            raise ValueError(
                f"{value} is before the lease's start {start} (tenant {tenant!r}); end is the "
                "lease's last month, inclusive"
            )
        return value

    @property
    def vacant(self) -> bool:
        return self.tenant is None


class MarketLeasing(_Ranged):
    """Market leasing assumptions, blended by the renewal probability ``p`` at each
    roll-over. Rents and TI are dollars per square foot (rent per year); months are whole
    months; rates are fractions."""

    RANGES: ClassVar[dict[str, Bounds]] = {
        "rent_psf_annual": NON_NEGATIVE,
        "rent_growth": GROWTH,
        "renewal_probability": FRACTION,
        "downtime_months": MONTHS,
        "free_rent_months_new": MONTHS,
        "free_rent_months_renew": MONTHS,
        "ti_psf_new": NON_NEGATIVE,
        "ti_psf_renew": NON_NEGATIVE,
        "lc_rate_new": FRACTION,
        "lc_rate_renew": FRACTION,
        "term_years": POSITIVE,
        "escalation": GROWTH,
    }

    rent_psf_annual: float = Field(description="$/sf/year in analysis year 1")
    rent_growth: float = Field(default=0.03, description="market rent growth per analysis year")
    renewal_probability: float = Field(description="p: weight of renewal terms in the blend")
    downtime_months: int = Field(default=0, description="empty months before a new tenant")
    free_rent_months_new: int = 0
    free_rent_months_renew: int = 0
    ti_psf_new: float = Field(default=0.0, description="tenant improvements, $/sf")
    ti_psf_renew: float = Field(default=0.0, description="tenant improvements, $/sf")
    lc_rate_new: float = Field(default=0.0, description="share of the whole term's base rent")
    lc_rate_renew: float = Field(default=0.0, description="share of the whole term's base rent")
    term_years: float = Field(description="a market lease's term; 12 · term_years whole")
    escalation: float = Field(default=0.0, description="a market lease's annual step")

    @field_validator("term_years")
    @classmethod
    def _whole_months(cls, value: float) -> float:
        if math.isfinite(value) and value > 0:
            months = exact(value) * 12
            if months != months.to_integral_value():
                raise ValueError(
                    f"must be a whole number of months (12 · term_years), not {_shown(value)} "
                    f"years = {months} months"
                )
        return value

    @property
    def term_months(self) -> int:
        return int(exact(self.term_years) * 12)


class CommercialDeal(_Ranged):
    """A commercial deal file: the building's rent roll, the market's leasing assumptions,
    the price and the exit. Money in dollars, areas in square feet, ``*_psf_annual`` in
    dollars per square foot per year, rates as fractions, months ``YYYY-MM``."""

    RANGES: ClassVar[dict[str, Bounds]] = {
        "purchase_price": POSITIVE,
        "closing_costs": NON_NEGATIVE,
        "hold_years": Bounds(low=1, high=MAX_HOLD_YEARS, whole=True),
        "credit_loss_rate": FRACTION,
        "opex_psf_annual": NON_NEGATIVE,
        "reserves_psf_annual": NON_NEGATIVE,
        "expense_growth": GROWTH,
        "exit_cap_rate": Bounds(low=0, low_inclusive=False, high=1),
        "selling_costs_rate": Bounds(low=0, high=1, high_inclusive=False),
        "discount_rate": GROWTH,
    }

    strategy: Literal["commercial"]
    purchase_price: float
    closing_costs: float = 0.0
    analysis_start: str = Field(description="month 1 of the analysis", **MONTH_SCHEMA)
    hold_years: int
    leases: list[Lease] = Field(min_length=1)
    market: MarketLeasing
    credit_loss_rate: float = 0.0
    opex_psf_annual: float = Field(description="owner's unrecovered opex, $/sf/year")
    reserves_psf_annual: float = Field(default=0.0, description="capital reserves, $/sf/year")
    expense_growth: float = 0.03
    exit_cap_rate: float
    selling_costs_rate: float = 0.02
    discount_rate: float = 0.10

    @field_validator("analysis_start", mode="before")
    @classmethod
    def _month_text(cls, value: Any) -> Any:
        return month_text(value)

    @field_validator("analysis_start")
    @classmethod
    def _a_month(cls, value: str) -> str:
        month_index(value)
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _a_rent_roll(cls, data: Any, handler: ModelWrapValidatorHandler[CommercialDeal]) -> Any:
        """Checks across the rent roll (a lease that has already ended, a suite listed twice)
        on the file as written, so they are reported beside every other problem in it."""
        problems = rent_roll_problems(data) if isinstance(data, dict) else []
        try:
            deal = handler(data)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                exc.title, [*(_reraised(e) for e in exc.errors()), *problems]
            ) from None
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return deal


def rent_roll_problems(data: dict[str, Any]) -> list[InitErrorDetails]:
    """Cross-row problems of a raw deal: leases that ended before ``analysis_start`` and
    suites named twice (each an error located at the row's field)."""
    problems: list[InitErrorDetails] = []
    leases = data.get("leases")
    if not isinstance(leases, list):
        return problems
    start = data.get("analysis_start")
    first = month_index(start) if isinstance(start, str) and _MONTH.match(start) else None
    seen: dict[str, int] = {}
    for i, lease in enumerate(leases):
        if not isinstance(lease, dict):
            continue
        end, suite, begins = lease.get("end"), lease.get("suite"), lease.get("start")
        if first is not None and isinstance(end, str) and _MONTH.match(end):
            # an end before the lease's own start is reported by the lease, once
            ends_before_start = (
                isinstance(begins, str)
                and _MONTH.match(begins) is not None
                and month_index(begins) > month_index(end)
            )
            if month_index(end) < first and not ends_before_start:
                problems.append(
                    _problem(
                        ("leases", i, "end"),
                        f"{end} is before analysis_start {start} (tenant "
                        f"{lease.get('tenant')!r}): a lease that has ended is not in the rent "
                        "roll; list the suite as vacant (tenant null) instead",
                        end,
                    )
                )
        if isinstance(suite, str):
            if suite in seen:
                problems.append(
                    _problem(
                        ("leases", i, "suite"),
                        f"{suite!r} is also the suite of leases[{seen[suite]}]: one row per "
                        "suite (its later leases follow from the market assumptions)",
                        suite,
                    )
                )
            else:
                seen[suite] = i
    return problems


# --- the engine --------------------------------------------------------------------------


@dataclass
class _Tenancy:
    """One lease or successor: one tenancy of a suite, with its whole term."""

    row: int  # index in deal.leases
    generation: int  # 0: the lease in place; 1, 2, ...: successors
    kind: str  # "in place", "new (vacant suite)", "blended roll-over"
    start: int  # month_index of its first month
    months: int  # its whole term
    area_sf: float
    rent_psf_annual: float  # at its own start
    escalation: float
    free_rent_months: int
    downtime_months: int  # empty months before it (successors)
    renewal_probability: float | None  # the p its terms were blended with (in place: None)
    ti: float
    lc: float

    @property
    def end(self) -> int:
        return self.start + self.months - 1


def scheduled_rent(area_sf: float, rent_psf_annual: float, escalation: float, months: int) -> float:
    """A lease's scheduled base rent over ``months`` months from its start (dollars): 12
    months at each step, ``area · rent / 12 · (1 + escalation) ** k`` in its year k + 1."""
    whole, rest = divmod(months, 12)
    steps = sum((1.0 + escalation) ** k for k in range(whole)) * 12.0
    steps += rest * (1.0 + escalation) ** whole
    return area_sf * rent_psf_annual / 12.0 * steps


class _Market:
    """The market assumptions, with the blended figures every roll-over shares."""

    def __init__(self, market: MarketLeasing, first_month: int, horizon_months: int) -> None:
        self.market = market
        self.first_month = first_month
        self.last_month = first_month + horizon_months - 1
        p = exact(market.renewal_probability)
        self.p = market.renewal_probability
        self.term = market.term_months
        self.downtime_blended = round_half_up((1 - p) * market.downtime_months)
        self.free_blended = round_half_up(
            p * market.free_rent_months_renew + (1 - p) * market.free_rent_months_new
        )
        self.ti_psf_blended = self.p * market.ti_psf_renew + (1 - self.p) * market.ti_psf_new
        self.lc_rate_blended = self.p * market.lc_rate_renew + (1 - self.p) * market.lc_rate_new

    def rent_at(self, month: int) -> float:
        """Market rent ($/sf/yr) of the analysis year ``month`` falls in."""
        year = (month - self.first_month) // 12 + 1
        return self.market.rent_psf_annual * (1.0 + self.market.rent_growth) ** (year - 1)

    def lease(
        self, row: int, generation: int, start: int, area_sf: float, *, new: bool, downtime: int
    ) -> _Tenancy:
        """A lease on market terms starting in ``start``: new-tenant terms for a vacant
        suite's first lease, blended terms for a roll-over."""
        m = self.market
        rent = self.rent_at(start)
        if new:
            p, free, ti_psf, lc_rate = 0.0, m.free_rent_months_new, m.ti_psf_new, m.lc_rate_new
        else:
            p, free = self.p, self.free_blended
            ti_psf, lc_rate = self.ti_psf_blended, self.lc_rate_blended
        return _Tenancy(
            row=row,
            generation=generation,
            kind="new (vacant suite)" if new else "blended roll-over",
            start=start,
            months=self.term,
            area_sf=area_sf,
            rent_psf_annual=rent,
            escalation=m.escalation,
            free_rent_months=free,
            downtime_months=downtime,
            renewal_probability=p,
            ti=area_sf * ti_psf,
            lc=lc_rate * scheduled_rent(area_sf, rent, m.escalation, self.term),
        )

    def chain(self, row: int, lease: Lease) -> list[_Tenancy]:
        """The suite's lease in place (if any) and every successor starting in the analysis."""
        out: list[_Tenancy] = []
        if lease.vacant:
            downtime = self.market.downtime_months
            start = self.first_month + downtime
            if start > self.last_month:
                return out
            out.append(self.lease(row, 1, start, lease.area_sf, new=True, downtime=downtime))
        else:
            assert lease.start is not None and lease.end is not None
            assert lease.rent_psf_annual is not None
            start = month_index(lease.start)
            out.append(
                _Tenancy(
                    row=row,
                    generation=0,
                    kind="in place",
                    start=start,
                    months=month_index(lease.end) - start + 1,
                    area_sf=lease.area_sf,
                    rent_psf_annual=lease.rent_psf_annual,
                    escalation=lease.escalation,
                    free_rent_months=lease.free_rent_months,
                    downtime_months=0,
                    renewal_probability=None,
                    ti=0.0,
                    lc=0.0,
                )
            )
        while True:
            start = out[-1].end + 1 + self.downtime_blended
            if start > self.last_month:
                return out
            out.append(
                self.lease(
                    row,
                    out[-1].generation + 1,
                    start,
                    lease.area_sf,
                    new=False,
                    downtime=self.downtime_blended,
                )
            )


@dataclass(frozen=True)
class _LeaseMonths:
    """Every month of every tenancy that falls in the analysis, as flat arrays (one entry
    per tenancy-month: a suite has at most one tenancy a month, so there are at most
    suites × months entries)."""

    tenancy: np.ndarray  # index into the tenancy list
    month: np.ndarray  # analysis month offset (0 = month 1)
    base: np.ndarray  # scheduled base rent, dollars
    free: np.ndarray  # the part of ``base`` that is free rent, dollars
    count: int  # number of tenancies

    def per_month(self, values: np.ndarray, horizon: int) -> np.ndarray:
        return np.bincount(self.month, weights=values, minlength=horizon).astype(float)

    def per_tenancy(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.tenancy, weights=values, minlength=self.count).astype(float)


def _lease_months(tenancies: list[_Tenancy], first: int, horizon: int) -> _LeaseMonths:
    """Base rent ``area · rent / 12 · (1 + escalation) ** (months since start // 12)`` in
    each month of each tenancy's term within the analysis, and its free months, computed
    in one array operation over all tenancy-months."""
    starts = np.array([t.start - first for t in tenancies], dtype=np.int64)
    ends = starts + np.array([t.months for t in tenancies], dtype=np.int64)  # exclusive
    low = np.clip(starts, 0, horizon)
    length = np.clip(ends, 0, horizon) - low
    length = np.maximum(length, 0)
    tenancy = np.repeat(np.arange(len(tenancies)), length)
    first_entry = np.cumsum(length) - length
    month = low[tenancy] + (np.arange(tenancy.size) - first_entry[tenancy])
    since = month - starts[tenancy]  # whole months since the tenancy's own start
    at_start = np.array([t.area_sf * t.rent_psf_annual / 12.0 for t in tenancies])
    escalation = np.array([t.escalation for t in tenancies], dtype=float)
    base = at_start[tenancy] * (1.0 + escalation[tenancy]) ** (since // 12)
    free_months = np.array([t.free_rent_months for t in tenancies], dtype=np.int64)
    free = np.where(since < free_months[tenancy], base, 0.0)
    return _LeaseMonths(tenancy=tenancy, month=month, base=base, free=free, count=len(tenancies))


def _building_months(
    deal: CommercialDeal, tenancies: list[_Tenancy], leases: _LeaseMonths, horizon: int
) -> dict[str, np.ndarray]:
    """The building's monthly columns (dollars), in the contract's order of operations."""
    first = month_index(deal.analysis_start)
    ti = np.zeros(horizon)
    lc = np.zeros(horizon)
    for t in tenancies:
        if t.generation > 0:  # successors start within the analysis by construction
            ti[t.start - first] += t.ti
            lc[t.start - first] += t.lc
    total_area = sum(lease.area_sf for lease in deal.leases)
    expense_index = (1.0 + deal.expense_growth) ** (np.arange(horizon) // 12)
    potential = leases.per_month(leases.base, horizon)
    free_rent = leases.per_month(leases.free, horizon)
    collected = potential - free_rent
    credit_loss = deal.credit_loss_rate * collected
    egi = collected - credit_loss
    opex = total_area * deal.opex_psf_annual / 12.0 * expense_index
    noi = egi - opex
    reserves = total_area * deal.reserves_psf_annual / 12.0 * expense_index
    return {
        "potential_base_rent": potential,
        "free_rent": free_rent,
        "collected_rent": collected,
        "credit_loss": credit_loss,
        "egi": egi,
        "opex": opex,
        "noi": noi,
        "ti": ti,
        "lc": lc,
        "reserves": reserves,
        "cfbd": noi - ti - lc - reserves,
    }


def _lease_audit(
    deal: CommercialDeal, tenancies: list[_Tenancy], leases: _LeaseMonths
) -> list[dict[str, Any]]:
    """One row per lease and successor: what a user needs to audit a roll-over."""
    base_in_analysis = leases.per_tenancy(leases.base)
    free_in_analysis = leases.per_tenancy(leases.free)
    months_in_analysis = np.bincount(leases.tenancy, minlength=leases.count)
    rows = []
    for k, t in enumerate(tenancies):
        lease = deal.leases[t.row]
        rows.append(
            {
                "suite": lease.suite if lease.suite is not None else f"#{t.row + 1}",
                "tenant": lease.tenant if t.generation == 0 else None,
                "row": t.row,
                "generation": t.generation,
                "kind": t.kind,
                "start": month_label(t.start),
                "end": month_label(t.end),
                "months": t.months,
                "months_in_analysis": int(months_in_analysis[k]),
                "downtime_months_before": t.downtime_months,
                "area_sf": t.area_sf,
                "rent_psf_annual": t.rent_psf_annual,
                "escalation": t.escalation,
                "renewal_probability": t.renewal_probability,
                "free_rent_months": t.free_rent_months,
                "base_rent_in_analysis": float(base_in_analysis[k]),
                "free_rent_in_analysis": float(free_in_analysis[k]),
                "ti": t.ti,
                "lc": t.lc,
            }
        )
    return rows


def analyse_commercial(deal: CommercialDeal) -> DealAnalysis:
    """The deal underwritten: monthly cash flows over years 1..N+1, their annual sums, the
    contract's metrics and every lease and successor for audit.

    ``metrics``: ``noi`` (years 1..N+1) and ``cfbd`` (1..N) as lists, ``reversion``,
    ``net_reversion``, ``dcf_value``, ``npv``, ``irr_unlevered`` (None, with the reason in
    ``notes``, when it does not exist), ``going_in_cap``, plus ``occupancy_year_1`` (share of
    area-months leased in year 1, free months included), ``total_area_sf``,
    ``price_per_sf``. ``cash_flows``: years 0..N+1 (operating columns 0 in year 0), the
    unlevered flow ``-(price + closing)`` at 0, CFBD to N, net reversion at N (0 in N+1).
    ``detail``: ``leases`` (see :func:`_lease_audit`) and ``monthly`` columns.

    Raises :class:`reos.errors.ValidationFailed` when the figures overflow (a rent roll
    with absurd magnitudes), never returning NaN or infinity."""
    n = deal.hold_years
    horizon = 12 * (n + 1)
    first = month_index(deal.analysis_start)
    market = _Market(deal.market, first, horizon)
    tenancies = [t for i, lease in enumerate(deal.leases) for t in market.chain(i, lease)]
    cost = deal.purchase_price + deal.closing_costs

    with np.errstate(all="ignore"):
        leases = _lease_months(tenancies, first, horizon)
        monthly = _building_months(deal, tenancies, leases, horizon)
        annual = {name: col.reshape(n + 1, 12).sum(axis=1) for name, col in monthly.items()}
        noi_years = annual["noi"]
        reversion = float(noi_years[n]) / deal.exit_cap_rate
        net_reversion = reversion * (1.0 - deal.selling_costs_rate)
        flows = [-cost, *(float(x) for x in annual["cfbd"][:n])]
        flows[n] += net_reversion
        dcf_value = finance.npv(deal.discount_rate, [0.0, *flows[1:]])
    finite = all(np.all(np.isfinite(col)) for col in annual.values())
    if not (finite and all(math.isfinite(x) for x in [*flows, reversion, dcf_value])):
        raise ValidationFailed(
            "the cash flows overflow: areas, rents, rates or escalations too large to compute "
            "(check the deal for a misplaced digit)",
            field="leases",
        )
    irr = finance.irr(flows)
    total_area = float(sum(lease.area_sf for lease in deal.leases))
    area = np.array([t.area_sf for t in tenancies], dtype=float)
    occupied = float(area[leases.tenancy[leases.month < 12]].sum())

    metrics: dict[str, Metric] = {
        "noi": [float(x) for x in noi_years],
        "cfbd": [float(x) for x in annual["cfbd"][:n]],
        "reversion": reversion,
        "net_reversion": net_reversion,
        "dcf_value": dcf_value,
        "npv": dcf_value - cost,
        "irr_unlevered": irr.value,
        "going_in_cap": float(noi_years[0]) / deal.purchase_price,
        "exit_cap_rate": deal.exit_cap_rate,
        "hold_years": n,
        "total_area_sf": total_area,
        "price_per_sf": deal.purchase_price / total_area,
        "occupancy_year_1": occupied / (total_area * 12.0),
    }
    notes = {} if irr.reason is None else {"irr_unlevered": irr.reason}

    cash_flows: dict[str, list[float]] = {"year": [float(y) for y in range(n + 2)]}
    for name, col in annual.items():
        cash_flows[name] = [0.0, *(float(x) for x in col)]
    cash_flows["net_reversion"] = [net_reversion if y == n else 0.0 for y in range(n + 2)]
    cash_flows["unlevered_cash_flow"] = [*flows, 0.0]

    detail: dict[str, Any] = {
        "leases": _lease_audit(deal, tenancies, leases),
        "monthly": {
            "month": [month_label(first + i) for i in range(horizon)],
            "year": [i // 12 + 1 for i in range(horizon)],
            **{name: col.tolist() for name, col in monthly.items()},
        },
    }
    return DealAnalysis(
        strategy="commercial",
        inputs=deal.model_dump(mode="json"),
        metrics=metrics,
        cash_flows=cash_flows,
        detail=detail,
        notes=notes,
    )
