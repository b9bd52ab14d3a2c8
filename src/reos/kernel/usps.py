"""A fast parser for the common US street-address forms, in USPS Publication 28 style.

``usaddress``/``scourgify`` (a CRF tagger) costs about 0.3 ms per address; bulk imports
meet millions of addresses of a few plain shapes ("123 N MAIN ST", "4567 Oak Avenue Apt
2B", "12 W 3RD ST #4"). :func:`parse_street_line` reads exactly those shapes with a
tokeniser and three tables written from Publication 28:

* Appendix C1, street suffixes: each standard suffix abbreviation with the suffix name
  and the common spellings the Postal Service lists for it (``AVENUE``/``AV``/``AVEN`` ->
  ``AVE``);
* Appendix C2, secondary unit designators that require a number (``APARTMENT`` -> ``APT``,
  ``SUITE`` -> ``STE``, ``#``);
* section 233 / 294 directionals (``NORTH`` -> ``N``, ``NORTHWEST`` -> ``NW``).

It answers only when the whole line is recognised - house number, optional
pre-directional, one to four street-name words, a suffix, optional post-directional and
optional unit - and returns ``None`` for anything else (ranges, fractions, highways,
intersections, PO boxes, names that are directionals), which the caller hands to
scourgify. Two shapes that a token parser gets wrong in general are read in the forms
checked against scourgify, since they were most of what a synthetic sales file still sent
to it (4% of its addresses): a directional before a common suffix name ("N PARK ST"), and
a court with a unit ("5 OAK CT APT 2"). ``tests/ingest/test_usps_fast_path.py`` checks
that it agrees with scourgify on thousands of addresses wherever it answers.

Speed: the parser runs once per distinct address of a bulk import, so each street-name
word is classified by set lookups and ``str`` tests (one precomputed set of every word
that makes a line ambiguous) rather than a chain of regular-expression matches, and the
unit reader runs only when the line can end in a unit: about 2 microseconds a line, a
third of the regular-expression version's time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- Publication 28, Appendix C1: street suffixes ---------------------------------------
# Standard abbreviation: the suffix name and the other spellings Pub 28 lists for it.
# fmt: off
_SUFFIX_SPELLINGS: dict[str, str] = {
    "ALY": "ALLEY ALLEE ALLY ALY",
    "ANX": "ANEX ANNEX ANNX ANX",
    "ARC": "ARCADE ARC",
    "AVE": "AVENUE AV AVE AVEN AVENU AVN AVNUE",
    "BYU": "BAYOU BAYOO BYU",
    "BCH": "BEACH BCH",
    "BND": "BEND BND",
    "BLF": "BLUFF BLUF BLF",
    "BLFS": "BLUFFS BLFS",
    "BTM": "BOTTOM BOT BOTTM BTM",
    "BLVD": "BOULEVARD BOUL BOULV BLVD",
    "BR": "BRANCH BRNCH BR",
    "BRG": "BRIDGE BRDGE BRG",
    "BRK": "BROOK BRK",
    "BRKS": "BROOKS BRKS",
    "BYP": "BYPASS BYPA BYPAS BYPS BYP",
    "CYN": "CANYON CANYN CNYN CYN",
    "CPE": "CAPE CPE",
    "CSWY": "CAUSEWAY CAUSWA CSWY",
    "CTR": "CENTER CEN CENT CENTR CENTRE CNTER CNTR CTR",
    "CIR": "CIRCLE CIRC CIRCL CRCL CRCLE CIR",
    "CIRS": "CIRCLES CIRS",
    "CLF": "CLIFF CLF",
    "CLFS": "CLIFFS CLFS",
    "CLB": "CLUB CLB",
    "CMN": "COMMON CMN",
    "COR": "CORNER COR",
    "CORS": "CORNERS CORS",
    "CRSE": "COURSE CRSE",
    "CT": "COURT CT",
    "CTS": "COURTS CTS",
    "CV": "COVE CV",
    "CRK": "CREEK CRK",
    "CRES": "CRESCENT CRSENT CRSNT CRES",
    "CRST": "CREST CRST",
    "XING": "CROSSING CRSSNG XING",
    "CURV": "CURVE CURV",
    "DL": "DALE DL",
    "DM": "DAM DM",
    "DV": "DIVIDE DIV DVD DV",
    "DR": "DRIVE DRIV DRV DR",
    "DRS": "DRIVES DRS",
    "EST": "ESTATE EST",
    "ESTS": "ESTATES ESTS",
    "EXPY": "EXPRESSWAY EXPR EXPRESS EXPW EXPY",
    "EXT": "EXTENSION EXTN EXTNSN EXT",
    "FLS": "FALLS FLS",
    "FRY": "FERRY FRRY FRY",
    "FLD": "FIELD FLD",
    "FLDS": "FIELDS FLDS",
    "FLT": "FLAT FLT",
    "FLTS": "FLATS FLTS",
    "FRD": "FORD FRD",
    "FRST": "FOREST FORESTS FRST",
    "FRG": "FORGE FORG FRG",
    "FRK": "FORK FRK",
    "FRKS": "FORKS FRKS",
    "FWY": "FREEWAY FREEWY FRWAY FRWY FWY",
    "GDN": "GARDEN GARDN GRDEN GRDN GDN",
    "GDNS": "GARDENS GDNS",
    "GTWY": "GATEWAY GATEWY GATWAY GTWAY GTWY",
    "GLN": "GLEN GLN",
    "GRN": "GREEN GRN",
    "GRV": "GROVE GROV GRV",
    "HBR": "HARBOR HARB HARBR HRBOR HBR",
    "HVN": "HAVEN HVN",
    "HTS": "HEIGHTS HTS",
    "HWY": "HIGHWAY HIGHWY HIWAY HIWY HWAY HWY",
    "HL": "HILL HL",
    "HLS": "HILLS HLS",
    "HOLW": "HOLLOW HLLW HOLWS HOLW",
    "INLT": "INLET INLT",
    "JCT": "JUNCTION JCTION JCTN JUNCTN JUNCTON JCT",
    "KNL": "KNOLL KNOL KNL",
    "LK": "LAKE LK",
    "LKS": "LAKES LKS",
    "LNDG": "LANDING LNDNG LNDG",
    "LN": "LANE LN",
    "LGT": "LIGHT LGT",
    "LCK": "LOCK LCK",
    "LDG": "LODGE LDGE LODG LDG",
    "LOOP": "LOOP LOOPS",
    "MNR": "MANOR MNR",
    "MDW": "MEADOW MDW",
    "MDWS": "MEADOWS MEDOWS MDWS",
    "ML": "MILL ML",
    "MLS": "MILLS MLS",
    "MSN": "MISSION MISSN MSSN MSN",
    "MTWY": "MOTORWAY MTWY",
    "MTN": "MOUNTAIN MNTAIN MNTN MOUNTIN MTIN MTN",
    "NCK": "NECK NCK",
    "ORCH": "ORCHARD ORCHRD ORCH",
    "OVAL": "OVAL OVL",
    "OPAS": "OVERPASS OPAS",
    "PARK": "PARK PRK",
    "PKWY": "PARKWAY PARKWY PKWAY PKY PKWY",
    "PSGE": "PASSAGE PSGE",
    "PATH": "PATH PATHS",
    "PIKE": "PIKE PIKES",
    "PNES": "PINES PNES",
    "PL": "PLACE PL",
    "PLN": "PLAIN PLN",
    "PLNS": "PLAINS PLNS",
    "PLZ": "PLAZA PLZA PLZ",
    "PT": "POINT PT",
    "PTS": "POINTS PTS",
    "PRT": "PORT PRT",
    "PR": "PRAIRIE PRR PR",
    "RADL": "RADIAL RAD RADIEL RADL",
    "RNCH": "RANCH RANCHES RNCHS RNCH",
    "RPDS": "RAPIDS RPDS",
    "RST": "REST RST",
    "RDG": "RIDGE RDGE RDG",
    "RIV": "RIVER RVR RIVR RIV",
    "RD": "ROAD RD",
    "RDS": "ROADS RDS",
    "RTE": "ROUTE RTE",
    "ROW": "ROW",
    "RUE": "RUE",
    "RUN": "RUN",
    "SHR": "SHORE SHR",
    "SHRS": "SHORES SHRS",
    "SKWY": "SKYWAY SKWY",
    "SPG": "SPRING SPNG SPRNG SPG",
    "SPGS": "SPRINGS SPGS",
    "SQ": "SQUARE SQR SQRE SQU SQ",
    "STA": "STATION STATN STN STA",
    "STRM": "STREAM STREME STRM",
    "ST": "STREET STRT STR ST",
    "STS": "STREETS STS",
    "SMT": "SUMMIT SUMIT SUMITT SMT",
    "TER": "TERRACE TERR TER",
    "TRWY": "THROUGHWAY TRWY",
    "TRCE": "TRACE TRACES TRCE",
    "TRAK": "TRACK TRACKS TRK TRKS TRAK",
    "TRFY": "TRAFFICWAY TRFY",
    "TRL": "TRAIL TRAILS TRLS TRL",
    "TUNL": "TUNNEL TUNEL TUNLS TUNNELS TUNNL TUNL",
    "TPKE": "TURNPIKE TRNPK TURNPK TPKE",
    "UPAS": "UNDERPASS UPAS",
    "VLY": "VALLEY VALLY VLLY VLY",
    "VLYS": "VALLEYS VLYS",
    "VIA": "VIADUCT VDCT VIADCT VIA",
    "VW": "VIEW VW",
    "VWS": "VIEWS VWS",
    "VLG": "VILLAGE VILL VILLAG VILLG VILLIAGE VLG",
    "VL": "VILLE VL",
    "VIS": "VISTA VIST VST VSTA VIS",
    "WALK": "WALK WALKS",
    "WAY": "WAY WY",
    "WL": "WELL WL",
    "WLS": "WELLS WLS",
}
# fmt: on

#: Every spelling Pub 28 lists -> the standard suffix abbreviation.
STREET_SUFFIXES: dict[str, str] = {
    spelling: standard
    for standard, spellings in _SUFFIX_SPELLINGS.items()
    for spelling in spellings.split()
}
#: Suffixes the fast parser accepts, as the standard abbreviation or the suffix name:
#: the ones the CRF parser tags reliably. Rarer suffixes and spellings (``SUMITT``,
#: ``DRIV``) are left to it, since it may read them as part of the name.
FAST_SUFFIXES: frozenset[str] = frozenset(
    word
    for standard in ("AVE BLVD CIR CT CV DR LN LOOP PKWY PL RD ST TER TRL WAY").split()
    if standard in _SUFFIX_SPELLINGS
    for word in (standard, _SUFFIX_SPELLINGS[standard].split()[0])
)
#: The suffix *names* (``PARK``, ``HILL``, ``LAKE``): ordinary words in street names too.
_SUFFIX_NAMES = frozenset(spellings.split()[0] for spellings in _SUFFIX_SPELLINGS.values())

# --- Publication 28, Appendix C2: secondary unit designators that take a number ---------
# fmt: off
UNIT_DESIGNATORS: dict[str, str] = {
    "APARTMENT": "APT", "APT": "APT",
    "BUILDING": "BLDG", "BLDG": "BLDG",
    "DEPARTMENT": "DEPT", "DEPT": "DEPT",
    "FLOOR": "FL", "FL": "FL",
    "HANGAR": "HNGR", "HNGR": "HNGR",
    "KEY": "KEY",
    "LOT": "LOT",
    "PIER": "PIER",
    "ROOM": "RM", "RM": "RM",
    "SLIP": "SLIP",
    "SPACE": "SPC", "SPC": "SPC",
    "STOP": "STOP",
    "SUITE": "STE", "STE": "STE",
    "TRAILER": "TRLR", "TRLR": "TRLR",
    "UNIT": "UNIT",
}
# fmt: on
#: Designators the fast parser accepts; the CRF parser reads the others (TRAILER, SPACE,
#: BUILDING ...) inconsistently, so they go to it.
FAST_UNIT_DESIGNATORS = frozenset({"APT", "STE", "UNIT"})

# --- Publication 28, directionals ------------------------------------------------------
DIRECTIONALS: dict[str, str] = {
    "N": "N", "S": "S", "E": "E", "W": "W",
    "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}  # fmt: skip

_SHORT_DIRECTIONALS = frozenset(v for k, v in DIRECTIONALS.items() if k == v)

#: Words that make a line ambiguous for a token parser (highways, county roads, saints,
#: "and"/"&" intersections, PO boxes, rural routes): always left to the full parser.
_RESERVED = frozenset(
    "HWY HIGHWAY US SR RR CR COUNTY STATE ROUTE RTE BOX PO POB AND OF THE "
    "ST SAINT MT FT SAINTS OLD NEW JR SR CAMINO CALLE AVENIDA PASEO CALLEJON CARRETERA "
    "VIA RUE EL LA LOS LAS DE DEL".split()
)
_NOT_ALLOWED_TEXT = re.compile(r"[^A-Za-z0-9 .#-]")
_UNIT_ID = re.compile(r"[A-Z0-9]{1,6}")
_PERIOD_NOT_DECIMAL = re.compile(r"\.(?!\d)")
_MAX_NAME_WORDS = 4
_ORDINAL_ENDINGS = frozenset({"ST", "ND", "RD", "TH"})
#: Letter-only words that make a line ambiguous wherever they stand in the street name:
#: reserved words, directionals, suffix abbreviations that are not also suffix names
#: ("ST", "AVE" inside a name) and unit designators.
_AMBIGUOUS_WORDS = frozenset(
    _RESERVED
    | DIRECTIONALS.keys()
    | (STREET_SUFFIXES.keys() - _SUFFIX_NAMES)
    | UNIT_DESIGNATORS.keys()
)

#: Suffix names that the CRF parser reads as the street's name after a directional ("N
#: PARK ST", "W LAKE DR"), with one of the suffixes in ``_DIRECTIONAL_NAME_SUFFIXES``.
#: Both lists were checked against scourgify on ~100,000 fuzzed lines: rarer names (BEACH,
#: ROW, SKYWAY, PLAZA) and suffixes (PKWY, LOOP, CV, PL, TRL) were not always read that way.
_DIRECTIONAL_NAMES = frozenset(
    "LAKE HILL PARK RIDGE RIVER MILL SPRING VALLEY FOREST GROVE MEADOW CREEK BROOK GARDEN "
    "HILLS LAKES HARBOR VIEW SUMMIT ORCHARD CANYON MOUNTAIN CREST GLEN GREEN SHORE HEIGHTS "
    "MEADOWS".split()
)
_DIRECTIONAL_NAME_SUFFIXES = frozenset("AVE BLVD CIR CT DR LN RD ST TER WAY".split())
#: States whose code is also a directional: before ", CITY, NE" the CRF parser sometimes
#: reads a "COURT" as part of the place, so the two checked shapes (a directional before
#: a suffix name, a court with a unit: ``extra_shapes`` in ``parse_street_parts``) are
#: left to it there.
_STATES_READ_AS_DIRECTIONALS = frozenset({"NE"})


@dataclass(frozen=True)
class StreetLine:
    """A recognised street line: ``street`` is "123 N MAIN ST", ``unit`` "APT 4B" or None."""

    street: str
    unit: str | None


def ordinal(number: int) -> str:
    """English ordinal of a street number: 1ST, 2ND, 3RD, 4TH, 11TH, 12TH, 13TH, 21ST."""
    if number % 100 in (11, 12, 13):
        return f"{number}TH"
    return f"{number}{ {1: 'ST', 2: 'ND', 3: 'RD'}.get(number % 10, 'TH') }"


def parse_street_line(line: str, state: str | None = None) -> StreetLine | None:
    """The USPS form of a plain street line, or ``None`` when it is not one of the shapes
    this parser knows (the caller then uses the full parser). ``state`` is the address's
    state code: in Connecticut a ``CT`` suffix is ambiguous, so it is left to the parser."""
    parts = parse_street_parts(line, state)
    if parts is None:
        return None
    number, name, unit = parts
    return StreetLine(f"{number} {name}", unit)


def parse_street_parts(line: str, state: str | None = None) -> tuple[str, str, str | None] | None:
    """:func:`parse_street_line` as ``(house number, street name, unit)``, e.g. ``("123",
    "N MAIN ST", "APT 4B")``: the pieces ``reos.kernel.addresses`` builds its answer from,
    without splitting the street line again."""
    if not line or _NOT_ALLOWED_TEXT.search(line):
        return None  # only letters, digits, spaces and . # - are read here
    if "." in line:
        if _PERIOD_NOT_DECIMAL.sub("", line) != line.replace(".", ""):
            return None  # a decimal point: not a plain address
        line = line.replace(".", "")
    # The line is ASCII from here on, so str.isdigit/isalpha mean [0-9] and [A-Z].
    tokens = line.upper().split()
    if len(tokens) < 3:
        return None
    number = tokens[0]
    if len(number) > 6 or number[0] == "0" or not number.isdigit():
        return None  # not a house number 1-999999
    last = tokens[-1]
    unit = None
    if (
        "#" in last
        or last in UNIT_DESIGNATORS
        or (len(tokens) >= 5 and (tokens[-2] == "#" or tokens[-2] in FAST_UNIT_DESIGNATORS))
    ):  # the line may end in a unit (otherwise _take_unit finds none)
        taken = _take_unit(tokens)
        if isinstance(taken, bool):
            return None
        unit = taken
    # tokens is now: number [predir] name... suffix [postdir]
    post = None
    if tokens[-1] in _SHORT_DIRECTIONALS and len(tokens) >= 4 and tokens[-2] in FAST_SUFFIXES:
        post = tokens.pop()
    suffix_word = tokens.pop()
    if suffix_word not in FAST_SUFFIXES:
        return None
    suffix = STREET_SUFFIXES[suffix_word]
    extra_shapes = state not in _STATES_READ_AS_DIRECTIONALS
    if suffix == "CT" and (
        state == "CT" or unit is not None and not (extra_shapes and _checked_end(post, unit))
    ):
        return None  # COURT or Connecticut: the CRF parser reads CT by context
    pre = None
    rest = tokens[1:]
    if len(rest) >= 2 and rest[0] in DIRECTIONALS:
        pre = DIRECTIONALS[rest[0]]
        rest = rest[1:]
    if not 1 <= len(rest) <= _MAX_NAME_WORDS:
        return None
    for word in rest:
        if word.isalpha():
            if len(word) < 2 or word in _AMBIGUOUS_WORDS:
                return None
            if pre is not None and word in _SUFFIX_NAMES:
                if not (
                    extra_shapes and len(rest) == 1 and _directional_name(word, suffix, post, unit)
                ):
                    return None  # "E BEACH CT": the CRF parser may take BEACH for the suffix
        elif len(rest) != 1 or not _is_ordinal(word):
            return None  # only a correctly written ordinal ("3RD ST") stands alone
    name = " ".join(rest)
    if pre:
        name = f"{pre} {name}"
    name = f"{name} {suffix} {post}" if post else f"{name} {suffix}"
    return number, name, unit


def _directional_name(name: str, suffix: str, post: str | None, unit: str | None) -> bool:
    """After a directional, a suffix name alone ("N PARK ST", "W LAKE DR APT 4") that
    the CRF parser reads as the street's name: only the names, suffixes and line ends
    that were checked, since elsewhere it may take the name for the suffix."""
    return (
        name in _DIRECTIONAL_NAMES
        and suffix in _DIRECTIONAL_NAME_SUFFIXES
        and _checked_end(post, unit)
    )


def _checked_end(post: str | None, unit: str | None) -> bool:
    """How a line of the two checked shapes may end (see ``_DIRECTIONAL_NAMES``): no
    post-directional, and no unit or a worded designator with an identifier that starts
    with a digit ("APT 4", "STE 200B"). In those shapes the CRF parser keeps "# 12", "APT
    KNOLL" or "DR E APT 2" in the street line at times, so those are left to it."""
    return post is None and (
        unit is None or (unit[0] != "#" and unit[unit.index(" ") + 1].isdigit())
    )


