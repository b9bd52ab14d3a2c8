"""``reos underwrite DEAL`` (with sensitivities and scenarios), ``reos underwrite --template``
and ``reos offer max DEAL --constraint ...``.

A deal file that is wrong prints one line per problem on stderr (``error: deal.yaml:
loan.ltv: 1.2 — must be at most 1``) and exits 2, like every other validation failure of
the CLI; nothing is computed from it. ``DEAL`` is optional so that other sources of a deal
(a stored property) can be added as options of the same command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

from reos.cli_support import JsonOption, OrgOption, print_json
from reos.errors import ValidationFailed
from reos.kernel.jsonable import jsonable
from reos.underwriting.analysis import DealAnalysis, Metric

#: Metrics shown as percentages; ``RATIOS`` as multiples; anything else is money.
RATES = frozenset(
    {
        "cap_rate",
        "cash_on_cash",
        "debt_yield",
        "irr_levered",
        "irr_unlevered",
        "going_in_cap",
        "roi",
        "annualized_roi",
        "break_even_ratio",
        "price_to_arv",
        "exit_cap_rate",
        "occupancy_year_1",
    }
)
RATIOS = frozenset({"dscr", "grm", "equity_multiple"})
#: Plain quantities, neither money nor rates (years, square feet).
QUANTITIES = {"hold_years": "years", "total_area_sf": "sf"}


def format_metric(name: str, value: Any, precise: bool = False) -> str:
    """A metric for a person: rates as percentages, ratios as multiples, money in dollars
    (display only: the figures themselves are never rounded). ``precise`` shows the digits
    that tell a bound met from one missed by a dollar of price."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(f"{v:,.0f}" for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if name in RATES:
        return f"{value:.5%}" if precise else f"{value:.3%}"
    if name in RATIOS:
        return f"{value:,.6f}x" if precise else f"{value:,.3f}x"
    if name in QUANTITIES:
        return f"{value:,.6g} {QUANTITIES[name]}"
    return f"${value:,.2f}" if value >= 0 else f"-${-value:,.2f}"


#: Lease-table columns that are fractions (shown as written, e.g. 0.03), not dollars.
FRACTION_COLUMNS = frozenset({"escalation", "renewal_probability"})
#: Lease-table columns that are rents per square foot (shown to the cent of a $/sf).
PSF_COLUMNS = frozenset({"rent_psf_annual"})


def _format_cell(column: str, value: Any) -> str:
    """A table cell: counts (years, months, rows) as whole numbers, fractions as written,
    rents per square foot to four places, every other figure in dollars to the cent."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if column in ("year", "month", "years") or isinstance(value, int):
        return f"{value:g}" if isinstance(value, float) else f"{value:,}"
    if isinstance(value, float):
        if column in FRACTION_COLUMNS:
            return f"{value:g}"
        if column in PSF_COLUMNS:
            return f"{value:,.4f}"
        return f"{value:,.2f}"
    return str(value)


def _format_input(value: Any) -> str:
    """An input as the user wrote it (whole dollars with separators, rates untouched)."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Inputs as ``(dotted name, value)`` rows; a list of mappings (a rent roll) is counted,
    its items being shown in their own table."""
    rows: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            rows.extend(_flatten(value, f"{prefix}{key}."))
        return rows
    name = prefix.rstrip(".")
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        rows.append((name, f"{len(data)} (below)"))
    else:
        rows.append((name, _format_input(data)))
    return rows


def _table(
    title: str,
    columns: list[str],
    rows: list[list[str]],
    numeric_from: int = 1,
    text_columns: tuple[int, ...] = (),
) -> Any:
    """A titled table (the title on its own line, so a narrow table never wraps it); columns
    from ``numeric_from`` on are right-aligned numbers, except ``text_columns``."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table()
    for i, column in enumerate(columns):
        numeric = i >= numeric_from and i not in text_columns
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*row)
    return Group(Text(title, style="bold"), table)


def _print(*renderables: Any) -> None:
    from rich.console import Console

    console = Console(width=220)
    for renderable in renderables:
        console.print(renderable)


def render_analysis(result: DealAnalysis) -> None:
    """The inputs used, the cash-flow table, any audit tables and the metrics."""
    inputs = [[k, v] for k, v in _flatten(result.inputs)]
    out: list[Any] = [
        _table(f"Inputs ({result.strategy}, defaults filled in)", ["input", "value"], inputs)
    ]
    for key, value in result.inputs.items():
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            columns = list(value[0])
            out.append(
                _table(
                    key,
                    columns,
                    [[_format_input(item.get(c)) for c in columns] for item in value],
                    numeric_from=len(columns),
                )
            )
    flows = result.cash_flows
    if flows:
        columns = list(flows)
        length = len(next(iter(flows.values())))
        rows = [[_format_cell(c, flows[c][i]) for c in columns] for i in range(length)]
        out.append(_table("Cash flows", columns, rows))
    for key, value in result.detail.items():
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            columns = list(value[0])
            rows = [[_format_cell(c, item.get(c)) for c in columns] for item in value]
            out.append(_table(key.replace("_", " ").capitalize(), columns, rows))
    columns = ["metric", "value"] + (["why it is missing"] if result.notes else [])
    metric_rows = [
        [name, format_metric(name, value)] + ([result.notes.get(name, "")] if result.notes else [])
        for name, value in result.metrics.items()
    ]
    out.append(_table("Metrics", columns, metric_rows, text_columns=(2,)))
    _print(*out)


