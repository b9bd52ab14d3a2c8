"""The value the engine returns, with its work shown (JSON-ready via ``to_dict``).

Not to be confused with the stored row :class:`reos.models.Valuation`, which the valuation
service writes from a :class:`ValuationResult`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CompEvidence:
    """One comparable sale as used: unadjusted, time-adjusted and feature-adjusted ($)."""

    sale_id: str
    property_id: str
    address: str | None
    distance_m: float
    close_date: str
    sale_price: float
    time_adjusted_price: float
    adjustments: dict[str, float]
    adjusted_price: float
    weight: float
    gross_adjustment_pct: float
    net_adjustment_pct: float


@dataclass
class ValuationResult:
    """An estimated market value as of ``valuation_date`` (ISO date), in dollars.

    ``interval_80`` is calibrated out of time to cover the sale price 80 % of the time;
    ``confidence`` is a grade A-D (see ``reconcile.py``); ``drivers`` split the value above the
    model's base value by feature (log-mean Divisia split of TreeSHAP, so they add up).

    ``warnings`` say what a reader must know before trusting the value (comps far, old or
    heavily adjusted - see ``limits.py`` - or a model older than the data); ``model_stale``
    is set by the valuation service (None when not checked). ``refusal`` (with the field it
    concerns) means the limits refuse this value: it must not be shown or stored, and is
    not part of :meth:`to_dict`.
    """

    estimated_value: float
    interval_80: tuple[float, float]
    confidence: str
    valuation_date: str
    model_version: str
    comps: list[CompEvidence]
    drivers: dict[str, float]
    n_comps: int
    method: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    model_stale: bool | None = None
    refusal: str | None = None
    refusal_field: str | None = None

    def __post_init__(self) -> None:
        """An estimate outside its own interval is an engine bug, never an answer: the
        interval is built around the estimate (``reconcile.Calibration.interval``), so this
        check fails loudly, for every valuation made anywhere (tests included), if that
        construction is ever broken."""
        low, high = self.interval_80
        if not low <= self.estimated_value <= high:
            raise ValueError(
                f"estimate {self.estimated_value} lies outside its own 80 % interval "
                f"{low}-{high}: the engine's interval construction is broken"
            )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["interval_80"] = list(self.interval_80)
        del out["refusal"], out["refusal_field"]
        return out
