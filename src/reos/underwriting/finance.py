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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy_financial as npf

#: An IRR is solved until |NPV| at the rate is below this share of the flows' size.
IRR_TOLERANCE = 1e-12

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
    return float(npf.pmt(annual_rate / 12, n, -amount))


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
    return float(-npf.fv(annual_rate / 12, payments, -pmt, amount))


def loan_balances(
    amount: float, annual_rate: float, amort_years: float, payments: Sequence[int]
) -> list[float]:
    """:func:`loan_balance` after each count in ``payments``, from one payment computation
    (numpy-financial's ``fv`` over an array of periods): an underwriting needs the balance
    at every year end, and computing the payment once per year end cost more than the rest
    of a rental underwriting together."""
    n = round(12 * amort_years)
    counts = np.asarray(payments, dtype=float)
    if amount == 0 or counts.size == 0:
        return [0.0 if c > 0 else float(amount) for c in counts]
    pmt = monthly_payment(amount, annual_rate, amort_years)
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
    c = np.asarray(flows, dtype=float)
    if c.size < 2 or not np.all(np.isfinite(c)):
        return Irr(None, "the cash flows are not finite numbers over at least two periods")
    nonzero = c[c != 0]
    changes = int(np.count_nonzero(np.sign(nonzero[1:]) != np.sign(nonzero[:-1])))
    if changes == 0:
        return Irr(None, "the cash flows never change sign, so no rate makes their NPV zero")
    rates = _candidate_rates(c)
    if not rates:
        return Irr(None, "no rate above -100% makes the NPV of the cash flows zero")
    if len(rates) > 1:
        shown = ", ".join(f"{r:.4%}" for r in rates[:3])
        return Irr(None, f"several rates make the NPV zero ({shown}), so the IRR is not unique")
    return Irr(_polish(c, rates[0]))


def _candidate_rates(c: np.ndarray) -> list[float]:
    """The distinct rates r > -1 at which the NPV of ``c`` is zero (via numpy's roots)."""
    trimmed = np.trim_zeros(c, "b")
    if trimmed.size < 2:
        return []
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
        d = (1.0 + rate) ** -t
        f = float(np.dot(c, d))
        if abs(f) <= IRR_TOLERANCE * scale:
            break
        fprime = float(np.dot(-t * c, d / (1.0 + rate)))
        if fprime == 0:
            break
        step = f / fprime
        rate -= step
        if abs(step) < 1e-15:
            break
    return rate
