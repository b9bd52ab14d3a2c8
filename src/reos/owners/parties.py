"""Owner records -> one row per owning party, with the columns the matcher compares.

Why a party table: a record "SMITH JOHN & MARY" names two people, and each may appear on
other records alone ("MARY SMITH"); matching whole strings would miss that. Entity
resolution therefore compares parties (people, organisations, trusts) and rolls matches
back up to records (see ``reos.owners.resolution``). Care-of contacts are not parties:
they receive mail, they do not hold title.

Record input columns (``OWNER_RECORD_COLUMNS``): ``record_id`` (unique in the org),
``owner_name``, ``owner_name_2``, ``mailing_address``, ``mailing_address_2``,
``mailing_city``, ``mailing_state``, ``mailing_zip``, ``mailing_country``; optional
``property_address``, ``property_city``, ``property_state``, ``property_zip``,
``property_id``. Missing optional columns are treated as blank.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from functools import lru_cache
from typing import Any

import pandas as pd

from reos.errors import ValidationFailed
from reos.kernel.addresses import NormalizedAddress, normalize_address
from reos.kernel.usps import DIRECTIONALS, STREET_SUFFIXES
from reos.owners.names import (
    ParsedOwner,
    PersonName,
    org_number_tokens,
    parse_owner_name,
    soundex,
)

OWNER_RECORD_COLUMNS = (
    "record_id",
    "owner_name",
    "owner_name_2",
    "mailing_address",
    "mailing_address_2",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "mailing_country",
)
PROPERTY_COLUMNS = (
    "property_address",
    "property_city",
    "property_state",
    "property_zip",
    "property_id",
)

KIND_GROUP = {"person": "P", "organisation": "O", "government": "O", "trust": "T"}
"""Parties are only ever compared within a group: people with people, companies and public
bodies with each other, trusts/estates with trusts/estates."""

PARTY_COLUMNS = (
    "unique_id",
    "record_id",
    "party_index",
    "kind",
    "kind_group",
    "display_name",
    "first_name",
    "first_initial",
    "first_key",
    "middle_initial",
    "last_name",
    "last_initial",
    "last_key",
    "suffix",
    "org_std",
    "org_core",
    "org_numbers",
    "org_block",
    "addr_key",
    "addr_line",
    "addr_block",
    "street_number",
    "street_name",
    "street_key",
    "city",
    "zip5",
    "zip3",
    "name_token",
    "number_zip",
    "last_zip",
    "first_zip",
    "full_name",
    "sound_zip3",
    "street_zip",
    "street_city",
    "last_city",
    "last_street",
    "sound_names",
    "name_forward",
    "name_backward",
    "line2",
)
"""``*_key`` columns are Soundex codes (``names.soundex``), used only to block; ``number_zip``,
``last_zip``, ``first_zip``, ``full_name`` (given name + surname) and ``sound_zip3``
(surname Soundex + initial + ZIP3) join keys into one blocking column so an over-full block
(every JAMES SMITH in a metro area) can be blanked (``_cap_blocks``); records in it are
still compared through the address rules.

