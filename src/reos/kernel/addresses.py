"""US address normalisation to USPS Publication 28 form, keeping the raw string.

Parsing and standard abbreviations (NORTH -> N, STREET -> ST, APARTMENT -> APT) come from
``usaddress-scourgify`` (which builds on the ``usaddress`` CRF parser); P.O. boxes, which
scourgify rejects, are recognised here in all their spellings (PO BOX, P.O. Box, POB,
Post Office Box) and written ``PO BOX <n>`` as Publication 28 prescribes. Foreign addresses
are kept as given and flagged, not forced into US form.

``normalize_address`` never raises: an address it cannot parse comes back with
``parsed=False``, a ``warning`` and the raw text, so a bad address never stops an import.

Speed: scourgify costs about 0.25 ms per call (~4,000 addresses/s on one core), too slow
for 20,000 rows/s bulk imports. Plain street lines ("123 N MAIN ST", "4567 Oak Avenue Apt
2B", "12 W 3RD ST #4") with city, state and ZIP given as parts are read by the fast parser
in ``reos.kernel.usps``, checked against scourgify on the first addresses of each place;
everything else goes to scourgify. Results are cached (``lru_cache``, ``CACHE_SIZE``
entries) so repeated addresses cost about a microsecond.

A distinct address is what a bulk import pays for, so that path is kept short: what
depends only on the place - state and ZIP coercion, the upper-cased city, whether the ZIP
already proves the address is in the US, the ", CITY, ST 12345" tail and the place part of
the key - is worked out once per (city, state, ZIP) and kept in a small bounded dict; a
fast-parsed address is assembled from the parser's pieces without re-reading them with
regular expressions; patterns are compiled once. Measured on a synthetic sales file (50,000
distinct addresses; a shared two-core machine, figures vary by a third): a fast-parsed
address costs about 9 microseconds from the raw parts, was about 40. Lines left to
scourgify still cost 250-500 microseconds each; they were 4% of that file's addresses and
more than half of its time (about 20 microseconds per distinct address overall) until the
fast parser learnt its two common refused shapes ("N PARK ST", "5 OAK CT APT 2"): now
only the per-place checks reach scourgify there, about 7 microseconds per address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from reos.kernel.coerce import CoercionError, to_state, to_zip5
from reos.kernel.usps import DIRECTIONALS, STREET_SUFFIXES, UNIT_DESIGNATORS, parse_street_parts

#: Entries of the normalisation cache. Each costs about 1 KB; 32k keep the cache's memory
#: bounded (~35 MB) whatever the file size while still catching nearby repeats.
CACHE_SIZE = 32_768


@dataclass(frozen=True)
class NormalizedAddress:
    """An address in USPS form plus the matching key; ``raw`` is what the caller passed."""

    raw: str
    street_number: str | None
    street_name: str | None  # e.g. "N MAIN ST" (pre-directional, name, suffix, post-directional)
    unit: str | None  # e.g. "APT 4B"
    city: str | None
    state: str | None
    zip: str | None  # 5 digits
    line1: str | None  # e.g. "123 N MAIN ST APT 4B"
    one_line: str | None  # "123 N MAIN ST APT 4B, SPRINGFIELD, IL 62701"
    key: str | None  # upper, no punctuation, standard abbreviations, zip when known
    is_po_box: bool
    country: str  # ISO 3166 alpha-2; "US" unless a foreign address is recognised
    parsed: bool  # False when the address could not be parsed; raw kept
    warning: str | None  # why it could not be parsed


_US_NAMES = frozenset(
    {"US", "USA", "U S", "U S A", "UNITED STATES", "UNITED STATES OF AMERICA", "AMERICA"}
)
_COUNTRIES: dict[str, str] = {
    "CANADA": "CA", "CAN": "CA", "MEXICO": "MX", "MEX": "MX", "UNITED KINGDOM": "GB",
    "UK": "GB", "GB": "GB", "GREAT BRITAIN": "GB", "ENGLAND": "GB", "SCOTLAND": "GB",
    "WALES": "GB", "IRELAND": "IE", "GERMANY": "DE", "FRANCE": "FR", "SPAIN": "ES",
    "ITALY": "IT", "NETHERLANDS": "NL", "SWITZERLAND": "CH", "AUSTRALIA": "AU",
    "NEW ZEALAND": "NZ", "JAPAN": "JP", "CHINA": "CN", "HONG KONG": "HK", "INDIA": "IN",
    "SINGAPORE": "SG", "ISRAEL": "IL", "BRAZIL": "BR",
    "UNITED ARAB EMIRATES": "AE", "UAE": "AE", "SOUTH KOREA": "KR", "KOREA": "KR",
    "TAIWAN": "TW", "PHILIPPINES": "PH", "BAHAMAS": "BS", "CAYMAN ISLANDS": "KY",
}  # fmt: skip
_CANADIAN_POSTCODE = re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[A-Z] ?\d[A-Z]\d\b")
_US_ZIP = re.compile(r"\b\d{5}\b")
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b")

_PO_BOX = re.compile(
    r"^\s*(?:P\.?\s*O\.?\s*(?:BOX|B\.?(?=\s|\d))|POB|POST\s+OFFICE\s+BOX|P\.?\s*O\.?\s*DRAWER|BOX)"
    r"\s*(?:NO\.?|#)?\s*([A-Z0-9][A-Z0-9-]*)\b",
    re.IGNORECASE,
)
_HOUSE_NUMBER = re.compile(r"^(\d+[A-Z]?(?:-\d+[A-Z]?)?(?: \d/\d)?)\s+(.+)$")
_SPACES = re.compile(r"\s+")
_NOT_KEPT_IN_TEXT = re.compile(r"[^\w#/,-]")
_NOT_KEPT_IN_KEY = re.compile(r"[^A-Z0-9]")
#: A ZIP that, as the last part of an address, makes ``_foreign_country`` answer "US"
#: whatever the street line says (see ``_Place.zip_proves_us``).
_US_ZIP_PART = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")
_UNIT_DESIGNATORS = frozenset(
    "APT BLDG DEPT FL HNGR KEY LOT PIER RM SLIP SPC STE STOP TRLR UNIT BSMT FRNT LBBY LOWR OFC PH REAR SIDE UPPR #".split()
)


def normalize_address(
    line1: str | None,
    line2: str | None = None,
    city: str | None = None,
    state: str | None = None,
    zip: str | None = None,
    country: str | None = None,
) -> NormalizedAddress:
    """Normalise a US address given as one line (``line1`` only) or in parts.

    Parts given explicitly (city, state, zip) win over what the parser finds in
    ``line1``. The ``key`` (house number, street, unit identifier without its designator,
    and the ZIP, else city and state) matches ``APT 4``, ``UNIT 4`` and ``# 4`` as one unit.
    """
    return _normalize_cached(
        _clean(line1), _clean(line2), _clean(city), _clean(state), _clean(zip), _clean(country)
    )


def cache_info() -> str:
    """Hit/miss counts of the normalisation cache, for benchmarks and import reports."""
    return str(_normalize_cached.cache_info())


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(str(value).split()) or None


def _raw_text(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


class _Place(NamedTuple):
    """What an address's answer takes from its (cleaned) city, state and ZIP alone."""

    city_out: str | None  # the city upper-cased
    state_out: str | None  # the state as a USPS code, None when it is not one
    zip_out: str | None  # the five-digit ZIP, None when it is not one
    raw_tail: str  # "city, state, zip": the parts given, as ``raw`` ends
    zip_proves_us: bool  # the ZIP is a US ZIP: ``_foreign_country`` is None (no country)
    fast_ok: bool  # the fast street parser may answer for a one-line street here
    one_line_tail: str  # ", CITY, ST 12345" as ``one_line`` ends after the street line
    key_tail: str  # " 12345" (else " CITY ST"): the place part of ``key``


