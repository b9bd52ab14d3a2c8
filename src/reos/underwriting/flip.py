"""Flip underwriting, exactly as the contract's "Flip" section
(``shared/reference/underwriting.md``) defines it: buy, renovate, hold a few months, sell at
the after-repair value.

Where the contract is silent (each choice is what a DealCheck user would expect):

- ``cash_flows`` is the investor's cash at the two moments a flip has: month 0, the cash
  invested (everything but selling costs, less the loan), and the sale month, the ARV less
  selling costs less the loan repaid. The two add up to ``profit``.
- ``price_to_arv`` = purchase_price / arv (what ``max_price_to_arv`` reads) and ``mao_margin``
  = mao - purchase_price (how far under the rule's maximum the price is).
- ``roi`` and ``annualized_roi`` are both null when cash_invested ≤ 0 or roi ≤ -1, as the
  contract says; ``holding_months`` may be fractional (it only scales costs and the
  annualising exponent 12 / holding_months).
- ``discount_rate`` is not a flip input (a flip has no NPV), so a flip file naming it is
  refused like any unknown field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reos.underwriting.analysis import DealAnalysis, Metric
from reos.underwriting.inputs import MAX_MONEY, DealModel


class FlipLoan(DealModel):
    """An interest-only loan of a fixed dollar amount, repaid at the sale."""

    amount: float = Field(ge=0, le=MAX_MONEY)
    rate: float = Field(ge=0, le=1, description="annual, interest only")
    points: float = Field(0.0, ge=0, le=1, description="fee as a fraction of the amount")


class FlipDeal(DealModel):
    """A flip deal file; every default is the contract's."""

    strategy: Literal["flip"] = "flip"
    arv: float = Field(gt=0, le=MAX_MONEY, description="after-repair value: the sale price")
    purchase_price: float = Field(gt=0, le=MAX_MONEY)
    closing_costs: float = Field(0.0, ge=0, le=MAX_MONEY)
    rehab_cost: float = Field(ge=0, le=MAX_MONEY)
    holding_months: float = Field(gt=0, le=600)
    holding_costs_monthly: float = Field(
        0.0, ge=0, le=MAX_MONEY, description="taxes, insurance, utilities"
    )
    selling_costs_rate: float = Field(0.06, ge=0, le=1)
    loan: FlipLoan | None = None
    mao_rule: float = Field(0.70, ge=0, le=1, description="the 70% rule's share of ARV")
    wholesale_fee: float = Field(0.0, ge=0, le=MAX_MONEY, description="lowers the MAO only")


def analyse_flip(deal: FlipDeal) -> DealAnalysis:
    """Underwrite a flip: ``mao = arv·mao_rule - rehab - wholesale_fee``; financing =
    amount·rate/12·months + points·amount; holding = monthly·months; selling =
    arv·selling_costs_rate; profit = arv - (price + closing + rehab + holding + financing +
    selling); cash invested = price + closing + rehab + holding + financing - amount;
    roi = profit / cash invested; annualized = (1 + roi)^(12 / months) - 1."""
    months = deal.holding_months
    amount = deal.loan.amount if deal.loan is not None else 0.0
    rate = deal.loan.rate if deal.loan is not None else 0.0
    points = deal.loan.points if deal.loan is not None else 0.0
    financing_cost = amount * rate / 12.0 * months + points * amount
    holding_cost = deal.holding_costs_monthly * months
    selling_costs = deal.arv * deal.selling_costs_rate
    total_cost = (
        deal.purchase_price
        + deal.closing_costs
        + deal.rehab_cost
        + holding_cost
        + financing_cost
        + selling_costs
    )
    profit = deal.arv - total_cost
    cash_invested = (
        deal.purchase_price
        + deal.closing_costs
        + deal.rehab_cost
        + holding_cost
        + financing_cost
        - amount
    )
    notes: dict[str, str] = {}
    roi: float | None = None
    annualized: float | None = None
    if cash_invested <= 0:
        why = "no cash is invested (the loan covers every cost), so a return on it is not a number"
        notes["roi"] = notes["annualized_roi"] = why
    elif profit / cash_invested <= -1:
        why = "the loss is at least the whole cash invested (roi ≤ -100%)"
        notes["roi"] = notes["annualized_roi"] = why
    else:
        roi = profit / cash_invested
        try:
            annualized = (1.0 + roi) ** (12.0 / months) - 1.0
        except OverflowError:
            notes["annualized_roi"] = "too large to be a number (a tiny stake over a short hold)"
    mao = deal.arv * deal.mao_rule - deal.rehab_cost - deal.wholesale_fee
    metrics: dict[str, Metric] = {
        "mao": mao,
        "mao_margin": mao - deal.purchase_price,
        "financing_cost": financing_cost,
        "holding_cost": holding_cost,
        "selling_costs": selling_costs,
        "total_cost": total_cost,
        "profit": profit,
        "cash_invested": cash_invested,
        "roi": roi,
        "annualized_roi": annualized,
        "loan_amount": amount,
        "price_to_arv": deal.purchase_price / deal.arv,
    }
    cash_flows = {
        "month": [0.0, float(months)],
        "cash_flow": [-cash_invested, deal.arv - selling_costs - amount],
    }
    return DealAnalysis(
        strategy="flip",
        inputs=deal.model_dump(mode="json"),
        metrics=metrics,
        cash_flows=cash_flows,
        notes=notes,
    )
