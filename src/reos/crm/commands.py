"""``reos deals list|open|show|move|assign|note|tag|export``, ``reos offers create|send|counter|
accept|reject|withdraw|list`` and ``reos tasks list|done``.

Each command is one unit of work in the organisation (``--org`` when there are several),
acting as the operator (``cli:<user>`` on the timeline). A mistake (an unknown stage, a
move that skips required data, an illegal offer transition) prints one line naming it and
exits non-zero; nothing is changed. Imports nothing heavy at module level.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from reos.cli_support import JsonOption, OrgOption, org_session, parse_uuid, print_json, print_table
from reos.errors import ValidationFailed

deals_app = typer.Typer(
    help="Deals: the properties you pursue, stage by stage.", no_args_is_help=True
)
offers_app = typer.Typer(
    help="Offers on deals: create, send, counter, accept.", no_args_is_help=True
)
tasks_app = typer.Typer(help="Tasks on deals: what is due.", no_args_is_help=True)


def _day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"--{field}: {value!r} is not a date (YYYY-MM-DD)", field=field
        ) from None


def _moment(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"--{field}: {value!r} is not a date and time (2026-12-31T17:00:00+00:00)", field=field
        ) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def _deal_row(deal: Any, tags: list[str], members: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(deal.id),
        "stage": deal.stage,
        "score": deal.score,
        "address": ", ".join(p for p in (deal.address, deal.city, deal.state, deal.zip) if p),
        "assignee": members.get(deal.assignee_id) if deal.assignee_id else None,
        "next_action": deal.next_action,
        "due": deal.next_action_due.isoformat() if deal.next_action_due else None,
        "tags": ", ".join(tags),
        "reasons": "; ".join(str(r) for r in deal.reasons or []),
    }


def _filters(
    stage: list[str] | None,
    assignee: str | None,
    tag: str | None,
    min_score: int | None,
    max_score: int | None,
    city: str | None,
    zip_code: str | None,
    text: str | None,
    due_before: str | None,
    status: str,
    session: Any,
) -> Any:
    from reos.crm import listing, service

    return listing.DealFilters(
        stages=tuple(stage or ()),
        assignee_id=service.member_by_email(session, assignee) if assignee else None,
        tag=tag,
        min_score=min_score,
        max_score=max_score,
        city=city,
        zip=zip_code,
        text=text,
        due_before=_day(due_before, "due-before"),
        status=status,
    )


StageOpt = typer.Option(None, "--stage", help="only this stage (repeat for several)")
AssigneeOpt = typer.Option(None, "--assignee", help="only deals assigned to this member (email)")
TagOpt = typer.Option(None, "--tag", help="only deals with this tag")
MinOpt = typer.Option(None, "--min-score", min=0, max=100)
MaxOpt = typer.Option(None, "--max-score", min=0, max=100)
CityOpt = typer.Option(None, "--city")
ZipOpt = typer.Option(None, "--zip")
TextOpt = typer.Option(None, "--search", help="text in the address, city, state or ZIP")
DueOpt = typer.Option(None, "--due-before", help="next action due before YYYY-MM-DD")
StatusOpt = typer.Option("open", "--status", help="open, closed or all")
SortOpt = typer.Option("-score", "--sort", help="score, updated, due, address; - for descending")


@deals_app.command("list")
def deals_list(
    stage: list[str] | None = StageOpt,
    assignee: str | None = AssigneeOpt,
    tag: str | None = TagOpt,
    min_score: int | None = MinOpt,
    max_score: int | None = MaxOpt,
    city: str | None = CityOpt,
    zip_code: str | None = ZipOpt,
    text: str | None = TextOpt,
    due_before: str | None = DueOpt,
    status: str = StatusOpt,
    sort: str = SortOpt,
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    cursor: str | None = typer.Option(None, "--cursor", help="next page (printed after a page)"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Deals, best score first (or as --sort says), filtered."""
    from reos.crm import listing, service

    with org_session(org) as session:
        filters = _filters(stage, assignee, tag, min_score, max_score, city, zip_code, text,
                           due_before, status, session)  # fmt: skip
        rows, next_cursor = listing.page(session, filters, sort, limit, cursor)
        tags = service.tags_of(session, [d.id for d in rows])
        members = service.members(session)
        out = [_deal_row(d, tags[d.id], members) for d in rows]
    if as_json:
        print_json({"items": out, "next_cursor": next_cursor})
        return
    print_table(out, ["id", "stage", "score", "address", "assignee", "due", "tags", "reasons"])
    if next_cursor:
        typer.echo(f"more: --cursor {next_cursor}")


