"""Rental underwriting (single-family or small multifamily), exactly as the contract's
"Rental" section (``shared/reference/underwriting.md``) defines it.

The annual cash flows are built once (years 1..N, plus year N+1 for the forward NOI a sale
at an exit cap is priced on) and every metric is derived from those lists, so the table a
user sees is the one the metrics came from. Nothing is rounded: payments, balances and
flows are full floats; rounding is for display only.

Where the contract is silent (each choice is what a DealCheck user would expect):

- ``net_sale`` is the contract's "net sale": sale price less selling costs less the loan
  balance after 12·N payments (the cash the investor walks away with at the sale).
- ``exit_noi`` is NOI_{N+1}, reported whether or not an exit cap prices the sale; with an
  exit cap, ``detail["exit_year"]`` is that year's row (GPR, EGI, expenses, NOI, sale
  price), so the sale price can be audited like the years of the hold.
- ``cash_on_cash`` and ``equity_multiple`` are null when the equity is 0 (a 100% loan with
  no closing costs or rehab): a return on no cash is not a number.
- ``grm`` is null without rent and ``break_even_ratio`` null without income (EGI_1 = 0).
- ``price_to_arv`` = purchase_price / after_repair_value (null without an ARV): the figure
  the ``max_price_to_arv`` offer constraint reads.
- An amortisation must be a whole number of months (``12 · amort_years``); a payoff part
  way through a year pays only the months left that year.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from reos.underwriting.analysis import DealAnalysis, Metric
from reos.underwriting.finance import irr, loan_balances, monthly_payment, npv
from reos.underwriting.inputs import MAX_MONEY, DealModel


class RentalLoan(DealModel):
    """A fully amortising mortgage sized as a share of the purchase price."""

    ltv: float = Field(ge=0, le=1, description="loan-to-value: loan amount / purchase price")
    rate: float = Field(ge=0, le=1, description="annual nominal rate, compounded monthly")
    amort_years: float = Field(gt=0, le=50, description="amortisation term in years")
    points: float = Field(
        0.0, ge=0, le=1, description="fee as a fraction of the loan amount, paid at closing"
    )

    @field_validator("amort_years")
    @classmethod
    def _whole_months(cls, value: float) -> float:
        if abs(12 * value - round(12 * value)) > 1e-9:
            raise ValueError("must be a whole number of months (12 × amort_years a whole number)")
        if round(12 * value) < 1:
            raise ValueError("must be at least one monthly payment (1/12 of a year)")
        return value


class RentalDeal(DealModel):
    """A rental deal file; every default is the contract's."""

    strategy: Literal["rental"] = "rental"
    purchase_price: float = Field(gt=0, le=MAX_MONEY)
    closing_costs: float = Field(0.0, ge=0, le=MAX_MONEY)
    rehab_cost: float = Field(0.0, ge=0, le=MAX_MONEY, description="paid at purchase")
    after_repair_value: float | None = Field(None, gt=0, le=MAX_MONEY)
    gross_rent_monthly: float = Field(ge=0, le=MAX_MONEY)
    other_income_monthly: float = Field(0.0, ge=0, le=MAX_MONEY)
    vacancy_rate: float = Field(0.05, ge=0, le=1, description="of gross potential rent only")
    property_tax_annual: float = Field(ge=0, le=MAX_MONEY)
    insurance_annual: float = Field(ge=0, le=MAX_MONEY)
    hoa_monthly: float = Field(0.0, ge=0, le=MAX_MONEY)
    utilities_monthly: float = Field(0.0, ge=0, le=MAX_MONEY, description="owner-paid")
    management_rate: float = Field(0.0, ge=0, le=1, description="of effective gross income")
    maintenance_rate: float = Field(0.0, ge=0, le=1, description="of effective gross income")
    capex_rate: float = Field(0.0, ge=0, le=1, description="of effective gross income")
    loan: RentalLoan | None = None
    hold_years: int = Field(10, ge=1, le=100)
    rent_growth: float = Field(0.03, gt=-1, le=1)
    expense_growth: float = Field(0.03, gt=-1, le=1)
    appreciation: float = Field(0.03, gt=-1, le=1)
    exit_cap_rate: float | None = Field(None, gt=0, le=1)
    selling_costs_rate: float = Field(0.06, ge=0, le=1)
    discount_rate: float = Field(0.10, gt=-1, le=1)

    @model_validator(mode="after")
    def _variable_expenses_below_income(self) -> RentalDeal:
        """Management, maintenance and capex together are a share of EGI; above 100% the
        property would spend more than it collects on them alone (and NOI would rise as
        vacancy rises)."""
        total = self.management_rate + self.maintenance_rate + self.capex_rate
        if total > 1:
            raise ValueError(
                f"management_rate + maintenance_rate + capex_rate: {total:g} — together they "
                "must be at most 1 (100% of effective gross income)"
            )
        return self