def _is_ordinal(word: str) -> bool:
    """``1ST``, ``22ND``, ``103RD``: one to three digits and the right English ending."""
    digits = word[:-2]
    return (
        2 < len(word) <= 5
        and word[-2:] in _ORDINAL_ENDINGS
        and digits.isdigit()
        and ordinal(int(digits)) == word
    )


def _take_unit(tokens: list[str]) -> str | bool | None:
    """Remove a trailing unit from ``tokens``; its USPS text, None when there is none, or
    False when the tail looks like a unit but is not one this parser knows."""
    last = tokens[-1]
    if last.startswith("#"):
        ident = last[1:]
        if ident:
            if not _UNIT_ID.fullmatch(ident) or not ident[0].isdigit():
                return False
            tokens.pop()
            return f"# {ident}"
        return False
    if len(tokens) >= 5 and tokens[-2] == "#":
        if not _UNIT_ID.fullmatch(last) or not last[0].isdigit():
            return False
        del tokens[-2:]
        return f"# {last}"
    if len(tokens) >= 5 and tokens[-2] in FAST_UNIT_DESIGNATORS:
        ident = last
        if not (_UNIT_ID.fullmatch(ident) or _unit_range(ident)) or ident in UNIT_DESIGNATORS:
            return False
        designator = UNIT_DESIGNATORS[tokens[-2]]
        del tokens[-2:]
        return f"{designator} {ident}"
    if "#" in last or last in UNIT_DESIGNATORS:
        return False
    return None


def _unit_range(ident: str) -> bool:
    head, sep, tail = ident.partition("-")
    return bool(sep) and bool(_UNIT_ID.fullmatch(head)) and bool(_UNIT_ID.fullmatch(tail))