#: Places seen lately, for ``_place``. An import meets a few thousand places; the bound
#: (about 15 MB at most) keeps a file of unusual places from growing it without limit.
_PLACES: dict[tuple[str | None, str | None, str | None], _Place] = {}
_MAX_PLACE_ENTRIES = 20_000


def _place(city: str | None, state: str | None, zip5: str | None) -> _Place:
    """The place's share of the answer, worked out on its first address and then looked
    up: a pure function of its arguments, so the cache never changes a result."""
    place = _PLACES.get((city, state, zip5))
    if place is not None:
        return place
    city_out = city.upper() if city else None
    state_out = _safe_state(state)
    zip_out = _safe_zip(zip5)
    place_key = _key_text(zip_out or " ".join(p for p in (city_out, state_out) if p))
    place = _Place(
        city_out=city_out,
        state_out=state_out,
        zip_out=zip_out,
        raw_tail=_raw_text(city, state, zip5),
        # With no country, "..., 12345" at the end of ``raw`` is both its last comma part
        # (not a country name) and a whole-word US ZIP, so _foreign_country answers None.
        zip_proves_us=zip5 is not None and _US_ZIP_PART.fullmatch(zip5) is not None,
        fast_ok=_fast_parser_may_answer(city, state_out, zip5, zip_out),
        one_line_tail="".join(
            f", {p}" for p in (city_out, " ".join(p for p in (state_out, zip_out) if p)) if p
        ),
        key_tail=f" {place_key}" if place_key else "",
    )
    if len(_PLACES) >= _MAX_PLACE_ENTRIES:
        _PLACES.clear()
    _PLACES[(city, state, zip5)] = place
    return place


