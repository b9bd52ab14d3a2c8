"""What every underwriting strategy returns: one shape for the CLI, the API and the store.

A strategy (rental, flip, commercial) builds its cash flows once, as arrays, and derives
every metric from them, so the table a user sees is the one the metrics came from. This is
the plain-data result they all return; the CLI prints it, ``--json`` serialises it as
``{"inputs", "metrics", "cash_flows"}`` and stored underwritings keep it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: A metric: a rate or money figure, None when it does not exist (e.g. DSCR without a loan,
#: an IRR without a sign change), or a per-year list (commercial ``noi`` and ``cfbd``).
Metric = float | int | None | list[float]


@dataclass(frozen=True)
class DealAnalysis:
    """One deal underwritten.

    - ``strategy``: ``rental``, ``flip`` or ``commercial``.
    - ``inputs``: every input used, defaults filled in, as plain JSON-able values.
    - ``metrics``: the contract's metric names (``shared/reference/underwriting.md``) at the
      top level, unrounded.
    - ``cash_flows``: named annual columns of equal length (``year`` first, year 0 where the
      strategy has one), each a list of floats.
    - ``detail``: strategy-specific audit tables (commercial: every lease and successor with
      its months, rent, free rent, TI and LC).
    - ``notes``: why a metric is None, keyed by metric name (e.g. an IRR that does not exist).
    """

    strategy: str
    inputs: dict[str, Any]
    metrics: dict[str, Metric]
    cash_flows: dict[str, list[float]]
    detail: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """``{"strategy", "inputs", "metrics", "cash_flows", "detail", "notes"}``."""
        return {
            "strategy": self.strategy,
            "inputs": self.inputs,
            "metrics": self.metrics,
            "cash_flows": self.cash_flows,
            "detail": self.detail,
            "notes": self.notes,
        }
