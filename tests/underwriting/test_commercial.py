"""The commercial DCF against figures worked by hand, the contract's tricky readings one by
one, and the invariants any lease-by-lease DCF must keep."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction as F
from typing import Any

import pytest

from reos.errors import ValidationFailed
from reos.underwriting.commercial import (
    CommercialDeal,
    analyse_commercial,
    round_half_up,
)

CENT = 0.005  # agreement "to the cent": within half a cent


def deal(**overrides: Any) -> dict[str, Any]:
    """The worked example of :func:`test_worked_on_paper`, as a deal file."""
    base: dict[str, Any] = {
        "strategy": "commercial",
        "purchase_price": 700_000,
        "closing_costs": 14_000,
        "analysis_start": "2024-01",
        "hold_years": 2,
        "leases": [
            {
                "suite": "100",
                "tenant": "Acme",
                "area_sf": 1000,
                "rent_psf_annual": 24,
                "start": "2022-07",
                "end": "2025-03",
                "escalation": 0.03,
            },
            {
                "suite": "200",
                "tenant": "Bistro",
                "area_sf": 2000,
                "rent_psf_annual": 18,
                "start": "2024-04",
                "end": "2029-03",
                "escalation": 0.02,
            },
            {"suite": "300", "tenant": None, "area_sf": 500},
        ],
        "market": {
            "rent_psf_annual": 30,
            "rent_growth": 0.05,
            "renewal_probability": 0.9,
            "downtime_months": 5,
            "free_rent_months_new": 7,
            "free_rent_months_renew": 2,
            "ti_psf_new": 20,
            "ti_psf_renew": 5,
            "lc_rate_new": 0.06,
            "lc_rate_renew": 0.03,
            "term_years": 2,
            "escalation": 0.03,
        },
        "credit_loss_rate": 0.02,
        "opex_psf_annual": 6,
        "reserves_psf_annual": 0.25,
        "expense_growth": 0.03,
        "exit_cap_rate": 0.08,
        "selling_costs_rate": 0.02,
        "discount_rate": 0.09,
    }
    base.update(overrides)
    return base


def run(data: dict[str, Any]) -> Any:
    return analyse_commercial(CommercialDeal.model_validate(data))


def monthly(result: Any, column: str) -> list[float]:
    values: list[float] = result.detail["monthly"][column]
    return values


def test_worked_on_paper() -> None:
    """Two leases and a vacant suite over years 1..3 (hold 2 years), every month by hand.

    Month 1 = 2024-01, month 36 = 2026-12. Market: $30/sf/yr in year 1, +5%/yr; p = 0.9;
    downtime 5; free rent 7 new / 2 renew; TI $20 new / $5 renew; LC 6% new / 3% renew;
    2-year terms; 3% escalation. Blended: downtime round_half_up(0.1 · 5 = 0.5) = 1 month;
    free rent round_half_up(0.9 · 2 + 0.1 · 7 = 2.5) = 3 months; TI 0.9 · 5 + 0.1 · 20 =
    $6.50/sf; LC 0.9 · 0.03 + 0.1 · 0.06 = 3.3%.

    Suite 100, Acme, 1,000 sf, $24.00 at its own start 2022-07, +3%, ends 2025-03 (m15):
      m1-6 (2024-01..06): 18-23 months since start, k=1: 1000 · 24 · 1.03 / 12 = 2,060.00
      m7-15 (2024-07..2025-03): k=2: 1000 · 24 · 1.03² / 12 = 2,121.80
      m16 empty (blended downtime 1). Successor from m17 (2025-05, analysis year 2):
      $30 · 1.05 = $31.50 → 2,625.00/month m17-28, 2,703.75 m29-36 (its anniversary m29);
      free m17-19; TI 1000 · 6.50 = 6,500 and LC 0.033 · (12 · 2,625 + 12 · 2,703.75) =
      0.033 · 63,945 = 2,110.185, both in m17.
    Suite 200, Bistro, 2,000 sf, $18.00 from 2024-04 (m4) to 2029-03, +2%:
      m1-3 empty (starts after the analysis); m4-15: 3,000.00; m16-27: 3,060.00;
      m28-36: 3,121.20.
    Suite 300, vacant, 500 sf: first leased on new terms (p = 0) in month 1 + 5 = m6 at
      year-1 market $30: 1,250.00 m6-17, 1,287.50 m18-29 (ends 2026-05); free 7 months
      m6-12; TI 500 · 20 = 10,000, LC 0.06 · (15,000 + 15,450) = 1,827.00 in m6.
      m30 empty; successor (blended) from m31 (2026-07, year 3) at $30 · 1.05² = $33.075:
      1,378.125 m31-36, free m31-33; TI 3,250; LC 0.033 · 12 · 1,378.125 · (1 + 1.03) =
      1,107.847125 in m31.
    Opex 3,500 sf · $6 / 12 = 1,750/month in year 1, · 1.03^(y-1) after; reserves
    3,500 · 0.25 / 12 = 72.9166…; credit loss 2% of collected.

    Year 1: potential 6 · 2,060 + 6 · 2,121.80 + 9 · 3,000 + 7 · 1,250 = 60,840.80; free
    8,750; collected 52,090.80; credit loss 1,041.816; EGI 51,048.984; opex 21,000;
    NOI 30,048.984; CFBD = 30,048.984 − 10,000 − 1,827 − 875 = 17,346.984.
    Year 3 (N+1) as it stands: NOI 56,094.3215 → reversion / 0.08 = 701,179.01875.
    """
    months = range(1, 37)

    def acme(m: int) -> F:
        if m <= 6:
            return F(1000) * 24 * F("1.03") / 12
        if m <= 15:
            return F(1000) * 24 * F("1.03") ** 2 / 12
        return F(0)

    def acme_successor(m: int) -> tuple[F, F]:  # (base, free)
        if m < 17:
            return F(0), F(0)
        rent = F(1000) * F("31.5") / 12 * (F("1.03") if m >= 29 else 1)
        return rent, rent if m <= 19 else F(0)

    def bistro(m: int) -> F:
        if m < 4:
            return F(0)
        k = 0 if m <= 15 else 1 if m <= 27 else 2
        return F(2000) * 18 * F("1.02") ** k / 12

    def suite_300(m: int) -> tuple[F, F]:
        if 6 <= m <= 29:
            rent = F(500) * 30 / 12 * (F("1.03") if m >= 18 else 1)
            return rent, rent if m <= 12 else F(0)
        if m >= 31:
            rent = F(500) * 30 * F("1.05") ** 2 / 12
            return rent, rent if m <= 33 else F(0)
        return F(0), F(0)

    ti = {6: F(10000), 17: F(6500), 31: F(3250)}
    lc = {
        6: F("0.06") * (12 * F(1250) + 12 * F("1287.5")),
        17: F("0.033") * (12 * F(2625) + 12 * F("2703.75")),
        31: F("0.033") * 12 * (F(500) * F(30) * F("1.05") ** 2 / 12) * (1 + F("1.03")),
    }
    year: dict[str, list[F]] = {
        k: [F(0)] * 3
        for k in ("potential", "free", "collected", "egi", "opex", "noi", "cfbd", "ti", "lc")
    }
    for m in months:
        y = (m - 1) // 12
        a_base, a_free = acme_successor(m)
        c_base, c_free = suite_300(m)
        potential = acme(m) + a_base + bistro(m) + c_base
        free = a_free + c_free
        collected = potential - free
        egi = collected * (1 - F("0.02"))
        opex = F(3500) * 6 / 12 * F("1.03") ** y
        reserves = F(3500) * F("0.25") / 12 * F("1.03") ** y
        noi = egi - opex
        for key, value in (
            ("potential", potential),
            ("free", free),
            ("collected", collected),
            ("egi", egi),
            ("opex", opex),
            ("noi", noi),
            ("ti", ti.get(m, F(0))),
            ("lc", lc.get(m, F(0))),
            ("cfbd", noi - ti.get(m, F(0)) - lc.get(m, F(0)) - reserves),
        ):
            year[key][y] += value

    # the docstring's figures, by hand
    assert year["potential"][0] == F("60840.8")
    assert year["noi"][0] == F("30048.984")
    assert year["cfbd"][0] == F("17346.984")
    assert lc[17] == F("2110.185") and lc[31] == F("1107.847125")

    result = run(deal())
    columns = {
        "potential": "potential_base_rent",
        "free": "free_rent",
        "collected": "collected_rent",
        "egi": "egi",
        "opex": "opex",
        "noi": "noi",
        "ti": "ti",
        "lc": "lc",
        "cfbd": "cfbd",
    }
    for key, column in columns.items():
        for y in range(3):
            assert result.cash_flows[column][y + 1] == pytest.approx(float(year[key][y]), abs=CENT)

    noi = [float(x) for x in year["noi"]]
    cfbd = [float(x) for x in year["cfbd"][:2]]
    reversion = year["noi"][2] / F("0.08")
    net_reversion = reversion * F("0.98")
    assert reversion == F("701179.01875")
    flows = [F(-714_000), year["cfbd"][0], year["cfbd"][1] + net_reversion]
    dcf = flows[1] / F("1.09") + flows[2] / F("1.09") ** 2
    m = result.metrics
    assert m["noi"] == pytest.approx(noi, abs=CENT)
    assert m["cfbd"] == pytest.approx(cfbd, abs=CENT)
    assert m["reversion"] == pytest.approx(float(reversion), abs=CENT)
    assert m["net_reversion"] == pytest.approx(float(net_reversion), abs=CENT)
    assert m["dcf_value"] == pytest.approx(float(dcf), abs=CENT)
    assert m["npv"] == pytest.approx(float(dcf - 714_000), abs=CENT)
    assert m["going_in_cap"] == pytest.approx(float(year["noi"][0] / 700_000), abs=1e-9)
    # the IRR zeroes the exact NPV: -714,000 + c1 / (1 + r) + c2 / (1 + r)^2 = 0
    r = m["irr_unlevered"]
    assert isinstance(r, float)
    assert float(flows[0]) + float(flows[1]) / (1 + r) + float(flows[2]) / (1 + r) ** 2 == (
        pytest.approx(0, abs=1e-6)
    )
    # occupancy in year 1: Acme 12 months, Bistro 9, suite 300 7 of 3,500 sf · 12
    assert m["occupancy_year_1"] == pytest.approx((1000 * 12 + 2000 * 9 + 500 * 7) / 42000)

    # the audit table: every lease and successor with its months, rent, free rent, TI, LC
    rows = {(r["suite"], r["generation"]): r for r in result.detail["leases"]}
    assert set(rows) == {("100", 0), ("100", 1), ("200", 0), ("300", 1), ("300", 2)}
    successor = rows[("100", 1)]
    assert (successor["start"], successor["end"], successor["months"]) == ("2025-05", "2027-04", 24)
    assert successor["months_in_analysis"] == 20
    assert successor["rent_psf_annual"] == pytest.approx(31.5)
    assert successor["free_rent_months"] == 3
    assert successor["downtime_months_before"] == 1
    assert successor["base_rent_in_analysis"] == pytest.approx(12 * 2625 + 8 * 2703.75)
    assert successor["free_rent_in_analysis"] == pytest.approx(3 * 2625)
    assert successor["ti"] == pytest.approx(6500)
    assert successor["lc"] == pytest.approx(2110.185)
    first_lease = rows[("300", 1)]
    assert (first_lease["start"], first_lease["end"]) == ("2024-06", "2026-05")
    assert first_lease["renewal_probability"] == 0
    assert first_lease["free_rent_months"] == 7
    assert first_lease["lc"] == pytest.approx(1827)
    assert rows[("300", 2)]["start"] == "2026-07"
    assert rows[("300", 2)]["rent_psf_annual"] == pytest.approx(33.075)
    # the table's rows add up to the building's columns
    total_base = sum(r["base_rent_in_analysis"] for r in result.detail["leases"])
    assert total_base == pytest.approx(sum(result.cash_flows["potential_base_rent"]))


def test_the_table_is_the_one_the_metrics_came_from() -> None:
    result = run(deal())
    cf, m = result.cash_flows, result.metrics
    assert cf["year"] == [0, 1, 2, 3]
    assert all(len(col) == 4 for col in cf.values())
    assert cf["unlevered_cash_flow"][0] == -714_000
    assert cf["unlevered_cash_flow"][1] == m["cfbd"][0]  # type: ignore[index]
    assert cf["unlevered_cash_flow"][2] == pytest.approx(cf["cfbd"][2] + m["net_reversion"])
    assert m["noi"] == cf["noi"][1:]
    assert cf["net_reversion"] == [0, 0, m["net_reversion"], 0]
    json.dumps(result.as_json())  # every part is plain JSON


def test_inputs_are_returned_with_defaults_filled() -> None:
    data = deal()
    for key in ("closing_costs", "credit_loss_rate", "reserves_psf_annual", "expense_growth"):
        del data[key]
    del data["selling_costs_rate"], data["discount_rate"]
    data["market"] = {"rent_psf_annual": 30, "renewal_probability": 0.7, "term_years": 5}
    inputs = run(data).inputs
    assert inputs["closing_costs"] == 0
    assert inputs["credit_loss_rate"] == 0
    assert inputs["reserves_psf_annual"] == 0
    assert inputs["expense_growth"] == 0.03
    assert inputs["selling_costs_rate"] == 0.02
    assert inputs["discount_rate"] == 0.10
    assert inputs["market"]["rent_growth"] == 0.03
    assert inputs["market"]["downtime_months"] == 0
    assert inputs["market"]["escalation"] == 0
    assert inputs["leases"][0]["free_rent_months"] == 0
    json.dumps(inputs)


# --- round_half_up of blended months ------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("0.5", 1), ("4.5", 5), ("2.5", 3), ("2.49", 2)])
def test_round_half_up(value: str, expected: int) -> None:
    assert round_half_up(Decimal(value)) == expected


def one_lease(end: str, **market: Any) -> dict[str, Any]:
    """A one-suite building whose lease ends at ``end``; the market as given."""
    return deal(
        leases=[
            {
                "suite": "A",
                "tenant": "T",
                "area_sf": 1200,
                "rent_psf_annual": 20,
                "start": "2023-01",
                "end": end,
            }
        ],
        market={"rent_psf_annual": 30, "renewal_probability": 0.5, "term_years": 5, **market},
    )


@pytest.mark.parametrize(
    ("p", "downtime", "gap"),
    [(0.9, 5, 1), (0.5, 9, 5), (0.5, 5, 3), (0.75, 2, 1), (1.0, 7, 0), (0.0, 4, 4)],
)
def test_blended_downtime_rounds_half_up_exactly(p: float, downtime: int, gap: int) -> None:
    """(1 − 0.9) · 5 is 0.49999999999999994 in floats; in decimals it is 0.5 and gives 1."""
    result = run(one_lease("2024-06", renewal_probability=p, downtime_months=downtime))
    successor = result.detail["leases"][1]
    assert successor["downtime_months_before"] == gap
    # 2024-06 is month 6; the successor starts in month 7 + gap
    first = 7 + gap
    assert successor["start"] == (f"2024-{first:02d}" if first <= 12 else f"2025-{first - 12:02d}")
    rent = monthly(result, "potential_base_rent")
    assert all(x == 0 for x in rent[6 : 6 + gap])
    assert rent[6 + gap] == pytest.approx(1200 * 30 / 12)


@pytest.mark.parametrize(
    ("p", "renew", "new", "free"), [(0.5, 2, 3, 3), (0.9, 0, 5, 1), (0.5, 4, 5, 5), (0.1, 10, 0, 1)]
)
def test_blended_free_rent_rounds_half_up_exactly(
    p: float, renew: int, new: int, free: int
) -> None:
    market = {"free_rent_months_renew": renew, "free_rent_months_new": new}
    result = run(one_lease("2024-06", renewal_probability=p, **market))
    assert result.detail["leases"][1]["free_rent_months"] == free
    free_rent = monthly(result, "free_rent")
    assert free_rent[6 : 6 + free] == pytest.approx([1200 * 30 / 12] * free)
    assert free_rent[6 + free] == 0


# --- rents, escalations and roll-overs ----------------------------------------------------


def test_in_place_lease_escalates_on_its_own_anniversaries() -> None:
    """Started 2021-09 at $20; at 2024-01 it is 28 months old (two steps); it steps again
    in 2024-09, 2025-09, ... Its rent at analysis start is not its rent_psf_annual."""
    data = deal(
        leases=[
            {
                "tenant": "Old",
                "area_sf": 1200,
                "rent_psf_annual": 20,
                "start": "2021-09",
                "end": "2030-08",
                "escalation": 0.04,
            }
        ],
        hold_years=3,
    )
    rent = monthly(run(data), "potential_base_rent")
    per_month = [1200 * 20 / 12 * 1.04 ** ((28 + i) // 12) for i in range(48)]
    assert rent == pytest.approx(per_month, abs=1e-9)
    assert rent[7] == pytest.approx(2000 * 1.04**2)  # 2024-08
    assert rent[8] == pytest.approx(2000 * 1.04**3)  # 2024-09: its anniversary


def test_successor_gets_the_market_rent_of_the_analysis_year() -> None:
    """The analysis starts 2024-07: 2025-06 is month 12 (analysis year 1, although calendar
    2025) and 2025-07 is month 13 (year 2)."""
    market = {
        "rent_psf_annual": 30,
        "rent_growth": 0.10,
        "renewal_probability": 1.0,
        "term_years": 3,
    }
    leases = [
        {"suite": "A", "tenant": "x", "area_sf": 100, "rent_psf_annual": 10, "start": "2024-01"}
        | {"end": "2025-05"},
        {"suite": "B", "tenant": "y", "area_sf": 100, "rent_psf_annual": 10, "start": "2024-01"}
        | {"end": "2025-06"},
    ]
    result = run(deal(analysis_start="2024-07", leases=leases, market=market, hold_years=3))
    successors = {r["suite"]: r for r in result.detail["leases"] if r["generation"] == 1}
    assert successors["A"]["start"] == "2025-06"
    assert successors["A"]["rent_psf_annual"] == pytest.approx(30.0)
    assert successors["B"]["start"] == "2025-07"
    assert successors["B"]["rent_psf_annual"] == pytest.approx(33.0)
    # no monthly growth within the year: flat until the successor's own anniversary
    rent = monthly(result, "potential_base_rent")
    assert rent[11] == pytest.approx(100 * 30 / 12 + 100 * 10 / 12)
    assert rent[12:23] == pytest.approx([100 * 30 / 12 + 100 * 33 / 12] * 11)


def test_lease_starting_after_analysis_start_leaves_its_suite_empty_until_then() -> None:
    data = deal(
        leases=[
            {
                "tenant": "Late",
                "area_sf": 1000,
                "rent_psf_annual": 24,
                "start": "2024-05",
                "end": "2027-04",
            }
        ],
    )
    result = run(data)
    rent = monthly(result, "potential_base_rent")
    assert rent[:4] == [0, 0, 0, 0]  # no lease-up of the gap, no TI, no LC
    assert rent[4] == pytest.approx(2000)
    assert sum(result.cash_flows["ti"]) == 0 and sum(result.cash_flows["lc"]) == 0
    assert result.metrics["occupancy_year_1"] == pytest.approx(8 / 12)


def test_successors_roll_over_again() -> None:
    """One-year market terms: the suite rolls every 12 + 1 months (p = 0.5, downtime 2 →
    round_half_up(1.0) = 1), each successor at its own start year's market rent."""
    data = one_lease(
        "2024-03",
        renewal_probability=0.5,
        downtime_months=2,
        term_years=1,
        rent_growth=0.1,
        ti_psf_new=10,
        lc_rate_new=0.04,
    )
    data["hold_years"] = 4
    result = run(data)
    rows = result.detail["leases"]
    starts = [r["start"] for r in rows]
    # month 3 ends; successors in months 5, 18, 31, 44, 57 (all within 60 months)
    assert starts == ["2023-01", "2024-05", "2025-06", "2026-07", "2027-08", "2028-09"]
    assert [r["generation"] for r in rows] == [0, 1, 2, 3, 4, 5]
    years = [1, 2, 3, 4, 5]
    assert [r["rent_psf_annual"] for r in rows[1:]] == pytest.approx(
        [30 * 1.1 ** (y - 1) for y in years]
    )
    ti = result.cash_flows["ti"][1:]
    assert ti == pytest.approx([1200 * 5] * 5)  # one successor's TI per year, blended 0.5 · 10
    for r in rows[1:]:  # LC: blended 2% of 12 months' scheduled rent
        assert r["lc"] == pytest.approx(0.02 * 1200 * r["rent_psf_annual"])


