"""Sensitivities and scenarios: the same deal underwritten with some inputs changed.

- A sweep varies one numeric input, named by its dotted path in the deal file
  (``exit_cap_rate``, ``loan.rate``, ``market.rent_growth``, ``leases.0.rent_psf_annual``),
  from FROM to TO by STEP, both ends included. The steps are exact decimals (the text the
  user typed, in :class:`decimal.Decimal`), so ``0.065:0.075:0.0025`` is exactly the five
  points 0.065, 0.0675, 0.07, 0.0725, 0.075 with no float drift. One swept input gives a
  column per chosen metric; two give a grid per metric (rows: the first input's values,
  columns: the second's).
- A scenario is a named set of overrides (a mapping, nested like the deal file or with
  dotted keys) merged into the base deal; the results are side by side with the base.

Every point's deal is checked before any is computed: a swept value outside its field's
bounds (an ltv of 1.05) is refused with the point named, and nothing is computed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from reos.errors import ValidationFailed
from reos.underwriting.analysis import DealAnalysis, Metric
from reos.underwriting.deal import analyse, parse_deal

#: The largest number of points one sweep, or one grid, may have.
MAX_POINTS = 10_000

#: The metric a sweep reports when none is chosen, per strategy.
DEFAULT_METRIC = {"rental": "irr_levered", "flip": "profit", "commercial": "irr_unlevered"}


@dataclass(frozen=True)
class Sweep:
    """One input varied: its dotted path and its values (exact decimals)."""

    path: str
    values: tuple[Decimal, ...]


def decimal_range(start: Decimal, stop: Decimal, step: Decimal) -> list[Decimal]:
    """``start, start+step, ...`` up to and including ``stop`` (downwards for a negative
    step), in exact decimal arithmetic."""
    if step == 0:
        raise ValueError("the step must not be 0")
    if (stop - start) * step < 0:
        raise ValueError("the step goes away from TO")
    count = int((stop - start) / step) + 1
    if count > MAX_POINTS:
        raise ValueError(f"{count:,} points; at most {MAX_POINTS:,}")
    return [start + i * step for i in range(count)]


def parse_sweep(spec: str) -> Sweep:
    """``FIELD=FROM:TO:STEP`` (``exit_cap_rate=0.065:0.075:0.0025``)."""
    path, sep, text = spec.partition("=")
    parts = text.split(":")
    usage = f"{spec}: write a sensitivity as FIELD=FROM:TO:STEP (exit_cap_rate=0.065:0.075:0.0025)"
    if not sep or not path.strip() or len(parts) != 3:
        raise ValidationFailed(usage, field="sensitivity")
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts)
    except InvalidOperation:
        raise ValidationFailed(usage, field="sensitivity") from None
    if not all(x.is_finite() for x in (start, stop, step)):
        raise ValidationFailed(usage, field="sensitivity")
    try:
        values = decimal_range(start, stop, step)
    except ValueError as exc:
        raise ValidationFailed(f"{spec}: {exc}", field="sensitivity") from None
    return Sweep(path.strip(), tuple(values))


def _key(container: Any, part: str, path: str) -> Any:
    if isinstance(container, list):
        if not part.isdigit() or int(part) >= len(container):
            raise ValidationFailed(
                f"{path}: {part!r} is not an index of the {len(container)} items there",
                field=path,
            )
        return int(part)
    if isinstance(container, dict):
        return part
    raise ValidationFailed(f"{path}: the deal has no {part!r} there to change", field=path)


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the input at dotted ``path`` set to ``value``. A missing
    parent (``loan.rate`` in a cash deal) is refused: there is nothing to change."""
    out = copy.deepcopy(data)
    parts = path.split(".")
    node: Any = out
    for i, part in enumerate(parts[:-1]):
        key = _key(node, part, path)
        child = node[key] if isinstance(node, list) else node.get(key)
        if not isinstance(child, dict | list):
            where = ".".join(parts[: i + 1])
            raise ValidationFailed(
                f"{path}: the deal has no {where} to change (add it to the deal file first)",
                field=path,
            )
        node = child
    node[_key(node, parts[-1], path)] = value
    return out