@lru_cache(maxsize=CACHE_SIZE)
def _normalize_cached(
    line1: str | None,
    line2: str | None,
    city: str | None,
    state: str | None,
    zip5: str | None,
    country: str | None,
) -> NormalizedAddress:
    place = _place(city, state, zip5)
    if line2 is None and country is None:
        if line1:
            raw = f"{line1}, {place.raw_tail}" if place.raw_tail else line1
        else:
            raw = place.raw_tail
        foreign = None if place.zip_proves_us else _foreign_country(raw, None, state)
    else:
        raw = _raw_text(line1, line2, city, state, zip5, country)
        foreign = (
            None
            if country is None and place.zip_proves_us
            else _foreign_country(raw, country, state)
        )
    given_city, given_state, given_zip = place.city_out, place.state_out, place.zip_out
    if foreign is not None:
        text = _upper_clean(_raw_text(line1, line2)) or None
        return NormalizedAddress(
            raw=raw, street_number=None, street_name=None, unit=None,
            city=given_city, state=state.upper() if state else None, zip=zip5, line1=text,
            one_line=_upper_clean(raw) or None, key=_key_text(_upper_clean(raw)) or None,
            is_po_box=bool(line1 and _PO_BOX.match(line1)), country=foreign, parsed=False,
            warning=f"foreign address ({foreign}): kept as given, not USPS-normalised",
        )  # fmt: skip
    if not line1:
        return _unparsed(raw, None, given_city, given_state, given_zip, "no street address given")
    # _PO_BOX cannot match a line that starts with a digit; most lines do.
    po_box = None if "0" <= line1[0] <= "9" else _PO_BOX.match(line1)
    if po_box:
        return _po_box(raw, line1, po_box.group(1), given_city, given_state, given_zip)
    return _street(raw, line1, line2, place, city, state, zip5)


_PLAIN_CITY = re.compile(r"[A-Za-z]+(?:[ '-][A-Za-z]+)*")
#: Places (city, state, ZIP as given) where the fast parser's answers are checked against
#: scourgify's on the first addresses seen there: the count of agreements so far, or -1
#: once they disagreed. An unusual city name can change how the CRF tags the street
#: before it, so a place that disagreed once always takes the full parser.
_PLACE_CHECKS: dict[tuple[str | None, str | None, str | None], int] = {}
_CHECKS_PER_PLACE = 3
_MAX_PLACES = 50_000


def _street(
    raw: str,
    line1: str,
    line2: str | None,
    place: _Place,
    city: str | None,
    state: str | None,
    zip5: str | None,
) -> NormalizedAddress:
    """The street address in USPS form: the fast parser for plain lines in a checked
    place (see ``reos.kernel.usps``), scourgify for everything else."""
    fast = _street_fast(raw, line1, line2, place)
    if fast is None:
        return _street_scourgify(
            raw, line1, line2, place.city_out, place.state_out, place.zip_out, city, state, zip5
        )
    checked = (city, state, zip5)
    agreed = _PLACE_CHECKS.get(checked, 0)
    if agreed >= _CHECKS_PER_PLACE:
        return fast
    slow = _street_scourgify(
        raw, line1, line2, place.city_out, place.state_out, place.zip_out, city, state, zip5
    )
    if agreed >= 0:
        if len(_PLACE_CHECKS) >= _MAX_PLACES:
            _PLACE_CHECKS.clear()
        _PLACE_CHECKS[checked] = agreed + 1 if slow == fast else -1
    return slow


def _fast_parser_may_answer(
    city: str | None, given_state: str | None, zip5: str | None, given_zip: str | None
) -> bool:
    """The fast parser answers only with a US state, a plain city name that cannot be read
    as part of the street, and a valid ZIP or none."""
    return not (
        given_state is None
        or city is None
        or (given_zip is None and zip5 is not None)
        or not _PLAIN_CITY.fullmatch(city)
        or _risky_city(city)
    )


_new_object = object.__new__


