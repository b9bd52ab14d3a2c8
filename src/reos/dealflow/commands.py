"""``reos lists ...``, ``reos searches ...`` and ``reos score ...`` (``reos import list
FILE --kind KIND`` sits with the importer's commands and calls this domain's service)."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import typer

from reos.cli_support import JsonOption, OrgOption, org_session, parse_uuid, print_json, print_table
from reos.errors import ValidationFailed

lists_app = typer.Typer(
    help="Lists of properties (distress lists imported, lists derived from the store).",
    no_args_is_help=True,
)
searches_app = typer.Typer(help="Saved searches: filters kept under a name.", no_args_is_help=True)
score_app = typer.Typer(
    help="Deal scores (0-100 with their reasons) and the learned score models.",
    invoke_without_command=True,
)

GOOD = {"1", "true", "yes", "won", "closed_won", "accepted", "good"}
BAD = {"0", "false", "no", "lost", "closed_lost", "dead", "rejected", "refused", "bad"}


@lists_app.command("list")
def lists_list(
    kind: str | None = typer.Option(None, "--kind", help="only lists of this kind"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Every list: kind, source, date, members."""
    from reos.dealflow import service

    with org_session(org) as session:
        rows = [_list_row(p) for p in service.list_lists(session, kind)]
    if as_json:
        print_json(rows)
        return
    print_table(rows, ["id", "kind", "name", "list_date", "derived", "members", "source"])


def _list_row(p: Any) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "kind": p.kind,
        "name": p.name,
        "list_date": p.list_date,
        "derived": p.derived,
        "members": p.member_count,
        "source": p.source or p.filename or "",
        "report": p.report,
        "query": p.query,
    }


