"""Offers on a deal: create (typed, or priced by the underwriting maximum offer), send,
counter, accept, reject, withdraw, expire — only along the legal transitions.

Statuses and the moves between them (:data:`TRANSITIONS`)::

    draft ──send──▶ sent ──accept──▶ accepted
      │               ├──reject──▶ rejected
      │               ├──counter─▶ countered (the answer is a new offer, parent_offer_id
      │               │                       = this one, status sent)
      │               ├──expire──▶ expired   (the deadline job, past expires_at)
      └──withdraw──▶ withdrawn ◀──withdraw──┘

``accepted``, ``rejected``, ``countered``, ``expired`` and ``withdrawn`` are final. Sending
an offer moves its deal to ``offer_sent`` and accepting one moves it to
``under_contract`` when the organisation has those stages and the deal is still before
them. Prices are dollars and cents, exact (``Decimal``, ``NUMERIC(14, 2)``); a price with
fractions of a cent is refused rather than rounded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reos.crm import service
from reos.crm import stages as stage_rules
from reos.db import tenancy
from reos.db.base import utcnow
from reos.errors import NotFound, ValidationFailed
from reos.kernel.jsonable import jsonable
from reos.models import Deal, Offer

STATUSES = ("draft", "sent", "countered", "accepted", "rejected", "expired", "withdrawn")
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent", "withdrawn"}),
    "sent": frozenset({"countered", "accepted", "rejected", "expired", "withdrawn"}),
}
#: Statuses a person may set directly (``countered`` comes with a counter-offer,
#: ``expired`` from the deadline job).
MANUAL = ("sent", "accepted", "rejected", "withdrawn")
PARTIES = ("buyer", "seller")
SOURCES = ("typed", "optimiser")
MAX_PRICE = Decimal("999999999999.99")
CENT = Decimal("0.01")


def check_price(value: Any, field: str = "price") -> Decimal:
    """A price in dollars as an exact ``Decimal``: positive, whole cents, within
    NUMERIC(14, 2). Floats are read through their shortest decimal form (250000.1 is
    250000.10, not 250000.099999...)."""
    try:
        price = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"{field}: {value!r} is not a number", field=field) from None
    if not price.is_finite() or price <= 0:
        raise ValidationFailed(f"{field}: {value} — must be greater than 0", field=field)
    if price != price.quantize(CENT):
        raise ValidationFailed(
            f"{field}: {value} has fractions of a cent; give dollars and cents", field=field
        )
    if price > MAX_PRICE:
        raise ValidationFailed(f"{field}: {value} — at most {MAX_PRICE}", field=field)
    return price.quantize(CENT)


def terms_json(terms: dict[str, Any] | None) -> dict[str, Any]:
    """Terms as stored: money (earnest money) as an exact decimal string, never a float."""
    out: dict[str, Any] = {}
    for key, value in (terms or {}).items():
        if isinstance(value, Decimal):
            out[key] = str(check_price(value, f"terms.{key}") if value else value)
        else:
            out[key] = jsonable(value)
    return out


def get_offer(session: Session, offer_id: uuid.UUID) -> Offer:
    offer = tenancy.get(session, Offer, offer_id)
    if offer is None:
        raise NotFound(f"offer {offer_id} not found", field="offer_id")
    return offer  # type: ignore[no-any-return]


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(
            f"expires_at: {expires_at.isoformat()} is not in the future", field="expires_at"
        )


def deal_for(session: Session, deal_id: uuid.UUID | None, property_id: uuid.UUID | None) -> Deal:
    """The deal an offer is made on: the one named, or the property's open deal (opened
    at ``new`` when the property has none). Another organisation's deal or property is a
    404."""
    if deal_id is not None:
        return service.get_deal(session, deal_id)
    if property_id is None:
        raise ValidationFailed("give deal_id or property_id", field="deal_id")
    deal = service.open_deal_of(session, property_id)
    if deal is None:
        deal = service.create_deal(session, property_id)
    return deal


def create_offer(
    session: Session,
    *,
    deal_id: uuid.UUID | None = None,
    property_id: uuid.UUID | None = None,
    price: Any = None,
    terms: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
    max_offer: dict[str, Any] | None = None,
) -> Offer:
    """A draft offer on a deal. Priced as typed (``price``), or by the underwriting
    maximum offer for the deal's property (``max_offer``: ``strategy``, ``constraints``,
    ``assumptions``; the highest whole-dollar price meeting every constraint, kept with
    the constraint that binds in ``basis``)."""
    deal = deal_for(session, deal_id, property_id)
    if deal.open_property_id is None:
        raise ValidationFailed(
            f"deal {deal.id} is closed ({deal.stage}); reopen it before making an offer",
            field="deal_id",
        )
    _check_expiry(expires_at, utcnow())
    basis: dict[str, Any] = {}
    if max_offer is not None:
        if price is not None:
            raise ValidationFailed("give price or max_offer, not both", field="price")
        from reos.underwriting import service as underwriting_service

        result, sources = underwriting_service.max_offer(
            session,
            dict(max_offer.get("constraints") or {}),
            property_id=deal.property_id,
            strategy=str(max_offer.get("strategy") or "rental"),
            assumptions=max_offer.get("assumptions"),
        )
        if result.max_offer is None:
            raise ValidationFailed(
                f"max_offer: no price to offer — {result.reason}",
                field="max_offer",
                reason=result.reason,
            )
        price_value = check_price(result.max_offer)
        source = "optimiser"
        basis = jsonable({**result.as_json(), "sources": sources,
                          "strategy": max_offer.get("strategy") or "rental"})  # fmt: skip
        service.record_event(
            session,
            deal,
            "underwriting",
            {"max_offer": result.max_offer, "binding": result.binding,
             "strategy": basis["strategy"]},
        )  # fmt: skip
    else:
        if price is None:
            raise ValidationFailed("give price (dollars) or max_offer", field="price")
        price_value = check_price(price)
        source = "typed"
    offer = Offer(
        deal_id=deal.id,
        property_id=deal.property_id,
        party="buyer",
        price=price_value,
        terms=terms_json(terms),
        source=source,
        basis=basis,
        status="draft",
        expires_at=expires_at,
        created_by=service.actor(session),
    )
    session.add(offer)
    session.flush()
    service.record_event(
        session,
        deal,
        "offer_created",
        {"offer_id": str(offer.id), "price": str(price_value), "source": source},
    )
    session.flush()
    return offer


def transition(
    session: Session,
    offer_id: uuid.UUID,
    status: str,
    *,
    expires_at: datetime | None = None,
    reason: str | None = None,
) -> Offer:
    """Move an offer to ``status`` (``sent``, ``accepted``, ``rejected``, ``withdrawn``)
    along a legal transition; anything else is a 422 naming the legal moves."""
    if status not in MANUAL:
        raise ValidationFailed(
            f"status {status!r}: set one of {', '.join(MANUAL)} (a counter-offer is "
            "POST /api/v1/offers/{id}/counter; offers expire by themselves)",
            field="status",
        )
    offer = get_offer(session, offer_id)
    deal = service.get_deal(session, offer.deal_id)
    if expires_at is not None:
        _check_expiry(expires_at, utcnow())
        offer.expires_at = expires_at
    apply_transition(session, deal, offer, status, reason=reason)
    service.flush_versioned(session, deal)
    return offer


def check_transition(offer: Offer, status: str) -> None:
    legal = TRANSITIONS.get(offer.status, frozenset())
    if status not in legal:
        shown = ", ".join(sorted(legal)) or "none (it is final)"
        raise ValidationFailed(
            f"offer {offer.id} is {offer.status}; it cannot become {status} "
            f"(from {offer.status}: {shown})",
            field="status",
            status=offer.status,
            legal=sorted(legal),
        )


def apply_transition(
    session: Session,
    deal: Deal,
    offer: Offer,
    status: str,
    *,
    reason: str | None = None,
    move_deal: bool = True,
    now: datetime | None = None,
) -> None:
    """Change a loaded offer's status (no flush), with its timeline event and the deal's
    stage moves that follow (see the module docstring)."""
    check_transition(offer, status)
    at = now or utcnow()
    if status in ("sent", "accepted") and deal.open_property_id is None:
        raise ValidationFailed(
            f"deal {deal.id} is closed ({deal.stage}); reopen it before its offers move on",
            field="status",
        )
    if status == "sent":
        _check_expiry(offer.expires_at, at)
        offer.sent_at = at
    else:
        offer.decided_at = at
    if status == "accepted":
        days = (offer.terms or {}).get("inspection_days")
        if days:
            offer.inspection_ends_at = at + timedelta(days=int(days))
    old = offer.status
    offer.status = status
    detail: dict[str, Any] = {"offer_id": str(offer.id), "from": old, "to": status,
                              "price": str(offer.price)}  # fmt: skip
    if reason:
        detail["reason"] = reason
    service.record_event(session, deal, f"offer_{status}", detail, at=at)
    if move_deal and deal.open_property_id is not None:
        target = {"sent": stage_rules.OFFER_SENT, "accepted": stage_rules.UNDER_CONTRACT}
        _advance(session, deal, target.get(status), f"offer {offer.id} {status}")


def _advance(session: Session, deal: Deal, target: str | None, cause: str) -> None:
    """Move the deal forward to ``target`` when the organisation has that stage and the
    deal is at an earlier one (never backwards)."""
    if target is None:
        return
    names = [s.name for s in service.stages_of(session)]
    if target not in names or deal.stage not in names:
        return
    if names.index(deal.stage) < names.index(target):
        session.flush()  # the offer's new status is what the stage rule checks
        service.change_stage(session, deal, target, None, cause=cause)


def counter(
    session: Session,
    offer_id: uuid.UUID,
    *,
    price: Any,
    terms: dict[str, Any] | None = None,
    party: str | None = None,
    expires_at: datetime | None = None,
) -> Offer:
    """Answer a sent offer with a counter-offer: the offer becomes ``countered`` and the
    counter is a new ``sent`` offer in the chain (``parent_offer_id``), made by the other
    party unless ``party`` says otherwise, with the parent's terms unless new ones are
    given."""
    parent = get_offer(session, offer_id)
    deal = service.get_deal(session, parent.deal_id)
    check_transition(parent, "countered")
    by = party or ("seller" if parent.party == "buyer" else "buyer")
    if by not in PARTIES:
        raise ValidationFailed(f"party: {by!r} — use buyer or seller", field="party")
    now = utcnow()
    _check_expiry(expires_at, now)
    price_value = check_price(price)
    apply_transition(session, deal, parent, "countered", move_deal=False, now=now)
    child = Offer(
        deal_id=deal.id,
        property_id=deal.property_id,
        parent_offer_id=parent.id,
        party=by,
        price=price_value,
        terms=terms_json(terms) if terms is not None else dict(parent.terms or {}),
        source="typed",
        basis={},
        status="sent",
        sent_at=now,
        expires_at=expires_at,
        created_by=service.actor(session),
    )
    session.add(child)
    session.flush()
    service.record_event(
        session,
        deal,
        "offer_countered",
        {"offer_id": str(child.id), "parent_offer_id": str(parent.id), "party": by,
         "price": str(price_value)},
        at=now,
    )  # fmt: skip
    service.flush_versioned(session, deal)
    return child


def offers_of(
    session: Session,
    *,
    deal_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 200,
) -> Sequence[Offer]:
    """Offers, newest first, of one deal and/or in one status."""
    stmt = select(Offer)
    if deal_id is not None:
        service.get_deal(session, deal_id)
        stmt = stmt.where(Offer.deal_id == deal_id)
    if status is not None:
        if status not in STATUSES:
            raise ValidationFailed(
                f"status {status!r}: use one of {', '.join(STATUSES)}", field="status"
            )
        stmt = stmt.where(Offer.status == status)
    stmt = stmt.order_by(Offer.created_at.desc(), Offer.id).limit(limit)
    return session.scalars(stmt).all()


def chain_of(session: Session, offer_id: uuid.UUID) -> list[Offer]:
    """The negotiation the offer belongs to: from the first offer through every
    counter, oldest first."""
    offer = get_offer(session, offer_id)
    by_id = {o.id: o for o in session.scalars(select(Offer).where(Offer.deal_id == offer.deal_id))}
    root = offer
    while root.parent_offer_id is not None and root.parent_offer_id in by_id:
        root = by_id[root.parent_offer_id]
    chain = [root]
    frontier = {root.id}
    while frontier:
        children = [o for o in by_id.values() if o.parent_offer_id in frontier]
        chain.extend(sorted(children, key=lambda o: (o.created_at, str(o.id))))
        frontier = {o.id for o in children}
    return chain
