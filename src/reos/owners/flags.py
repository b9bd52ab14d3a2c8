"""Owner flags per owner record: owner-occupied, absentee, out-of-state, corporate, foreign
mailing address, P.O. box, years owned.

Why: these are the list filters investors build campaigns from (absentee and out-of-state
owners, long holding periods, corporate landlords), as offered by list vendors such as
PropStream and DealMachine. Definitions used:
- owner-occupied: the mailing address is the property address (same street line and unit,
  and the same ZIP when both ZIPs are known, else the same city); absentee: both known
  and different. Unknown (None) when either address is missing or unreadable.
- out-of-state: both states known and different.
- corporate: the first owning party is an organisation (trusts, estates and government
  bodies have their own flags: they are not corporations).
- foreign mailing: the normalised mailing country is not "US".
- years owned: whole days from ``last_sale_date`` to ``as_of`` / 365.25, one decimal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pandas as pd

from reos.kernel.addresses import NormalizedAddress, normalize_address
from reos.owners.parties import clean_text, line_key, mailing_address_of, parsed_owner_of


@dataclass(frozen=True)
class OwnerFlags:
    record_id: str
    owner_occupied: bool | None
    absentee: bool | None
    out_of_state: bool | None
    corporate_owner: bool
    trust_owner: bool
    government_owner: bool
    foreign_mailing: bool
    po_box: bool
    years_owned: float | None


def same_address(a: NormalizedAddress, b: NormalizedAddress) -> bool | None:
    """True/False when both addresses are readable, None when either is missing."""
    la, lb = line_key(a), line_key(b)
    if not la or not lb:
        return None
    if a.key and b.key and a.zip and b.zip:
        return a.key == b.key
    if la != lb:
        return False
    if a.zip and b.zip:
        return a.zip[:5] == b.zip[:5]
    if a.city and b.city:
        return a.city == b.city
    return True


def _years(last_sale: Any, as_of: date) -> float | None:
    if last_sale is None or (isinstance(last_sale, float) and last_sale != last_sale):
        return None
    try:
        sold = pd.Timestamp(last_sale).date()
    except (ValueError, TypeError):
        return None
    if pd.isna(sold) or sold > as_of:
        return None
    return float(round((as_of - sold).days / 365.25, 1))


def owner_flags(row: dict[Any, Any], *, as_of: date | None = None) -> OwnerFlags:
    """Flags for one owner record (a mapping with the owner-record and property columns)."""
    as_of = as_of or date.today()
    mailing = mailing_address_of(row)
    prop_line = clean_text(row.get("property_address"))
    prop = normalize_address(
        prop_line,
        None,
        clean_text(row.get("property_city")),
        clean_text(row.get("property_state")),
        clean_text(row.get("property_zip")),
    )
    occupied = same_address(mailing, prop) if prop_line else None
    if mailing.country != "US" and occupied is not None:
        occupied = False
    out_of_state = None
    if mailing.country != "US" and prop.state:
        out_of_state = True
    elif mailing.state and prop.state:
        out_of_state = mailing.state != prop.state
    kind = parsed_owner_of(row).kind
    return OwnerFlags(
        record_id=str(row.get("record_id")),
        owner_occupied=occupied,
        absentee=None if occupied is None else not occupied,
        out_of_state=out_of_state,
        corporate_owner=kind == "organisation",
        trust_owner=kind == "trust",
        government_owner=kind == "government",
        foreign_mailing=mailing.country != "US",
        po_box=mailing.is_po_box,
        years_owned=_years(row.get("last_sale_date"), as_of),
    )


def owner_flags_frame(records: pd.DataFrame, *, as_of: date | None = None) -> pd.DataFrame:
    """One row of flags per record (columns of :class:`OwnerFlags`)."""
    rows = [asdict(owner_flags(r, as_of=as_of)) for r in records.to_dict("records")]
    return pd.DataFrame(rows, columns=list(OwnerFlags.__dataclass_fields__))