The last five catch what real rolls do to the others (FEBRL's error model): ``street_zip``
and ``street_city`` (street Soundex + ZIP or city) a surname and a given name both mistyped
at one street; ``last_city`` (surname + city) a moved or mistyped street number and ZIP;
``last_street`` (surname and street Soundex) a ZIP and city both wrong; ``sound_names``
(given-name and surname Soundex) one person whose address changed."""

CAPPED_BLOCKS = (
    "addr_block", "org_block", "number_zip", "last_zip", "first_zip", "full_name", "sound_zip3",
    "street_zip", "street_city", "last_city", "last_street", "sound_names",
)  # fmt: skip
NAME_ZIP_CAP = 100


def clean_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    text = str(value).strip()
    return text or None


def prepare_records(records: pd.DataFrame) -> pd.DataFrame:
    """Check and tidy the record frame: all input columns present, ``record_id`` unique text.

    Raises ``ValidationFailed`` naming the problem (missing column, duplicate or blank ids).
    """
    if "record_id" not in records.columns:
        raise ValidationFailed("owner records need a 'record_id' column", field="record_id")
    frame = records.copy()
    for column in OWNER_RECORD_COLUMNS + PROPERTY_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    ids = frame["record_id"].map(clean_text)
    if ids.isna().any():
        rows = [int(i) for i in ids[ids.isna()].index[:5]]
        raise ValidationFailed(
            f"owner records have blank record_id at rows {rows}; give every record an id",
            field="record_id",
        )
    frame["record_id"] = ids.astype(str)
    dupes = frame["record_id"][frame["record_id"].duplicated()].unique()
    if len(dupes):
        raise ValidationFailed(
            f"record_id must be unique; duplicated: {list(dupes[:5])}", field="record_id"
        )
    return frame.reset_index(drop=True)


@lru_cache(maxsize=500_000)
def _mailing(
    line1: str | None,
    line2: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    country: str | None,
) -> NormalizedAddress:
    return normalize_address(line1, line2, city, state, zip_code, country)


def mailing_address_of(row: dict[Hashable, Any]) -> NormalizedAddress:
    """Normalised mailing address of a record row (cached: shared addresses are common)."""
    return _mailing(
        clean_text(row.get("mailing_address")),
        clean_text(row.get("mailing_address_2")),
        clean_text(row.get("mailing_city")),
        clean_text(row.get("mailing_state")),
        clean_text(row.get("mailing_zip")),
        clean_text(row.get("mailing_country")),
    )


def parsed_owner_of(row: dict[Hashable, Any]) -> ParsedOwner:
    return parse_owner_name(clean_text(row.get("owner_name")), clean_text(row.get("owner_name_2")))


def line_key(address: NormalizedAddress) -> str | None:
    if not address.line1:
        return None
    text = "".join(ch if ch.isalnum() else " " for ch in address.line1.upper())
    tokens = [t for t in text.split() if t not in {"APT", "UNIT", "STE", "SUITE"}]
    return " ".join(tokens) or None


def second_line_key(line: str | None) -> str | None:
    """The second mailing line as written (a building, complex or care-of line), upper case
    with punctuation and spaces taken out, so "ROCKETT E LODGE" still meets "ROCKETTE LODGE"
    within an edit or two. A unit alone ("APT 5", "# 12") gives None: the unit is part of
    the address key already."""
    if not line:
        return None
    text = "".join(ch for ch in line.upper() if ch.isalnum())
    if not text or re.fullmatch(r"(APT|UNIT|STE|SUITE|NO|RM|ROOM|FL|FLOOR)?\d+[A-Z]?", text):
        return None
    return text


_NUMBER_STREET = re.compile(r"^\s*(?:(\d+[A-Z]?)(?:\s+|$))?([A-Z][A-Z .'-]*?)?\s*$")


def street_parts(line: str | None) -> tuple[str | None, str | None]:
    """Street number and name read from the first mailing line alone, for addresses the
    USPS normaliser could not parse (a garbled second line, a typo in the street type):
    "11 NAMATJIRA DRIVE" -> ("11", "NAMATJIRA DRIVE"); a line with the number missing or
    the street missing keeps the part it has ("EUCUMBENE DRIVE" -> (None, "EUCUMBENE
    DRIVE"), "8" -> ("8", None)), because rolls drop either. (None, None) if it does not
    look like number and street (a PO box, a line with other digits)."""
    if not line:
        return None, None
    found = _NUMBER_STREET.match(line.upper())
    if not found:
        return None, None
    street = found.group(2)
    if street:  # the street type in its Pub. 28 abbreviation, as the normaliser writes it
        *name, last = street.split()
        if name and last in STREET_SUFFIXES:
            street = " ".join([*name, STREET_SUFFIXES[last]])
    return found.group(1), street


def _joined(*parts: str | None) -> str | None:
    return None if any(p is None for p in parts) else " ".join(str(p) for p in parts)


def _street_key(street_name: str | None) -> str | None:
    """Soundex of the longest word of the street name that is not a street type or a
    direction ("N MAIN ST" -> M500, "HYNDES CRESCENT" -> H532), so "MAIN ST" and "MIAN
    STREET" share a block. Street types are USPS Pub. 28 C1's suffixes in every spelling
    (``kernel.usps.STREET_SUFFIXES``); a name made only of such words ("PARK PLACE") keeps
    them."""
    if not street_name:
        return None
    words = [w for w in street_name.split() if w not in DIRECTIONALS]
    named = [w for w in words if w not in STREET_SUFFIXES] or words
    return soundex(max(named, key=len)) if named else None


def _run_together(person: PersonName | None) -> tuple[str | None, str | None]:
    """A person's name with the spaces taken out, given name first and surname first.

    Why: a space slipped into a name ("WHITE ARC HIE" for "WHITE, ARCHIE", "JACI REI D"
    for "JACK REID") moves letters from one name part to another, so no part compares
    well while the letters still agree; FEBRL's error model inserts such spaces, and
    rolls keyed by hand do too. The surname-first form meets a record whose name order
    was read the other way."""
    if person is None:
        return None, None
    given = "".join(p for p in (person.first, person.middle) if p)
    last = re.sub(r"[^\w]", "", person.last or "")
    if not given or not last:
        return None, None
    given = re.sub(r"[^\w]", "", given)
    return given + last, last + given


def _cap_blocks(frame: pd.DataFrame, column: str, max_block_size: int) -> pd.Series:
    """The column with values shared by more than ``max_block_size`` parties blanked, so one
    huge group (a property manager's office, "PO BOX 1") cannot explode the pair count."""
    counts = frame.groupby(["kind_group", column])[column].transform("size")
    return frame[column].where(counts <= max_block_size)


def build_party_frame(records: pd.DataFrame, *, max_block_size: int = 400) -> pd.DataFrame:
    """One row per owning party of each record (records without a readable name give none).

    ``records`` must already have passed :func:`prepare_records`.
    """
    rows: list[dict[str, Any]] = []
    uid = 0
    for row in records.to_dict("records"):
        parsed = parsed_owner_of(row)
        address = mailing_address_of(row)
        zip5 = (
            address.zip if address.zip and address.zip.isdigit() and len(address.zip) == 5 else None
        )
        number, street = address.street_number, address.street_name
        if number is None and street is None:
            number, street = street_parts(clean_text(row.get("mailing_address")))
        base = {
            "record_id": row["record_id"],
            "addr_key": address.key,
            # the street line alone: the same address written with and without its ZIP
            "addr_line": line_key(address),
            "street_number": number,
            "street_name": street,
            "street_key": _street_key(street),
            "city": address.city.upper() if address.city else None,
            "zip5": zip5,
            "zip3": zip5[:3] if zip5 else None,
            "line2": second_line_key(clean_text(row.get("mailing_address_2"))),
        }
        for index, party in enumerate(parsed.owners):
            group = KIND_GROUP.get(party.kind)
            if group is None:
                continue
            person = party.person
            first = person.first_canonical if person else None
            last = person.last_std if person else None
            last_key = soundex(last)
            forward, backward = _run_together(person)
            org_tokens = (party.org_core or "").split()
            org_block = " ".join(org_tokens[:2]) if org_tokens else None
            rows.append(
                {
                    **base,
                    "unique_id": uid,
                    "party_index": index,
                    "kind": party.kind,
                    "kind_group": group,
                    "display_name": party.display_name,
                    "first_name": first,
                    "first_initial": first[0] if first else None,
                    "first_key": soundex(first),
                    "middle_initial": person.middle_initial if person else None,
                    "last_name": last,
                    "last_initial": last[0] if last else None,
                    "last_key": last_key,
                    "suffix": person.suffix if person else None,
                    "org_std": party.org_std,
                    "org_core": party.org_core,
                    "org_numbers": org_number_tokens(party.org_std) if party.org_std else None,
                    "org_block": org_block,
                    "name_token": last_key
                    if group == "P"
                    else (org_tokens[0] if org_tokens else last_key),
                    "number_zip": _joined(base["street_number"], zip5),
                    "last_zip": _joined(last, zip5),
                    "first_zip": _joined(first, zip5),
                    "full_name": _joined(first, last),
                    "sound_zip3": _joined(
                        last_key, first[0] if first else None, zip5[:3] if zip5 else None
                    ),
                    "street_zip": _joined(base["street_key"], zip5),
                    "street_city": _joined(base["street_key"], base["city"]),
                    "last_city": _joined(last, base["city"]),
                    "last_street": _joined(last_key, base["street_key"]),
                    "sound_names": _joined(soundex(first), last_key),
                    "name_forward": forward,
                    "name_backward": backward,
                }
            )
            uid += 1
    frame = pd.DataFrame(rows, columns=[c for c in PARTY_COLUMNS if c != "addr_block"])
    frame["addr_block"] = frame["addr_key"]
    if len(frame):
        for column in CAPPED_BLOCKS:
            # name + ZIP blocks are capped harder: a common name in a big ZIP is caught by
            # the address rules, and 100 parties make at most 4,950 pairs
            cap = max_block_size if column in ("addr_block", "org_block") else NAME_ZIP_CAP
            frame[column] = _cap_blocks(frame, column, cap)
    frame = frame.astype({"unique_id": "int64", "party_index": "int64"})
    object_columns = [c for c in frame.columns if c not in {"unique_id", "party_index"}]
    frame[object_columns] = (
        frame[object_columns].astype(object).where(frame[object_columns].notna(), None)
    )
    return frame[list(PARTY_COLUMNS)]