def get_path(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``data`` (None when absent)."""
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``overrides`` merged in: nested mappings merge key by key, a dotted key
    sets that path, anything else (numbers, lists, null) replaces."""
    out = copy.deepcopy(data)
    for key, value in overrides.items():
        if "." in key:
            out = set_path(out, key, copy.deepcopy(value))
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = apply_overrides(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _number(value: Decimal, like: Any) -> int | float:
    """A swept value as the deal file would hold it: whole numbers stay whole where the
    input is an integer (``hold_years``)."""
    if isinstance(like, int) and not isinstance(like, bool) and value == value.to_integral():
        return int(value)
    return float(value)


def _checked(data: dict[str, Any], label: str) -> BaseModel:
    try:
        return parse_deal(data)
    except ValidationFailed as exc:
        problems = exc.detail.get("problems") or [exc.message]
        lines = [f"{label}: {p}" for p in problems]
        raise ValidationFailed("\n".join(lines), problems=lines) from None


def choose_metrics(base: DealAnalysis, metrics: Sequence[str]) -> list[str]:
    """The metrics to report: those asked for (each a single number of this strategy), or
    the strategy's default."""
    chosen = list(metrics) or [DEFAULT_METRIC.get(base.strategy, "noi")]
    singles = [k for k, v in base.metrics.items() if not isinstance(v, list)]
    problems = []
    for name in chosen:
        if name not in base.metrics:
            problems.append(
                f"metric {name!r}: not a {base.strategy} metric (one of {', '.join(singles)})"
            )
        elif isinstance(base.metrics[name], list):
            problems.append(f"metric {name!r}: a per-year list; choose one of {', '.join(singles)}")
    if problems:
        raise ValidationFailed("\n".join(problems), field="metric", problems=problems)
    return chosen


@dataclass(frozen=True)
class SensitivityResult:
    """A sweep's results: ``grid[metric]`` is a list (one input) or a list of rows (two)."""

    fields: list[str]
    values: list[list[int | float]]
    metrics: list[str]
    grid: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "fields": self.fields,
            "values": self.values,
            "metrics": self.metrics,
            "grid": self.grid,
        }


def sensitivity(
    data: dict[str, Any], sweeps: Sequence[Sweep], metrics: Sequence[str] = ()
) -> SensitivityResult:
    """Underwrite ``data`` at every point of one sweep or a grid of two."""
    if not 1 <= len(sweeps) <= 2:
        raise ValidationFailed("sweep one input, or two for a grid", field="sensitivity")
    if len(sweeps) == 2 and sweeps[0].path == sweeps[1].path:
        raise ValidationFailed(f"{sweeps[0].path}: swept twice", field="sensitivity")
    base_deal = parse_deal(data)
    base = analyse(base_deal)
    chosen = choose_metrics(base, metrics)
    used = base.inputs
    axes = [[_number(v, get_path(used, s.path)) for v in s.values] for s in sweeps]
    if len(axes) == 2 and len(axes[0]) * len(axes[1]) > MAX_POINTS:
        raise ValidationFailed(f"the grid has more than {MAX_POINTS:,} points", field="sensitivity")

    def deal_at(point: Sequence[int | float]) -> BaseModel:
        varied = data
        for sweep, value in zip(sweeps, point, strict=True):
            varied = set_path(varied, sweep.path, value)
        label = ", ".join(f"{s.path} = {v}" for s, v in zip(sweeps, point, strict=True))
        return _checked(varied, f"with {label}")

    if len(axes) == 1:
        deals = [deal_at([x]) for x in axes[0]]
        results = [analyse(d).metrics for d in deals]
        grid: dict[str, Any] = {m: [r.get(m) for r in results] for m in chosen}
    else:
        rows = [[deal_at([x, y]) for y in axes[1]] for x in axes[0]]
        table = [[analyse(d).metrics for d in row] for row in rows]
        grid = {m: [[r.get(m) for r in row] for row in table] for m in chosen}
    return SensitivityResult([s.path for s in sweeps], axes, chosen, grid)


@dataclass(frozen=True)
class ScenarioResult:
    """The base deal and each named scenario, side by side (``metrics[name]``)."""

    names: list[str]
    overrides: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, Metric]]
    notes: dict[str, dict[str, str]]

    def as_json(self) -> dict[str, Any]:
        return {
            "names": self.names,
            "overrides": self.overrides,
            "metrics": self.metrics,
            "notes": self.notes,
        }


def scenarios(data: dict[str, Any], named: Mapping[str, Mapping[str, Any]]) -> ScenarioResult:
    """Underwrite the base deal and each scenario (``name -> overrides``); every scenario is
    checked before any is computed."""
    if "base" in named:
        raise ValidationFailed("a scenario may not be called 'base'", field="scenario")
    deals = {"base": parse_deal(data)}
    for name, overrides in named.items():
        if not isinstance(overrides, Mapping):
            raise ValidationFailed(
                f"scenario {name}: its file must be a mapping of field: value", field="scenario"
            )
        deals[name] = _checked(apply_overrides(data, overrides), f"scenario {name}")
    results = {name: analyse(deal) for name, deal in deals.items()}
    return ScenarioResult(
        list(results),
        {name: dict(o) for name, o in named.items()},
        {name: r.metrics for name, r in results.items()},
        {name: r.notes for name, r in results.items()},
    )