@lists_app.command("show")
def lists_show(
    list_id: str = typer.Argument(..., metavar="ID"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """A list and its import report (or its rule, for a derived list)."""
    from reos.dealflow import service

    with org_session(org) as session:
        row = _list_row(service.get_list(session, parse_uuid(list_id, "list_id", "list")))
    if as_json:
        print_json(row)
        return
    for key in ("id", "kind", "name", "list_date", "derived", "members", "source"):
        typer.echo(f"{key}: {row[key]}")
    if row["report"]:
        r = row["report"]
        typer.echo(
            f"rows read {r['rows_read']:,} = matched {r['matched']:,} + unmatched "
            f"{r['unmatched']:,} + duplicate {r['duplicate']:,}"
        )
    if row["query"]:
        typer.echo(f"rule: {json.dumps(row['query'])}")


@lists_app.command("members")
def lists_members(
    list_id: str = typer.Argument(..., metavar="ID"),
    status: str = typer.Option("matched", "--status", help="matched, unmatched, duplicate or all"),
    limit: int = typer.Option(100, min=1),
    offset: int = typer.Option(0, min=0),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """A list's rows: matched properties, or the rows kept with why they did not match."""
    from reos.dealflow import service

    with org_session(org) as session:
        rows, total = service.members(
            session,
            parse_uuid(list_id, "list_id", "list"),
            status=None if status == "all" else status,
            limit=limit,
            offset=offset,
        )
        data = [
            {"row": m.row_number, "status": m.status, "property_id": str(m.property_id or ""),
             "matched_by": m.matched_by or "", "reason": m.reason or "", "listed_on": m.listed_on,
             "attributes": m.attributes}
            for m in rows
        ]  # fmt: skip
    if as_json:
        print_json({"total": total, "items": data})
        return
    print_table(
        [{**d, "attributes": json.dumps(d["attributes"])[:60]} for d in data],
        ["row", "status", "property_id", "matched_by", "reason", "listed_on", "attributes"],
    )
    typer.echo(f"{total:,} rows")


@lists_app.command("rematch")
def lists_rematch(
    list_id: str | None = typer.Argument(
        None, metavar="[ID]", help="one list (default: every one)"
    ),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Match the unmatched rows of imported lists again, against the properties stored
    now (after importing the properties a list named). Every pipeline run does this too."""
    from reos.dealflow import service

    with org_session(org) as session:
        wanted = parse_uuid(list_id, "list_id", "list") if list_id else None
        counts = service.rematch_unmatched(session, wanted)
    if as_json:
        print_json(counts)
        return
    typer.echo(
        f"{counts['rows']:,} unmatched rows looked at: {counts['matched']:,} matched now, "
        f"{counts['duplicate']:,} duplicates of rows already on their list, "
        f"{counts['rows'] - counts['matched'] - counts['duplicate']:,} still unmatched"
    )


@lists_app.command("refresh")
def lists_refresh(org: str | None = OrgOption, as_json: bool = JsonOption) -> None:
    """Rebuild the lists derived from the store (absentee, out-of-state, long owned, tired
    landlords, equity, corporate portfolios)."""
    from reos.dealflow import service

    with org_session(org) as session:
        counts = service.refresh_derived_lists(session)
    if as_json:
        print_json(counts)
        return
    print_table([{"rule": k, "members": v} for k, v in counts.items()], ["rule", "members"])


@searches_app.command("create")
def searches_create(
    name: str = typer.Argument(...),
    kind: list[str] = typer.Option([], "--kind", help="on a list of this kind (repeat)"),
    min_stack: int | None = typer.Option(None, "--min-stack", min=1, help="on at least N lists"),
    city: list[str] = typer.Option([], "--city"),
    zip_code: list[str] = typer.Option([], "--zip"),
    property_type: list[str] = typer.Option([], "--type"),
    min_value: float | None = typer.Option(None, "--min-value", help="dollars"),
    max_value: float | None = typer.Option(None, "--max-value", help="dollars"),
    min_score: int | None = typer.Option(None, "--min-score", min=0, max=100),
    max_score: int | None = typer.Option(None, "--max-score", min=0, max=100),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Save a search (any combination of filters)."""
    from reos.dealflow import service

    filters = {
        "list_kinds": kind, "min_stack": min_stack, "cities": city, "zips": zip_code,
        "property_types": property_type, "min_value": min_value, "max_value": max_value,
        "min_score": min_score, "max_score": max_score,
    }  # fmt: skip
    with org_session(org) as session:
        search = service.create_search(session, name, filters, created_by="cli")
        out = {"id": str(search.id), "name": search.name, "filters": search.filters}
    if as_json:
        print_json(out)
        return
    typer.echo(f"saved search {out['id']}  {out['name']}  {json.dumps(out['filters'])}")


@searches_app.command("list")
def searches_list(org: str | None = OrgOption, as_json: bool = JsonOption) -> None:
    """Saved searches with their last run."""
    from reos.dealflow import service

    with org_session(org) as session:
        rows = [
            {"id": str(s.id), "name": s.name, "filters": json.dumps(s.filters),
             "last_run_at": s.last_run_at, "matches": s.last_match_count, "new": s.last_new_count}
            for s in service.list_searches(session)
        ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(rows, ["id", "name", "filters", "last_run_at", "matches", "new"])


@searches_app.command("run")
def searches_run(
    search: str = typer.Argument(..., help="id or name"),
    limit: int = typer.Option(20, min=1, help="matches shown"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Run a saved search: its matches (highest score first) and how many are new."""
    from reos.dealflow import read_model, service

    with org_session(org) as session:
        found = service.find_search(session, search)
        run = service.run_search(session, found.id)
        shown = run.matches[:limit]
        scores = read_model.latest_scores(session, shown)
        stacks = read_model.stacks(session, shown)
    rows = [
        {"property_id": str(pid), "score": scores[pid].score if pid in scores else None,
         "lists": len(stacks.get(pid, [])),
         "reasons": "; ".join(scores[pid].reasons[:3]) if pid in scores else ""}
        for pid in shown
    ]  # fmt: skip
    if as_json:
        print_json({"search_id": str(run.search_id), "matches": run.match_count,
                    "new": run.new_count, "items": rows})  # fmt: skip
        return
    typer.echo(f"{run.name}: {run.match_count:,} matches, {run.new_count:,} new since last run")
    print_table(rows, ["property_id", "score", "lists", "reasons"])


@score_app.callback()
def score_main(
    ctx: typer.Context,
    property_id: str | None = typer.Option(None, "--property", help="score this property"),
    all_properties: bool = typer.Option(False, "--all", help="score every property"),
    limit: int = typer.Option(20, min=1, help="top scores shown"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Score one property (--property ID) or all (--all), and show the top scores."""
    if ctx.invoked_subcommand is not None:
        return
    from reos.dealflow import service

    if property_id is None and not all_properties:
        raise ValidationFailed("give --property ID or --all (or a subcommand: train, models)")
    with org_session(org) as session:
        ids = None if all_properties else [parse_uuid(str(property_id), "property", "property")]
        if ids is not None:
            from reos.properties import read_model as properties_read

            if not properties_read.property_facts(session, ids):
                raise ValidationFailed(f"property {property_id} not found", field="property")
        scores = service.score_properties(session, ids)
    top = sorted(scores, key=lambda s: (-s.score, str(s.property_id)))[:limit]
    rows = [
        {"property_id": str(s.property_id), "score": s.score, "model": s.model_version,
         "reasons": "; ".join(s.reasons), "drivers": [(d.label, d.points) for d in s.drivers]}
        for s in top
    ]  # fmt: skip
    if as_json:
        print_json({"scored": len(scores), "items": rows})
        return
    typer.echo(f"scored {len(scores):,} properties")
    print_table(rows, ["property_id", "score", "model", "reasons"])


@score_app.command("train")
def score_train(
    outcomes: Path = typer.Option(
        ..., "--outcomes", help="CSV: property_id, outcome (won/accepted/true or lost/dead/false)"
    ),
    min_outcomes: int | None = typer.Option(
        None, "--min-outcomes", min=1, help="default REOS_SCORE_MIN_OUTCOMES"
    ),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Train the learned score on recorded outcomes; it replaces the default weights only
    when it beats them on the holdout and there are enough outcomes."""
    from reos.dealflow import service

    pairs = read_outcomes(outcomes)
    with org_session(org) as session:
        report = service.train_score_model(session, pairs, min_outcomes=min_outcomes)
    if as_json:
        print_json(report.to_dict())
        return
    typer.echo(
        f"model {report.version}: {report.outcome_count:,} outcomes ({report.positives:,} good), "
        f"holdout {report.holdout_rows:,}"
    )
    typer.echo(
        f"holdout AUC: learned {report.holdout_auc:.3f}, default weights {report.default_auc:.3f}"
    )
    typer.echo(report.reason)


def read_outcomes(path: Path) -> list[tuple[uuid.UUID, bool]]:
    """``(property id, good)`` pairs of an outcomes CSV; a bad row is refused by number."""
    if not path.exists():
        raise ValidationFailed(f"{path}: no such file", field="outcomes")
    out: list[tuple[uuid.UUID, bool]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            pid, outcome = row.get("property_id"), str(row.get("outcome", "")).strip().lower()
            try:
                property_id = uuid.UUID(str(pid))
            except ValueError:
                raise ValidationFailed(
                    f"{path.name} row {number}: property_id {pid!r} is not a UUID", field="outcomes"
                ) from None
            if outcome not in GOOD | BAD:
                raise ValidationFailed(
                    f"{path.name} row {number}: outcome {outcome!r} is not one of "
                    f"{', '.join(sorted(GOOD | BAD))}",
                    field="outcomes",
                )
            out.append((property_id, outcome in GOOD))
    return out


@score_app.command("models")
def score_models(org: str | None = OrgOption, as_json: bool = JsonOption) -> None:
    """Trained score models, newest first, with holdout AUCs."""
    from reos.dealflow import service

    with org_session(org) as session:
        rows = [
            {"version": m.version, "active": m.is_active, "outcomes": m.outcome_count,
             "holdout_auc": round(m.holdout_auc, 4), "default_auc": round(m.default_auc, 4),
             "created_at": m.created_at}
            for m in service.list_models(session)
        ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(rows, ["version", "active", "outcomes", "holdout_auc", "default_auc", "created_at"])


def mount(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")
    app.add_typer(searches_app, name="searches")
    app.add_typer(score_app, name="score")