def _fail_lines(source: str, exc: ValidationFailed) -> NoReturn:
    """Every problem of an invalid deal on its own ``error:`` line, each naming the file.

    The CLI's error handler prints ``error: `` and the message, so the message carries the
    prefix for the lines after the first; the exit code and ``--debug`` stay the handler's."""
    problems = exc.detail.get("problems") or exc.message.splitlines()
    lines = [f"{source}: {p}" for p in problems]
    raise ValidationFailed("\nerror: ".join(lines), problems=lines) from None


def _named_files(specs: list[str], what: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise ValidationFailed(f"{spec}: write a {what} as NAME=FILE", field=what)
        if name.strip() in out:
            raise ValidationFailed(f"{what} {name.strip()}: given twice", field=what)
        out[name.strip()] = Path(file.strip())
    return out


def underwrite_command(
    deal: Path = typer.Argument(None, help="deal file (YAML or JSON)", show_default=False),
    template: str = typer.Option(
        None,
        "--template",
        help="print a commented example deal file: rental, flip or commercial",
        show_default=False,
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="with --template: write the example here", show_default=False
    ),
    sensitivity_specs: list[str] = typer.Option(
        None,
        "--sensitivity",
        help="sweep an input: FIELD=FROM:TO:STEP (e.g. exit_cap_rate=0.065:0.075:0.0025); "
        "twice for a grid",
        show_default=False,
    ),
    metrics: list[str] = typer.Option(
        None,
        "--metric",
        help="the metric(s) a sensitivity reports (default: irr_levered, profit for a flip, "
        "irr_unlevered for commercial)",
        show_default=False,
    ),
    scenario_specs: list[str] = typer.Option(
        None,
        "--scenario",
        help="NAME=FILE: a file of input overrides, underwritten beside the base deal",
        show_default=False,
    ),
    as_json: bool = JsonOption,
    # stored properties (reos.underwriting.store_commands)
    property_id: str = typer.Option(
        None,
        "--property",
        help="underwrite a stored property (its id), filled from the store",
        show_default=False,
    ),
    all_properties: bool = typer.Option(
        False, "--all", help="underwrite every stored property (resumable)"
    ),
    strategy: str = typer.Option(
        "rental", "--strategy", help="with --property/--all: rental or flip"
    ),
    assumptions: Path = typer.Option(
        None,
        "--assumptions",
        help="with --property/--all: a YAML/JSON file of deal fields",
        show_default=False,
    ),
    price: float = typer.Option(
        None, "--price", help="with --property: the purchase price", show_default=False
    ),
    as_of: str = typer.Option(
        None,
        "--as-of",
        help="with --property/--all: date of the AVM value and rent estimate",
        show_default=False,
    ),
    chunk: int = typer.Option(200, "--chunk", help="with --all: properties per committed chunk"),
    org: str = OrgOption,
) -> None:
    """Underwrite a deal file (rental, flip or commercial): inputs with defaults filled in,
    the annual cash flows and every metric; optionally sensitivities and scenarios. Or a
    stored property (--property ID) or every one (--all), filled from the store."""
    from reos.underwriting import deal as deals

    if property_id is not None or all_properties:
        from reos.underwriting import store_commands

        store_commands.dispatch(
            deal=deal, property_id=property_id, all_properties=all_properties,
            strategy=strategy, assumptions=assumptions, price=price, as_of=as_of,
            chunk=chunk, org=org, as_json=as_json,
        )  # fmt: skip
        return

    if template is not None:
        if deal is not None:
            raise ValidationFailed("give a deal file or --template, not both", field="template")
        text = deals.template(template)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}", err=True)
        return
    if deal is None:
        raise ValidationFailed(
            "give a deal file (reos underwrite DEAL.yaml), or --template rental|flip|commercial",
            field="deal",
        )
    if output is not None:
        raise ValidationFailed("--output goes with --template", field="output")
    from reos.underwriting import sensitivity as sens

    data = deals.load_deal_file(deal)
    try:
        result = deals.analyse_deal(data)
    except ValidationFailed as exc:
        _fail_lines(str(deal), exc)
    sweep_result = None
    if sensitivity_specs:
        sweeps = [sens.parse_sweep(s) for s in sensitivity_specs]
        try:
            sweep_result = sens.sensitivity(data, sweeps, metrics or [])
        except ValidationFailed as exc:
            _fail_lines(str(deal), exc)
    elif metrics:
        raise ValidationFailed("--metric goes with --sensitivity", field="metric")
    scenario_result = None
    if scenario_specs:
        files = _named_files(scenario_specs, "scenario")
        named = {name: deals.read_data_file(path) for name, path in files.items()}
        try:
            scenario_result = sens.scenarios(data, named)
        except ValidationFailed as exc:
            _fail_lines(str(deal), exc)

    if as_json:
        body = result.as_json()
        if sweep_result is not None:
            body["sensitivity"] = sweep_result.as_json()
        if scenario_result is not None:
            body["scenarios"] = scenario_result.as_json()
        print_json(jsonable(body))
        return
    render_analysis(result)
    if sweep_result is not None:
        _render_sensitivity(sweep_result)
    if scenario_result is not None:
        _render_scenarios(scenario_result)