def _street_fast(
    raw: str, line1: str, line2: str | None, place: _Place
) -> NormalizedAddress | None:
    """The fast parser's answer, or None when it does not read this line.

    The answer is what ``_address_of`` would build from the parser's street line, put
    together from the pieces directly: the house number and street name are the line's
    first token and the rest, and every piece is already upper-case letters and digits
    in single-spaced words, so its key text is itself (a unit range's hyphen becomes a
    space). It is built with ``object.__new__`` and its ``__dict__`` filled, which costs a
    quarter of the frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field);
    the object is the same in every respect (fields, equality, hash, pickling).
    """
    if line2 is not None or not place.fast_ok:
        return None
    parts = parse_street_parts(line1, place.state_out)
    if parts is None:
        return None
    number, name, unit = parts
    street = f"{number} {name}"
    if unit is None:
        line1_out = street
        key = street + place.key_tail
    else:
        line1_out = f"{street} {unit}"
        # unit is "APT 4B", "# 4" or "UNIT 3-5"; its key text is "4B", "4" or "3 5".
        key = f"{street} {unit.split(' ', 1)[1].replace('-', ' ')}{place.key_tail}"
    address: NormalizedAddress = _new_object(NormalizedAddress)
    address.__dict__.update(
        raw=raw,
        street_number=number,
        street_name=name,
        unit=unit,
        city=place.city_out,
        state=place.state_out,
        zip=place.zip_out,
        line1=line1_out,
        one_line=line1_out + place.one_line_tail,
        key=key,
        is_po_box=False,
        country="US",
        parsed=True,
        warning=None,
    )
    return address


@lru_cache(maxsize=4_096)
def _risky_city(city: str) -> bool:
    """A city whose first word could be read as part of the street before it (``Avenue``,
    ``Park Ridge``, ``West Des Moines``): the CRF parser may pull it into the street."""
    first = city.split(None, 1)[0].upper()
    return first in DIRECTIONALS or first in STREET_SUFFIXES or first in UNIT_DESIGNATORS


def compare_with_full_parser(
    line1: str, city: str | None = None, state: str | None = None, zip: str | None = None
) -> tuple[NormalizedAddress | None, NormalizedAddress]:
    """(fast parser's answer or None, scourgify's answer) for one address, uncached: what
    the fast-path agreement test and benchmarks compare."""
    line, c, s, z = _clean(line1) or "", _clean(city), _clean(state), _clean(zip)
    raw = _raw_text(line, None, c, s, z, None)
    place = _place(c, s, z)
    fast = _street_fast(raw, line, None, place)
    given = (place.city_out, place.state_out, place.zip_out)
    return fast, _street_scourgify(raw, line, None, *given, c, s, z)


def _address_of(
    raw: str,
    street_line: str,
    unit: str | None,
    city_out: str | None,
    state_out: str | None,
    zip_out: str | None,
    warning: str | None,
) -> NormalizedAddress:
    match = _HOUSE_NUMBER.match(street_line)
    number, street_name = (match.group(1), match.group(2)) if match else (None, street_line or None)
    line1_out = " ".join(p for p in (street_line, unit) if p) or None
    return NormalizedAddress(
        raw=raw,
        street_number=number,
        street_name=street_name,
        unit=unit,
        city=city_out,
        state=state_out,
        zip=zip_out,
        line1=line1_out,
        one_line=_one_line(line1_out, city_out, state_out, zip_out),
        key=_key(number, street_name, unit, city_out, state_out, zip_out),
        is_po_box=False,
        country="US",
        parsed=True,
        warning=warning,
    )


def _street_scourgify(
    raw: str,
    line1: str,
    line2: str | None,
    given_city: str | None,
    given_state: str | None,
    given_zip: str | None,
    city: str | None,
    state: str | None,
    zip5: str | None,
) -> NormalizedAddress:
    from scourgify import normalize_address_record

    text = ", ".join(p for p in (line1, line2) if p)
    tail = " ".join(p for p in (given_state or state, zip5) if p)
    full = ", ".join(p for p in (text, city, tail) if p)
    try:
        record = normalize_address_record(full)
    except Exception as err:  # scourgify raises several error classes; none may escape
        reason = str(err).split(":")[0].strip().lower() or type(err).__name__
        return _unparsed(
            raw, text, given_city, given_state, given_zip, f"could not parse address ({reason})"
        )
    street_line = record.get("address_line_1") or ""
    unit = record.get("address_line_2") or None
    parsed_city = record.get("city")
    parsed_state = _safe_state(record.get("state"))
    parsed_zip = _safe_zip(record.get("postal_code"))
    city_out = given_city or (parsed_city.upper() if parsed_city else None)
    state_out = given_state or parsed_state
    zip_out = given_zip or parsed_zip
    warning = None
    if record.get("state") and parsed_state is None and not given_state:
        warning = f"state {record.get('state')!r} is not a US state code"
    return _address_of(raw, street_line, unit, city_out, state_out, zip_out, warning)