def test_leasing_commission_counts_the_whole_term_and_ignores_free_rent() -> None:
    """A 5-year successor starting late in the analysis: its LC is on 60 months of
    scheduled rent (past the table's end), with free months counted as rent."""
    data = one_lease(
        "2025-06",
        renewal_probability=0.0,
        lc_rate_new=0.05,
        free_rent_months_new=6,
        escalation=0.03,
        rent_growth=0.0,
    )
    successor = run(data).detail["leases"][1]
    scheduled = sum(1200 * 30 / 12 * 1.03 ** (i // 12) for i in range(60))
    assert successor["lc"] == pytest.approx(0.05 * scheduled)
    assert successor["months_in_analysis"] == 36 - 18


def test_year_after_the_hold_is_taken_as_it_stands() -> None:
    """A roll-over in year N+1 with downtime and free rent lowers NOI_{N+1}, and so the
    reversion; nothing is normalised."""
    stable = run(one_lease("2030-12"))
    rolling = run(
        one_lease("2026-02", downtime_months=4, free_rent_months_renew=3, free_rent_months_new=3)
    )
    assert stable.metrics["noi"][2] > rolling.metrics["noi"][2]  # type: ignore[index]
    # in year 3 (months 25-36): 2 months of the old lease, 2 empty, 3 free, 5 paying
    rent = 1200 * 20 / 12
    market = 1200 * 30 * 1.03**2 / 12
    assert rolling.cash_flows["collected_rent"][3] == pytest.approx(2 * rent + 5 * market)
    noi3 = rolling.metrics["noi"][2]  # type: ignore[index]
    assert rolling.metrics["reversion"] == pytest.approx(noi3 / 0.08)


def test_lease_own_free_rent_counts_from_its_own_start() -> None:
    data = deal(
        leases=[
            {
                "tenant": "New",
                "area_sf": 1200,
                "rent_psf_annual": 20,
                "start": "2023-11",
                "end": "2028-10",
                "free_rent_months": 4,
            }
        ]
    )
    free = monthly(run(data), "free_rent")
    # 2023-11 and 2023-12 were free before the analysis; 2024-01 and 2024-02 still are
    assert free[:2] == [2000, 2000]
    assert free[2] == 0


def test_an_irr_that_does_not_exist_is_missing_with_a_reason() -> None:
    result = run(deal(opex_psf_annual=100))  # every flow negative
    assert result.metrics["irr_unlevered"] is None
    assert "sign" in result.notes["irr_unlevered"]


def test_figures_that_overflow_are_refused_not_returned_as_nan() -> None:
    data = deal()
    data["leases"][0] = {**data["leases"][0], "area_sf": 1e306, "rent_psf_annual": 1e10}
    with pytest.raises(ValidationFailed, match="overflow"):
        run(data)


def test_a_long_hold_stays_light() -> None:
    """Tenancy-months, not tenancies × months: 100 years of 3-year roll-overs of 50 suites
    are ~1,700 tenancies but only 50 · 1,212 tenancy-months."""
    data = one_lease("2024-06", term_years=3, downtime_months=0)
    data["leases"] = [dict(data["leases"][0], suite=f"S{i}") for i in range(50)]
    data["hold_years"] = 100
    result = run(data)
    assert len(result.detail["leases"]) == 50 * (1 + 34)  # months 7..1212 in 36-month terms
    assert sum(r["months_in_analysis"] for r in result.detail["leases"]) == 50 * 1212


def test_a_computed_probability_is_read_as_the_decimal_it_means() -> None:
    """A sweep's 1.1 − 0.2 is 0.9000000000000001 in floats, and (1 − p) · 5 then falls just
    short of the half; read as the 0.9 it means, the blended downtime rounds to 1."""
    p = 1.1 - 0.2
    assert p > 0.9 and (1 - p) * 5 < 0.5
    result = run(one_lease("2024-06", renewal_probability=p, downtime_months=5))
    assert result.detail["leases"][1]["downtime_months_before"] == 1
