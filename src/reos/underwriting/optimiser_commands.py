"""``reos offer optimise DEAL`` and ``reos offer portfolio DEALS...``: the offer optimiser
(:mod:`reos.underwriting.optimiser`) on deal files.

They are subcommands of ``reos offer`` (declared by :mod:`reos.underwriting.commands`,
which calls :func:`add_offer_commands`). ``--outcomes FILE`` (JSON or YAML: a list of past
offers with ``accepted``) refits the acceptance model first; with too few outcomes the
defaults are kept and the message says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from reos.cli_support import JsonOption, print_json
from reos.errors import ValidationFailed
from reos.kernel.jsonable import jsonable

CONSTRAINT_HELP = (
    "NAME=VALUE, repeatable (the maximum offer's names): min_profit, min_roi, min_dscr, "
    "min_cash_on_cash, min_irr_levered, max_price_to_arv, ..."
)
OUTCOMES_HELP = "past offers (JSON/YAML list with accepted: true/false) to refit acceptance"


def _model(outcomes: Path | None) -> tuple[Any, str | None]:
    """The acceptance model: the defaults, or refitted on ``outcomes``."""
    from reos.underwriting import acceptance

    if outcomes is None:
        return acceptance.DEFAULT, None
    from reos.underwriting.deal import read_data_file

    data = read_data_file(outcomes)
    if isinstance(data, dict) and "outcomes" in data:
        data = data["outcomes"]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise ValidationFailed(
            f"{outcomes}: a list of outcomes (price, value, earnest_money, days_to_close, "
            "inspection_days, cash, seller_credit, accepted)",
            field="outcomes",
        )
    records = [acceptance.outcome_from(x, i) for i, x in enumerate(data)]
    fit = acceptance.fit_acceptance(records)
    return fit.model, fit.message


def _parse(path: Path) -> Any:
    from reos.underwriting import deal as deals

    data = deals.load_deal_file(path)
    try:
        return deals.parse_deal(data)
    except ValidationFailed as exc:
        problems = exc.detail.get("problems") or exc.message.splitlines()
        lines = [f"{path}: {p}" for p in problems]
        raise ValidationFailed("\nerror: ".join(lines), problems=lines) from None


def _show_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A titled table; the first column left-aligned, the rest right-aligned."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)


def _money(x: float | None) -> str:
    return "—" if x is None else (f"${x:,.0f}" if x >= 0 else f"-${-x:,.0f}")


def optimise_command(
    deal: Path = typer.Argument(..., help="deal file (rental or flip, YAML or JSON)"),
    value: float = typer.Option(
        None, "--value", help="the seller's value (default: the deal's purchase_price)"
    ),
    budget: float = typer.Option(None, "--budget", help="cash available for this deal ($)"),
    constraint_specs: list[str] = typer.Option(None, "--constraint", "-c", help=CONSTRAINT_HELP),
    frontier: int = typer.Option(20, "--frontier", help="points on the price/acceptance frontier"),
    outcomes: Path = typer.Option(None, "--outcomes", help=OUTCOMES_HELP),
    as_json: bool = JsonOption,
) -> None:
    """The offer (price, earnest money, days to close, inspection, cash or financed, seller
    credit) with the highest expected profit = P(accept) × profit, and the frontier."""
    from reos.underwriting import offers, optimiser

    constraints = offers.parse_constraints(constraint_specs or [])
    model, fit_message = _model(outcomes)
    result = optimiser.optimise_offer(
        _parse(deal),
        value=value,
        constraints=constraints,
        budget=budget,
        model=model,
        frontier=frontier,
    )
    if as_json:
        body = result.as_json()
        if fit_message is not None:
            body["acceptance_fit"] = fit_message
        print_json(jsonable(body))
        return
    if fit_message is not None:
        typer.echo(f"acceptance model: {fit_message}")
    best = result.best
    if best is None:
        typer.echo(result.reason)
        return
    o = best.offer
    typer.echo(
        f"offer: {_money(o.price)} {'cash' if o.cash else 'financed'}, earnest money "
        f"{_money(o.earnest_money)}, close in {o.days_to_close} days, "
        f"{o.inspection_days}-day inspection, seller credit {_money(o.seller_credit)}\n"
        f"P(accept) {best.acceptance_probability:.1%}; profit if accepted "
        f"{_money(best.profit)} ({result.profit_measure}); expected profit "
        f"{_money(best.expected_profit)}; cash needed {_money(best.cash_needed)}\n"
        f"{result.reason}"
    )
    if result.frontier:
        rows = [
            [
                _money(s.offer.price),
                f"{s.acceptance_probability:.1%}",
                _money(s.expected_profit),
                _money(s.profit),
                "cash" if s.offer.cash else "financed",
                _money(s.offer.earnest_money),
                str(s.offer.days_to_close),
                str(s.offer.inspection_days),
                _money(s.offer.seller_credit),
            ]
            for s in result.frontier
        ]
        _show_table(
            "Frontier: price against acceptance",
            [
                "price",
                "P(accept)",
                "expected",
                "profit",
                "financing",
                "earnest",
                "close",
                "inspect",
                "credit",
            ],
            rows,
        )


def _deal_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".json")
            )
            if not found:
                raise ValidationFailed(f"{path}: no .yaml or .json deal files", field="deals")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ValidationFailed(f"{path}: no such file or directory", field="deals")
    return files


def portfolio_command(
    deals: list[Path] = typer.Argument(..., help="deal files, or directories of them"),
    budget: float = typer.Option(..., "--budget", help="capital limit for all offers ($)"),
    constraint_specs: list[str] = typer.Option(None, "--constraint", "-c", help=CONSTRAINT_HELP),
    capital: str = typer.Option(
        "committed",
        "--capital",
        help="committed: every offer may be accepted; expected: P(accept) × cash needed",
    ),
    outcomes: Path = typer.Option(None, "--outcomes", help=OUTCOMES_HELP),
    as_json: bool = JsonOption,
) -> None:
    """Which properties to offer on, and at what offer, under one capital limit (a
    multiple-choice knapsack solved with OR-Tools CP-SAT)."""
    from reos.underwriting import offers, optimiser

    constraints = offers.parse_constraints(constraint_specs or [])
    model, fit_message = _model(outcomes)
    files = _deal_files(deals)
    candidates = [optimiser.Candidate(str(f), _parse(f), None, constraints) for f in files]
    result = optimiser.optimise_portfolio(candidates, budget, model=model, capital=capital)
    if as_json:
        body = result.as_json()
        if fit_message is not None:
            body["acceptance_fit"] = fit_message
        print_json(jsonable(body))
        return
    if fit_message is not None:
        typer.echo(f"acceptance model: {fit_message}")
    typer.echo(
        f"{len(result.chosen)} offers of {len(candidates)} properties; expected profit "
        f"{_money(result.expected_profit)}; capital {_money(result.capital_used)} of "
        f"{_money(result.budget)} ({result.capital_rule}); solver {result.status}"
    )
    rows = [
        [
            c.name,
            _money(c.offer.offer.price),
            "cash" if c.offer.offer.cash else "financed",
            f"{c.offer.acceptance_probability:.1%}",
            _money(c.offer.expected_profit),
            _money(c.capital),
        ]
        for c in result.chosen
    ]
    _show_table("Offers", ["deal", "price", "financing", "P(accept)", "expected", "capital"], rows)
    for name, why in result.skipped.items():
        typer.echo(f"skipped {name}: {why}")


def add_offer_commands(offer_app: typer.Typer) -> None:
    """Add ``optimise`` and ``portfolio`` to ``reos offer``."""
    offer_app.command("optimise")(optimise_command)
    offer_app.command("portfolio")(portfolio_command)
