"""Time value of money for underwriting: payments, balances, NPV and IRR.

Every figure here follows ``shared/reference/underwriting.md`` ("Common"): a fully
amortising monthly payment ``L * r / (1 - (1 + r) ** -n)`` with ``r = rate / 12`` and
``n = 12 * amort_years`` (``L / n`` at a zero rate), end-of-period discounting with the
first flow undiscounted, and no intermediate rounding. The arithmetic is numpy-financial's
(``pmt``, ``fv``, ``npv``); this module adds what a deal needs on top: a loan balance that is
exactly zero once the loan is paid off, and an IRR that is reported as missing, with the
reason, when it does not exist (no sign change) or is not unique (several rates make the
NPV zero), instead of a number picked among several.

Pure: floats in, floats out; no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy_financial as npf

#: An IRR is solved until |NPV| at the rate is below this share of the flows' size.
IRR_TOLERANCE = 1e-12

#: Below this r·n (monthly rate times payments) numpy-financial's ``(1 + r)^n - 1`` loses
#: its digits to cancellation (at r = 1e-17 it divides by zero); the same formulas are then
#: computed with ``expm1``/``log1p``, which keep them.
NEAR_ZERO_RATE = 1e-3

#: A root of the NPV polynomial whose imaginary part is below this (relative) is real.
_IMAGINARY = 1e-9


def monthly_payment(amount: float, annual_rate: float, amort_years: float) -> float:
    """The level monthly payment that repays ``amount`` over ``amort_years`` (dollars).

    ``annual_rate`` is nominal, compounded monthly (``r = rate / 12``); at 0 the payment is
    ``amount / n``."""
    n = round(12 * amort_years)
    if n <= 0:
        raise ValueError("amort_years must be positive")
    if amount == 0:
        return 0.0
    r = annual_rate / 12
    if 0 < r * n < NEAR_ZERO_RATE:
        grown = math.expm1(n * math.log1p(r))  # (1 + r)^n - 1, accurate for a tiny r
        return amount * r * (grown + 1) / grown
    return float(npf.pmt(r, n, -amount))


def _tiny_rate_balance(amount: float, r: float, pmt: float, k: int) -> float:
    """L·(1+r)^k - pmt·((1+r)^k - 1)/r without the cancellation a tiny r suffers."""
    return amount * math.exp(k * math.log1p(r)) - pmt * math.expm1(k * math.log1p(r)) / r


def loan_balance(amount: float, annual_rate: float, amort_years: float, payments: int) -> float:
    """What is still owed after ``payments`` monthly payments (dollars).

    Exactly 0 once every payment is made (a loan shorter than the hold is paid off), and
    ``amount`` before the first."""
    n = round(12 * amort_years)
    if payments <= 0:
        return float(amount)
    if payments >= n or amount == 0:
        return 0.0
    pmt = monthly_payment(amount, annual_rate, amort_years)
    r = annual_rate / 12
    if 0 < r * n < NEAR_ZERO_RATE:
        return _tiny_rate_balance(amount, r, pmt, payments)
    with np.errstate(divide="ignore", invalid="ignore"):  # fv evaluates its rate-0 branch too
        return float(-npf.fv(r, payments, -pmt, amount))


def loan_balances(
    amount: float,
    annual_rate: float,
    amort_years: float,
    payments: Sequence[int],
    payment: float | None = None,
) -> list[float]:
    """:func:`loan_balance` after each count in ``payments``, from one payment computation
    (numpy-financial's ``fv`` over an array of periods): an underwriting needs the balance
    at every year end, and computing the payment once per year end cost more than the rest
    of a rental underwriting together. ``payment`` is :func:`monthly_payment` of the same
    loan when the caller has it already."""
    n = round(12 * amort_years)
    counts = np.asarray(payments, dtype=float)
    if amount == 0 or counts.size == 0:
        return [0.0 if c > 0 else float(amount) for c in counts]
    pmt = monthly_payment(amount, annual_rate, amort_years) if payment is None else payment
    r = annual_rate / 12
    if 0 < r * n < NEAR_ZERO_RATE:
        return [
            float(amount)
            if c <= 0
            else 0.0
            if c >= n
            else _tiny_rate_balance(amount, r, pmt, int(c))
            for c in counts
        ]
    with np.errstate(divide="ignore", invalid="ignore"):  # fv evaluates its rate-0 branch too
        owed = -npf.fv(annual_rate / 12, np.clip(counts, 0, n), -pmt, amount)
    return [
        float(amount) if c <= 0 else 0.0 if c >= n else float(b)
        for c, b in zip(counts, np.atleast_1d(owed), strict=True)
    ]


def npv(rate: float, flows: Sequence[float]) -> float:
    """Net present value of ``flows`` at ``rate`` per period; ``flows[0]`` is undiscounted."""
    return float(npf.npv(rate, np.asarray(flows, dtype=float)))


@dataclass(frozen=True)
class Irr:
    """An internal rate of return, or why there is none.

    ``value`` is the rate per period (a fraction) when exactly one rate above -100% makes
    the NPV of the flows zero; otherwise ``value`` is None and ``reason`` says why."""

    value: float | None
    reason: str | None = None


def irr(flows: Sequence[float]) -> Irr:
    """The IRR of ``flows`` (one per period, ``flows[0]`` at time 0), solved to 1e-12.

    The NPV is a polynomial in ``x = 1 / (1 + r)``; its positive real roots are the
    candidate rates. One sign change in the flows guarantees exactly one such root
    (Descartes' rule of signs); with several, more than one rate may zero the NPV, and then
    the IRR is not a meaningful number and is reported missing."""
    values = [float(f) for f in flows]
    if len(values) < 2 or not all(math.isfinite(f) for f in values):
        return Irr(None, "the cash flows are not finite numbers over at least two periods")
    nonzero = [f for f in values if f != 0]
    changes = sum(1 for a, b in zip(nonzero, nonzero[1:], strict=False) if (a > 0) != (b > 0))
    if changes == 0:
        return Irr(None, "the cash flows never change sign, so no rate makes their NPV zero")
    if changes == 1:
        x = _only_positive_root(values)
        if x is None:  # the one root lies beyond x = 2**64: r = 1/x - 1 is -1.0 in floats
            return Irr(-1.0)
        rate = 1.0 / x - 1.0
        if len(values) <= 64 and -0.5 < rate < 10.0:  # the NPV at the rate, without numpy
            discount, value = 1.0, 0.0
            for flow in values:
                value += flow * discount
                discount /= 1.0 + rate
            if abs(value) <= IRR_TOLERANCE * sum(abs(f) for f in values):
                return Irr(rate)
        return Irr(_polish(np.asarray(values, dtype=float), rate))
    c = np.asarray(values, dtype=float)
    try:
        rates = _candidate_rates(c)
    except np.linalg.LinAlgError:  # coefficients so far apart that the companion overflows
        return Irr(None, "the cash flows span too many orders of magnitude to solve for a rate")
    if not rates:
        return Irr(None, "no rate above -100% makes the NPV of the cash flows zero")
    if len(rates) > 1:
        shown = ", ".join(f"{r:.4%}" for r in rates[:3])
        return Irr(None, f"several rates make the NPV zero ({shown}), so the IRR is not unique")
    return Irr(_polish(c, rates[0]))


def _only_positive_root(c: list[float]) -> float | None:
    """The one positive root x of ``sum(c[t] * x**t)`` when ``c`` changes sign once.

    Descartes' rule of signs makes that root unique, so it is bracketed (the polynomial has
    the sign of its first non-zero coefficient below the root, the other sign above) and
    found by Newton steps kept inside the bracket: the same root numpy's companion-matrix
    eigenvalues give, at a fraction of the cost (an underwriting solves two IRRs, and a
    maximum offer some eighty underwritings). None when no bracket is found below 2**64
    (a rate within 1e-19 of -100%, which is -1.0 in floating point)."""
    below = next(f for f in c if f != 0) > 0

    def value_and_slope(x: float) -> tuple[float, float]:
        value, slope = 0.0, 0.0
        for coefficient in reversed(c):
            slope = slope * x + value
            value = value * x + coefficient
        return value, slope

    lo, hi = 0.0, 1.0
    for _ in range(64):
        v, _slope = value_and_slope(hi)
        if v == 0:
            return hi
        if (v > 0) != below:
            break
        lo, hi = hi, hi * 2.0
    else:
        return None
    x = 0.5 * (lo + hi) if hi > 1.0 else max(0.5 * hi, min(hi, 1.0 / 1.1))
    for _ in range(200):
        v, slope = value_and_slope(x)
        if v == 0:
            return x
        if (v > 0) == below:
            lo = x
        else:
            hi = x
        step = x - v / slope if slope != 0 else lo - 1.0
        if abs(step - x) <= 1e-14 * x:  # converged (Newton from one side may touch hi)
            return step
        x = step if lo < step < hi else 0.5 * (lo + hi)
    return x


def _candidate_rates(c: np.ndarray) -> list[float]:
    """The distinct rates r > -1 at which the NPV of ``c`` is zero (via numpy's roots)."""
    trimmed = np.trim_zeros(c, "b")
    if trimmed.size < 2:
        return []
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        roots = np.roots(trimmed[::-1])
    out: list[float] = []
    for x in roots:
        if abs(x.imag) > _IMAGINARY * max(1.0, abs(x.real)) or x.real <= 0:
            continue
        rate = float(1.0 / x.real - 1.0)
        if all(abs(rate - r) > 1e-7 * max(1.0, abs(r)) for r in out):
            out.append(rate)
    out.sort()
    return out


def _polish(c: np.ndarray, rate: float) -> float:
    """Newton steps on the NPV from numpy's root until it is zero to ``IRR_TOLERANCE``."""
    t = np.arange(c.size, dtype=float)
    scale = float(np.abs(c).sum())
    for _ in range(50):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            d = (1.0 + rate) ** -t
            f = float(np.dot(c, d))
            fprime = float(np.dot(-t * c, d / (1.0 + rate)))
        if not math.isfinite(f) or abs(f) <= IRR_TOLERANCE * scale:
            break  # converged, or so near -100% that (1 + r)^-t overflows: keep the root
        if fprime == 0 or not math.isfinite(fprime):
            break
        step = f / fprime
        if not -1.0 < rate - step:
            break  # a Newton step past -100%: the root already found is the better one
        rate -= step
        if abs(step) < 1e-15:
            break
    return rate