def _render_sensitivity(result: Any) -> None:
    out: list[Any] = []
    if len(result.fields) == 1:
        field = result.fields[0]
        rows = [
            [str(x), *(format_metric(m, result.grid[m][i]) for m in result.metrics)]
            for i, x in enumerate(result.values[0])
        ]
        out.append(_table(f"Sensitivity to {field}", [field, *result.metrics], rows))
    else:
        first, second = result.fields
        for metric in result.metrics:
            rows = [
                [str(x), *(format_metric(metric, v) for v in result.grid[metric][i])]
                for i, x in enumerate(result.values[0])
            ]
            header = [f"{first} \\ {second}", *(str(y) for y in result.values[1])]
            out.append(_table(f"{metric} by {first} and {second}", header, rows))
    _print(*out)


def _render_scenarios(result: Any) -> None:
    names = result.names
    metric_names: list[str] = [
        k for k, v in result.metrics[names[0]].items() if not isinstance(v, list)
    ]
    rows = [[m, *(format_metric(m, result.metrics[n].get(m)) for n in names)] for m in metric_names]
    _print(_table("Scenarios", ["metric", *names], rows))


offer_app = typer.Typer(help="Offers: the most a deal supports.", no_args_is_help=True)


@offer_app.command("max")
def offer_max(
    deal: Path = typer.Argument(..., help="deal file (YAML or JSON)"),
    constraint_specs: list[str] = typer.Option(
        ...,
        "--constraint",
        "-c",
        help="NAME=VALUE, repeatable: min_dscr, min_cash_on_cash, min_cap_rate, "
        "min_irr_levered, min_irr_unlevered, min_profit, min_roi, max_price_to_arv, ...",
    ),
    as_json: bool = JsonOption,
) -> None:
    """The highest whole-dollar price at which every constraint holds, and which one binds."""
    from reos.underwriting import deal as deals
    from reos.underwriting import offers

    constraints = offers.parse_constraints(constraint_specs)
    data = deals.load_deal_file(deal)
    try:
        parsed = deals.parse_deal(data)
    except ValidationFailed as exc:
        _fail_lines(str(deal), exc)
    try:
        result = offers.max_offer(parsed, constraints)
    except ValidationFailed as exc:
        _fail_lines("constraint", exc)
    if as_json:
        print_json(jsonable(result.as_json()))
        return
    if result.max_offer is None:
        typer.echo(f"no maximum offer: {result.reason}")
        return
    typer.echo(
        f"maximum offer: ${result.max_offer:,}  (binding: {result.binding})\n{result.reason}"
    )
    checks = [
        [
            c["constraint"],
            format_metric(c["metric"], c["bound"], precise=True),
            format_metric(c["metric"], c["at_max"], precise=True),
            format_metric(c["metric"], c["at_max_plus_one"], precise=True),
            "yes" if c["holds_at_max_plus_one"] else "no",
        ]
        for c in result.checks
    ]
    at_max: dict[str, Metric] = result.metrics_at_max
    rows = [[name, format_metric(name, value)] for name, value in at_max.items()]
    _print(
        _table(
            "Constraints",
            [
                "constraint",
                "bound",
                f"at ${result.max_offer:,}",
                f"at ${result.max_offer + 1:,}",
                f"holds at ${result.max_offer + 1:,}",
            ],
            checks,
        ),
        _table(f"Metrics at ${result.max_offer:,}", ["metric", "value"], rows),
    )


def mount(app: typer.Typer) -> None:
    from reos.underwriting.optimiser_commands import add_offer_commands

    app.command("underwrite")(underwrite_command)
    add_offer_commands(offer_app)  # reos offer optimise / portfolio
    app.add_typer(offer_app, name="offer")