def _po_box(
    raw: str,
    line1: str,
    box: str,
    given_city: str | None,
    given_state: str | None,
    given_zip: str | None,
) -> NormalizedAddress:
    """PO boxes per Publication 28 section 28.2: ``PO BOX 123``; city/state/ZIP from the
    parts given or parsed by ``usaddress`` from the rest of the line."""
    import usaddress

    city_out, state_out, zip_out = given_city, given_state, given_zip
    if not (city_out and state_out and zip_out):
        try:
            tags, _kind = usaddress.tag(line1)
        except usaddress.RepeatedLabelError:
            tags = {}
        city_out = city_out or (
            str(tags["PlaceName"]).upper().strip(", ") if "PlaceName" in tags else None
        )
        state_out = state_out or _safe_state(tags.get("StateName"))
        zip_out = zip_out or _safe_zip(tags.get("ZipCode"))
    line1_out = f"PO BOX {box.upper()}"
    return NormalizedAddress(
        raw=raw, street_number=None, street_name=None, unit=None, city=city_out,
        state=state_out, zip=zip_out, line1=line1_out,
        one_line=_one_line(line1_out, city_out, state_out, zip_out),
        key=_key(None, line1_out, None, city_out, state_out, zip_out), is_po_box=True,
        country="US", parsed=True, warning=None,
    )  # fmt: skip


def _unparsed(
    raw: str,
    street: str | None,
    city: str | None,
    state: str | None,
    zip5: str | None,
    warning: str,
) -> NormalizedAddress:
    text = _upper_clean(street) if street else ""
    return NormalizedAddress(
        raw=raw, street_number=None, street_name=None, unit=None, city=city, state=state,
        zip=zip5, line1=text or None, one_line=_one_line(text or None, city, state, zip5),
        key=_key(None, text or None, None, city, state, zip5), is_po_box=False,
        country="US", parsed=False, warning=warning,
    )  # fmt: skip


def _foreign_country(raw: str, country: str | None, state: str | None) -> str | None:
    """ISO code of a recognised foreign country: from ``country``, a country name after the
    last comma, or a Canadian/UK postcode in a line without a US ZIP; None for US."""
    if country:
        name = _upper_clean(country)
        if name in _US_NAMES:
            return None
        return _COUNTRIES.get(name, name[:2] if len(name) == 2 else name)
    upper = _upper_clean(raw)
    last = upper.rsplit(",", 1)[-1].strip() if "," in upper else ""
    if last in _COUNTRIES:
        return _COUNTRIES[last]
    if _US_ZIP.search(upper):
        return None
    if _CANADIAN_POSTCODE.search(upper):
        return "CA"
    if _UK_POSTCODE.search(upper):
        return "GB"
    return None


def _upper_clean(text: str) -> str:
    return _SPACES.sub(" ", _NOT_KEPT_IN_TEXT.sub(" ", text.upper())).strip(" ,")


def _safe_state(value: object) -> str | None:
    if not value:
        return None
    try:
        return to_state(value)
    except CoercionError:
        return None


def _safe_zip(value: object) -> str | None:
    if not value:
        return None
    try:
        return to_zip5(value)[0]
    except CoercionError:
        return None


def _one_line(
    line1: str | None, city: str | None, state: str | None, zip5: str | None
) -> str | None:
    tail = " ".join(p for p in (state, zip5) if p)
    text = ", ".join(p for p in (line1, city, tail) if p)
    return text or None


def _key_text(text: str) -> str:
    return _SPACES.sub(" ", _NOT_KEPT_IN_KEY.sub(" ", text.upper())).strip()


def _key(
    number: str | None,
    street: str | None,
    unit: str | None,
    city: str | None,
    state: str | None,
    zip5: str | None,
) -> str | None:
    if not street:
        return None
    unit_id = None
    if unit:
        words = unit.split()
        unit_id = " ".join(words[1:]) if len(words) > 1 and words[0] in _UNIT_DESIGNATORS else unit
    place = zip5 or " ".join(p for p in (city, state) if p)
    return _key_text(" ".join(p for p in (number, street, unit_id, place) if p)) or None