@deals_app.command("open")
def deals_open(
    property_id: str = typer.Argument(..., help="property id"),
    assignee: str | None = typer.Option(None, "--assignee", help="member's email"),
    org: str | None = OrgOption,
) -> None:
    """Open a deal on a property by hand, at stage new (the pipeline's shortlist opens
    them for scored properties)."""
    from reos.crm import service

    ident = parse_uuid(property_id, "property", "a property id")
    with org_session(org) as session:
        user_id = service.member_by_email(session, assignee) if assignee else None
        deal = service.create_deal(session, ident, assignee_id=user_id)
        deal_id = deal.id
    typer.echo(f"deal {deal_id} opened on property {ident} (stage new)")


@deals_app.command("show")
def deals_show(
    deal_id: str = typer.Argument(..., help="deal id"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """A deal with its notes, tasks, offers and activity timeline."""
    from reos.crm import offers, service

    ident = parse_uuid(deal_id, "deal", "a deal id")
    with org_session(org) as session:
        deal = service.get_deal(session, ident)
        members = service.members(session)
        row = _deal_row(deal, service.tags_of(session, [deal.id])[deal.id], members)
        row |= {"property_id": str(deal.property_id), "version": deal.version,
                "close_reason": deal.close_reason}  # fmt: skip
        notes = [{"at": n.created_at.isoformat(timespec="seconds"), "by": n.author, "note": n.body}
                 for n in service.notes_of(session, ident)]  # fmt: skip
        tasks = [{"id": str(t.id), "title": t.title, "due": t.due_date.isoformat() if t.due_date
                  else None, "done": t.done} for t in service.tasks_of(session, ident)]  # fmt: skip
        offer_rows = [_offer_row(o) for o in offers.offers_of(session, deal_id=ident)]
        events = [{"at": e.occurred_at.isoformat(timespec="seconds"), "by": e.actor,
                   "what": e.kind, "detail": e.detail} for e in service.events_of(session, ident)]  # fmt: skip
    if as_json:
        print_json({"deal": row, "notes": notes, "tasks": tasks, "offers": offer_rows,
                    "events": events})  # fmt: skip
        return
    for key, value in row.items():
        typer.echo(f"{key:>13}: {'' if value is None else value}")
    if offer_rows:
        typer.echo("offers:")
        print_table(offer_rows, ["id", "status", "price", "party", "parent", "expires_at"])
    if tasks:
        typer.echo("tasks:")
        print_table(tasks, ["id", "title", "due", "done"])
    if notes:
        typer.echo("notes:")
        print_table(notes, ["at", "by", "note"])
    typer.echo("timeline:")
    print_table(
        [{**e, "detail": _brief(e["detail"])} for e in events], ["at", "by", "what", "detail"]
    )


def _brief(detail: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", []))[:120]


@deals_app.command("move")
def deals_move(
    deal_id: str = typer.Argument(..., help="deal id"),
    stage: str = typer.Argument(..., help="the stage to move to"),
    reason: str | None = typer.Option(None, "--reason", help="why (needed to close as lost)"),
    org: str | None = OrgOption,
) -> None:
    """Move a deal to another stage (the rules: `reos deals move --help` and the README)."""
    from reos.crm import service

    ident = parse_uuid(deal_id, "deal", "a deal id")
    with org_session(org) as session:
        old = service.get_deal(session, ident).stage
        deal = service.move(session, ident, stage, reason=reason)
        new = deal.stage
    typer.echo(f"deal {ident}: {old} -> {new}")


@deals_app.command("assign")
def deals_assign(
    deal_id: str = typer.Argument(..., help="deal id"),
    member: str | None = typer.Argument(None, help="member's email (leave out with --none)"),
    none: bool = typer.Option(False, "--none", help="unassign"),
    org: str | None = OrgOption,
) -> None:
    """Assign a deal to a member of the organisation (or unassign it with --none)."""
    from reos.crm import service

    if (member is None) == (not none):
        raise ValidationFailed("give a member's email or --none", field="member")
    ident = parse_uuid(deal_id, "deal", "a deal id")
    with org_session(org) as session:
        user_id = service.member_by_email(session, member) if member else None
        service.assign(session, ident, user_id)
    typer.echo(f"deal {ident}: assigned to {member or 'nobody'}")


@deals_app.command("note")
def deals_note(
    deal_id: str = typer.Argument(..., help="deal id"),
    text: str = typer.Argument(..., help="the note"),
    org: str | None = OrgOption,
) -> None:
    """Add a note to a deal's timeline."""
    from reos.crm import service

    ident = parse_uuid(deal_id, "deal", "a deal id")
    with org_session(org) as session:
        note = service.add_note(session, ident, text)
        note_id = note.id
    typer.echo(f"note {note_id} added to deal {ident}")


@deals_app.command("tag")
def deals_tag(
    deal_id: str = typer.Argument(..., help="deal id"),
    add: list[str] | None = typer.Option(None, "--add", help="tag to add (repeat)"),
    remove: list[str] | None = typer.Option(None, "--remove", help="tag to remove (repeat)"),
    org: str | None = OrgOption,
) -> None:
    """Add or remove tags on a deal."""
    from reos.crm import service

    if not add and not remove:
        raise ValidationFailed("give --add TAG or --remove TAG", field="tag")
    ident = parse_uuid(deal_id, "deal", "a deal id")
    with org_session(org) as session:
        service.tag(session, ident, add or (), remove or ())
        tags = service.tags_of(session, [ident])[ident]
    typer.echo(f"deal {ident}: tags {', '.join(tags) or '(none)'}")


@deals_app.command("export")
def deals_export(
    out: Path | None = typer.Option(None, "--out", help="CSV file to write (default: stdout)"),
    stage: list[str] | None = StageOpt,
    assignee: str | None = AssigneeOpt,
    tag: str | None = TagOpt,
    min_score: int | None = MinOpt,
    max_score: int | None = MaxOpt,
    city: str | None = CityOpt,
    zip_code: str | None = ZipOpt,
    text: str | None = TextOpt,
    due_before: str | None = DueOpt,
    status: str = StatusOpt,
    sort: str = SortOpt,
    org: str | None = OrgOption,
) -> None:
    """Export the filtered deal list as CSV: the deal's columns, then the property's own
    columns as the imported file had them (every column, mapped or not)."""
    from reos.crm import export, listing

    listing.parse_sort(sort)
    with org_session(org) as session:
        filters = _filters(stage, assignee, tag, min_score, max_score, city, zip_code, text,
                           due_before, status, session)  # fmt: skip
        text_out = export.deals_csv(session, filters, sort)
    if out is None:
        typer.echo(text_out, nl=False)
        return
    out.write_text(text_out, encoding="utf-8", newline="")
    typer.echo(f"wrote {max(text_out.count(chr(10)) - 1, 0)} deals to {out}")


# --- offers -----------------------------------------------------------------------------


def _offer_row(offer: Any) -> dict[str, Any]:
    return {
        "id": str(offer.id),
        "deal": str(offer.deal_id),
        "status": offer.status,
        "price": f"{offer.price:,.2f}",
        "party": offer.party,
        "source": offer.source,
        "parent": str(offer.parent_offer_id) if offer.parent_offer_id else None,
        "sent_at": offer.sent_at.isoformat(timespec="seconds") if offer.sent_at else None,
        "expires_at": offer.expires_at.isoformat(timespec="seconds") if offer.expires_at else None,
    }


def _print_offer(offer: Any, as_json: bool) -> None:
    row = _offer_row(offer)
    if as_json:
        print_json(row | {"price": str(offer.price), "terms": offer.terms, "basis": offer.basis})
        return
    typer.echo(
        f"offer {row['id']}  {row['status']}  ${row['price']}  ({row['source']}, {row['party']})"
        f"  deal {row['deal']}"
    )


@offers_app.command("create")
def offers_create(
    deal: str | None = typer.Option(None, "--deal", help="deal id"),
    property_id: str | None = typer.Option(None, "--property", help="property id (its open deal)"),
    price: str | None = typer.Option(None, "--price", help="dollars and cents, e.g. 182500.00"),
    constraint: list[str] | None = typer.Option(
        None, "--constraint", help="price at the maximum offer meeting NAME=VALUE (repeat)"
    ),
    strategy: str = typer.Option("rental", "--strategy", help="rental, flip or commercial"),
    earnest: str | None = typer.Option(None, "--earnest", help="earnest money, dollars"),
    close_days: int | None = typer.Option(None, "--close-days", min=1, max=3650),
    inspection_days: int | None = typer.Option(None, "--inspection-days", min=0, max=365),
    contingency: list[str] | None = typer.Option(None, "--contingency", help="repeat"),
    expires: str | None = typer.Option(None, "--expires", help="ISO date and time"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """A draft offer: typed (--price) or at the underwriting maximum offer (--constraint
    min_dscr=1.25 ...)."""
    from reos.cli_support import validated
    from reos.crm import offers
    from reos.crm.schemas import OfferTerms

    if (deal is None) == (property_id is None):
        raise ValidationFailed("give --deal or --property", field="deal")
    terms = validated(
        OfferTerms,
        {k: v for k, v in {"earnest_money": earnest, "close_days": close_days,
                           "inspection_days": inspection_days,
                           "contingencies": contingency or None}.items() if v is not None},
    ).model_dump(exclude_none=True)  # fmt: skip
    max_offer = None
    if constraint:
        max_offer = {"strategy": strategy, "constraints": _constraints(constraint)}
    with org_session(org) as session:
        offer = offers.create_offer(
            session,
            deal_id=parse_uuid(deal, "deal", "a deal id") if deal else None,
            property_id=parse_uuid(property_id, "property", "a property id")
            if property_id
            else None,
            price=price,
            terms=terms,
            expires_at=_moment(expires, "expires"),
            max_offer=max_offer,
        )
        _print_offer(offer, as_json)


def _constraints(specs: list[str]) -> dict[str, float]:
    """``["min_dscr=1.25"]`` as ``{"min_dscr": 1.25}`` (the underwriting service checks
    the names against the strategy)."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        try:
            value = float(text) if sep else None
        except ValueError:
            value = None
        if value is None or value != value or value in (float("inf"), float("-inf")):
            raise ValidationFailed(
                f"--constraint {spec!r}: write NAME=NUMBER (min_dscr=1.25)", field="constraint"
            )
        out[name.strip()] = value
    return out


def _transition(offer_id: str, status: str, org: str | None, as_json: bool, **extra: Any) -> None:
    from reos.crm import offers

    ident = parse_uuid(offer_id, "offer", "an offer id")
    with org_session(org) as session:
        offer = offers.transition(session, ident, status, **extra)
        _print_offer(offer, as_json)


@offers_app.command("send")
def offers_send(
    offer_id: str = typer.Argument(..., help="offer id"),
    expires: str | None = typer.Option(None, "--expires", help="ISO date and time"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Send a draft offer (the deal moves to offer_sent)."""
    _transition(offer_id, "sent", org, as_json, expires_at=_moment(expires, "expires"))


@offers_app.command("accept")
def offers_accept(
    offer_id: str = typer.Argument(..., help="offer id"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Record that a sent offer was accepted (the deal moves to under_contract)."""
    _transition(offer_id, "accepted", org, as_json)


@offers_app.command("reject")
def offers_reject(
    offer_id: str = typer.Argument(..., help="offer id"),
    reason: str | None = typer.Option(None, "--reason"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Record that a sent offer was rejected."""
    _transition(offer_id, "rejected", org, as_json, reason=reason)


@offers_app.command("withdraw")
def offers_withdraw(
    offer_id: str = typer.Argument(..., help="offer id"),
    reason: str | None = typer.Option(None, "--reason"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Withdraw a draft or sent offer."""
    _transition(offer_id, "withdrawn", org, as_json, reason=reason)


@offers_app.command("counter")
def offers_counter(
    offer_id: str = typer.Argument(..., help="the sent offer answered"),
    price: str = typer.Option(..., "--price", help="the counter's price, dollars and cents"),
    party: str | None = typer.Option(None, "--party", help="buyer or seller (default: the other)"),
    expires: str | None = typer.Option(None, "--expires", help="ISO date and time"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a counter-offer: the offer becomes countered, the counter is sent."""
    from reos.crm import offers

    ident = parse_uuid(offer_id, "offer", "an offer id")
    with org_session(org) as session:
        child = offers.counter(
            session, ident, price=price, party=party, expires_at=_moment(expires, "expires")
        )
        _print_offer(child, as_json)


@offers_app.command("list")
def offers_list(
    deal: str | None = typer.Option(None, "--deal", help="deal id"),
    status: str | None = typer.Option(None, "--status"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Offers, newest first."""
    from reos.crm import offers

    with org_session(org) as session:
        rows = offers.offers_of(
            session, deal_id=parse_uuid(deal, "deal", "a deal id") if deal else None, status=status
        )
        out = [_offer_row(o) for o in rows]
    if as_json:
        print_json(out)
        return
    print_table(out, ["id", "deal", "status", "price", "party", "source", "parent", "expires_at"])


# --- tasks ------------------------------------------------------------------------------


@tasks_app.command("list")
def tasks_list(
    due: str | None = typer.Option(None, "--due", help="today or overdue (default: all open)"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Open tasks, soonest due first."""
    from reos.crm import service

    with org_session(org) as session:
        members = service.members(session)
        out = [
            {"id": str(t.id), "deal": str(t.deal_id), "title": t.title,
             "due": t.due_date.isoformat() if t.due_date else None,
             "assignee": members.get(t.assignee_id) if t.assignee_id else None}
            for t in service.open_tasks(session, due=due)
        ]  # fmt: skip
    if as_json:
        print_json(out)
        return
    print_table(out, ["id", "deal", "title", "due", "assignee"])


@tasks_app.command("done")
def tasks_done(
    task_id: str = typer.Argument(..., help="task id"),
    org: str | None = OrgOption,
) -> None:
    """Mark a task done."""
    from reos.crm import service

    ident = parse_uuid(task_id, "task", "a task id")
    with org_session(org) as session:
        task = service.set_task_done(session, ident, True)
        title = task.title
    typer.echo(f"task {ident} done: {title}")


def mount(app: typer.Typer) -> None:
    app.add_typer(deals_app, name="deals")
    app.add_typer(offers_app, name="offers")
    app.add_typer(tasks_app, name="tasks")