def analyse_rental(deal: RentalDeal) -> DealAnalysis:
    """Underwrite a rental: annual flows for years 0..N and the contract's metrics.

    Year t (1..N, and N+1 for the forward NOI), growth from year 2:
    GPR_t = 12·rent·(1+rent_growth)^(t-1); EGI_t = GPR_t·(1-vacancy) + 12·other·(1+g)^(t-1);
    fixed_t = (tax + insurance + 12·hoa + 12·utilities)·(1+expense_growth)^(t-1);
    variable_t = (management + maintenance + capex)·EGI_t; NOI_t = EGI_t - fixed_t -
    variable_t; DS_t = the monthly payments made in year t; CF_t = NOI_t - DS_t."""
    n = deal.hold_years
    rent_factor = 1.0 + deal.rent_growth
    expense_factor = 1.0 + deal.expense_growth
    fixed_base = (
        deal.property_tax_annual
        + deal.insurance_annual
        + 12.0 * deal.hoa_monthly
        + 12.0 * deal.utilities_monthly
    )
    variable_rate = deal.management_rate + deal.maintenance_rate + deal.capex_rate

    loan = deal.loan
    loan_amount = loan.ltv * deal.purchase_price if loan is not None else 0.0
    if loan is not None and loan_amount > 0:
        payment = monthly_payment(loan_amount, loan.rate, loan.amort_years)
        n_payments = round(12 * loan.amort_years)
        points_cost = loan.points * loan_amount
    else:
        payment, n_payments, points_cost = 0.0, 0, 0.0

    gpr: list[float] = []
    egi: list[float] = []
    fixed: list[float] = []
    variable: list[float] = []
    noi: list[float] = []
    for t in range(1, n + 2):
        growth = rent_factor ** (t - 1)
        gpr_t = 12.0 * deal.gross_rent_monthly * growth
        egi_t = gpr_t * (1.0 - deal.vacancy_rate) + 12.0 * deal.other_income_monthly * growth
        fixed_t = fixed_base * expense_factor ** (t - 1)
        variable_t = variable_rate * egi_t
        gpr.append(gpr_t)
        egi.append(egi_t)
        fixed.append(fixed_t)
        variable.append(variable_t)
        noi.append(egi_t - fixed_t - variable_t)

    debt_service = [payment * max(0, min(12, n_payments - 12 * (t - 1))) for t in range(1, n + 1)]
    cash_flow = [noi[i] - debt_service[i] for i in range(n)]
    if loan is not None and loan_amount > 0:
        balances = loan_balances(
            loan_amount, loan.rate, loan.amort_years, [12 * t for t in range(n + 1)], payment
        )
    else:
        balances = [0.0] * (n + 1)

    equity = deal.purchase_price - loan_amount + deal.closing_costs + deal.rehab_cost + points_cost
    all_in = deal.purchase_price + deal.closing_costs + deal.rehab_cost
    if deal.exit_cap_rate is not None:
        sale_price = noi[n] / deal.exit_cap_rate
    else:
        basis = deal.after_repair_value or deal.purchase_price
        sale_price = basis * (1.0 + deal.appreciation) ** n
    sale_after_costs = sale_price * (1.0 - deal.selling_costs_rate)
    net_sale = sale_after_costs - balances[n]

    levered = [-equity, *cash_flow]
    levered[n] += net_sale
    unlevered = [-all_in, *noi[:n]]
    unlevered[n] += sale_after_costs

    notes: dict[str, str] = {}
    has_loan = loan_amount > 0

    def ratio(name: str, top: float, bottom: float, ok: bool, why: str) -> float | None:
        if ok and bottom != 0:
            return top / bottom
        notes[name] = why
        return None

    levered_irr = irr(levered)
    unlevered_irr = irr(unlevered)
    if levered_irr.value is None:
        notes["irr_levered"] = levered_irr.reason or "no IRR"
    if unlevered_irr.value is None:
        notes["irr_unlevered"] = unlevered_irr.reason or "no IRR"
    no_loan = "no loan (a cash deal or ltv 0), so there is no debt service"
    no_equity = "the equity is 0, so a return on it is not a number"
    metrics: dict[str, Metric] = {
        "noi": noi[0],
        "cap_rate": noi[0] / deal.purchase_price,
        "cash_on_cash": ratio("cash_on_cash", cash_flow[0], equity, equity > 0, no_equity),
        "dscr": ratio("dscr", noi[0], debt_service[0], has_loan, no_loan),
        "debt_yield": ratio("debt_yield", noi[0], loan_amount, has_loan, no_loan),
        "grm": ratio("grm", deal.purchase_price, gpr[0], gpr[0] > 0, "no rent, so no GRM"),
        "break_even_ratio": ratio(
            "break_even_ratio",
            fixed[0] + variable[0] + debt_service[0],
            egi[0],
            egi[0] > 0,
            "no effective gross income in year 1",
        ),
        "monthly_cash_flow": cash_flow[0] / 12.0,
        "sale_price": sale_price,
        "net_sale": net_sale,
        "irr_levered": levered_irr.value,
        "npv_levered": npv(deal.discount_rate, levered),
        "equity_multiple": ratio(
            "equity_multiple", sum(levered[1:]), equity, equity > 0, no_equity
        ),
        "irr_unlevered": unlevered_irr.value,
        "npv_unlevered": npv(deal.discount_rate, unlevered),
        "equity": equity,
        "loan_amount": loan_amount,
        "monthly_payment": payment,
        "debt_service": debt_service[0],
        "loan_balance_at_sale": balances[n],
        "exit_noi": noi[n],
        "price_to_arv": ratio(
            "price_to_arv",
            deal.purchase_price,
            deal.after_repair_value or 0.0,
            deal.after_repair_value is not None,
            "no after_repair_value in the deal",
        ),
    }
    zero = [0.0]
    cash_flows = {
        "year": [float(t) for t in range(n + 1)],
        "gpr": zero + gpr[:n],
        "egi": zero + egi[:n],
        "fixed_expenses": zero + fixed[:n],
        "variable_expenses": zero + variable[:n],
        "noi": zero + noi[:n],
        "debt_service": zero + debt_service,
        "cash_flow": zero + cash_flow,
        "levered_flow": levered,
        "unlevered_flow": unlevered,
        "loan_balance": balances,
    }
    detail: dict[str, object] = {}
    if deal.exit_cap_rate is not None:
        # the year after the hold, whose NOI prices the sale at the exit cap
        detail["exit_year"] = [
            {
                "year": n + 1,
                "gpr": gpr[n],
                "egi": egi[n],
                "fixed_expenses": fixed[n],
                "variable_expenses": variable[n],
                "noi": noi[n],
                "sale_price": sale_price,
            }
        ]
    return DealAnalysis(
        strategy="rental",
        inputs=deal.model_dump(mode="json"),
        metrics=metrics,
        cash_flows=cash_flows,
        detail=detail,
        notes=notes,
    )
