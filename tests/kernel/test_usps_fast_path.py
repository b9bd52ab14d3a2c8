"""The fast street-address parser agrees with scourgify wherever it answers."""

from __future__ import annotations

import random

import pytest

from reos.kernel import addresses
from reos.kernel.addresses import compare_with_full_parser, normalize_address
from reos.kernel.usps import STREET_SUFFIXES, ordinal, parse_street_line, parse_street_parts

NAMES = (
    "Main Oak Maple Cedar Elm Pine Lake Hill Park Washington Lincoln Jackson Ridge Sunset "
    "River Church Mill Spring Walnut Chestnut Highland Meadow Forest Valley Prairie Broadway "
    "Market Union Franklin Madison Jefferson Adams Kennedy Sycamore Willow Birch Aspen "
    "Magnolia Cherry Orchard Garden Summit Harbor Ocean Canyon Mesa Vista Sierra Indian Bear "
    "Deer Fox Eagle Hawk Quail Robin"
).split()
MULTI = ("Oak Hill", "Lake Shore", "Martin Luther King", "Old Mill", "Spring Valley", "Deer Run",
         "Fox Chase", "Indian Creek", "Twin Lakes", "Country Club", "Cedar Ridge", "High Point")  # fmt: skip
SUFFIXES = ("St", "Street", "Ave", "Avenue", "Rd", "Road", "Dr", "Drive", "Ln", "Lane", "Ct",
            "Court", "Blvd", "Way", "Pl", "Cir", "Ter", "Pkwy", "Trl", "Loop", "Hwy", "Xing",
            "Sq", "Plz", "Aly", "Cove", "Run", "Pass", "Spur", "Row")  # fmt: skip
DIRECTIONS = ("N", "S", "E", "W", "NE", "NW", "SE", "SW", "North", "South", "East", "West")
UNITS = ("Apt", "Apartment", "Unit", "Ste", "Suite", "#", "Bldg", "Fl", "Rm", "Spc", "Lot", "Trlr")
PLACES = (
    ("Ames", "IA", "50010"), ("Des Moines", "IA", "50309"), ("Cedar Rapids", "IA", "52401"),
    ("Davenport", "IA", "52801"), ("Springfield", "IL", "62701"), ("Boston", "MA", "02110"),
    ("Hartford", "CT", "06103"), ("New York", "NY", "10001"), ("Los Angeles", "CA", "90001"),
    ("Fort Worth", "TX", "76102"), ("Mount Vernon", "NY", "10550"), ("Grand Rapids", "MI", "49503"),
    ("Saint Paul", "MN", "55101"), ("Sacramento", "California", "95838-1234"),
    ("Coeur d'Alene", "ID", "83814"), ("Winston-Salem", "NC", "27101"), ("Ames", "IA", None),
)  # fmt: skip
#: Addresses as county and MLS exports write them.
REAL_LOOKING = (
    "1600 Pennsylvania Ave NW", "350 5th Ave", "221 N Main St Apt 3", "4567 Oak Avenue Apt 2B",
    "12 W 3RD ST #4", "123 N MAIN ST", "3200 Lake Shore Dr Unit 1204", "77 Massachusetts Ave",
    "1 Infinite Loop", "500 S Buena Vista St", "2211 N First St Ste 200", "10 Downing Street",
    "3421 SW 17th Ter", "88 Colin P Kelly Jr St", "1313 Disneyland Dr", "742 Evergreen Terrace",
    "4059 Mt Lee Dr", "31 Spooner St", "2 Lincoln Memorial Cir NW", "405 Lexington Ave # 12",
    "600 Montgomery St Fl 4", "1060 W Addison St", "233 S Wacker Dr", "3799 S Las Vegas Blvd",
    "1 Dr Carlton B Goodlett Pl", "2300 Oakland Hills Ct", "14 E 60th St Apt 5C",
    "PO Box 123", "12-14 Main St", "12 1/2 Elm St", "US Highway 30", "County Road 5",
)  # fmt: skip


def _generated(count: int, seed: int) -> list[tuple[str, str | None, str | None, str | None]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = [str(rng.choice((rng.randint(1, 99), rng.randint(100, 9999), rng.randint(10_000, 99_999))))]  # fmt: skip
        if rng.random() < 0.25:
            parts.append(rng.choice(DIRECTIONS))
        pick = rng.random()
        if pick < 0.1:
            parts.append(str(rng.randint(1, 130)))
        elif pick < 0.15:
            parts.append(ordinal(rng.randint(1, 130)).lower())
        elif pick < 0.3:
            parts.append(rng.choice(MULTI))
        else:
            parts.append(rng.choice(NAMES))
        parts.append(rng.choice(SUFFIXES))
        if rng.random() < 0.1:
            parts.append(rng.choice(DIRECTIONS))
        if rng.random() < 0.25:
            unit = rng.choice(UNITS)
            ident = rng.choice(
                (str(rng.randint(1, 40)), rng.choice("ABCD"), f"{rng.randint(1, 9)}B")
            )
            parts.extend([unit + ident] if unit == "#" and rng.random() < 0.5 else [unit, ident])
        line = " ".join(parts)
        line = rng.choice((line, line.upper(), line.lower(), line.replace(" St", " St.")))
        out.append((line, *rng.choice(PLACES)))
    return out


def test_fast_parser_agrees_with_scourgify_wherever_it_answers() -> None:
    cases = _generated(4_000, seed=20_261_123)
    cases += [
        (line, city, state, zip5) for line in REAL_LOOKING for city, state, zip5 in PLACES[:6]
    ]
    answered = 0
    disagreements = []
    for line, city, state, zip5 in cases:
        fast, full = compare_with_full_parser(line, city, state, zip5)
        if fast is None:
            continue
        answered += 1
        if fast != full:
            disagreements.append((line, city, state, zip5, fast, full))
    assert disagreements == []
    assert answered > len(cases) * 0.35  # the fast path carries the plain majority


def test_import_path_matches_scourgify_including_places_that_confuse_it() -> None:
    """Through ``normalize_address`` (fast path plus the per-place check) every answer is
    scourgify's, even for a city such as "Avenue, MD" that the CRF reads as a suffix."""
    addresses._normalize_cached.cache_clear()
    addresses._PLACE_CHECKS.clear()
    rng = random.Random(5)
    odd_places = (*PLACES, ("Avenue", "MD", "20609"), ("Park Ridge", "IL", "60068"),
                  ("West Des Moines", "IA", "50265"), ("Lake City", "IA", "51449"))  # fmt: skip
    for line, *_ in _generated(1_500, seed=99):
        city, state, zip5 = rng.choice(odd_places)
        _fast, full = compare_with_full_parser(line, city, state, zip5)
        assert normalize_address(line, None, city, state, zip5) == full


def test_fast_answer_is_what_the_general_builder_makes() -> None:
    """The fast path assembles its answer from the parser's pieces (key and one-line text
    without regular expressions); it must equal what ``_address_of`` builds from the
    parser's street line, field for field."""
    answered = 0
    for line, city, state, zip5 in _generated(3_000, seed=7):
        text, c, s, z = (addresses._clean(v) for v in (line, city, state, zip5))
        assert text is not None
        place = addresses._place(c, s, z)
        raw = addresses._raw_text(text, c, s, z)
        fast = addresses._street_fast(raw, text, None, place)
        parsed = parse_street_line(text, place.state_out)
        if fast is None:
            assert parsed is None or not place.fast_ok
            continue
        answered += 1
        assert parsed is not None
        general = addresses._address_of(
            raw, parsed.street, parsed.unit, place.city_out, place.state_out, place.zip_out, None
        )
        assert fast == general and fast.__dict__ == general.__dict__
    assert answered > 1_000


@pytest.mark.parametrize(
    ("line", "street", "unit"),
    [
        ("123 N MAIN ST", "123 N MAIN ST", None),
        ("4567 Oak Avenue Apt 2B", "4567 OAK AVE", "APT 2B"),
        ("12 W 3RD ST #4", "12 W 3RD ST", "# 4"),
        ("12 w 3rd st # 4", "12 W 3RD ST", "# 4"),
        ("88 Lake Shore Dr. NE Unit 5", "88 LAKE SHORE DR NE", "UNIT 5"),
    ],
)
def test_fast_parser_reads_common_forms(line: str, street: str, unit: str | None) -> None:
    parsed = parse_street_line(line, "IA")
    assert parsed is not None and (parsed.street, parsed.unit) == (street, unit)


@pytest.mark.parametrize(
    "line",
    ["12 Main", "12-14 Main St", "12 1/2 Main St", "PO Box 5", "12 US Highway 30", "12 North St",
     "12 St Paul St", "12 Main St Basement", "12 Main Street Trailer 4", "12 W 3 St", "12 Camino Real"],
)  # fmt: skip
def test_fast_parser_leaves_the_rest_to_scourgify(line: str) -> None:
    assert parse_street_line(line, "IA") is None
    assert parse_street_parts(line, "IA") is None


def test_street_parts_are_the_street_line_split() -> None:
    assert parse_street_parts("88 Lake Shore Dr. NE Unit 5", "IA") == (
        "88", "LAKE SHORE DR NE", "UNIT 5",
    )  # fmt: skip
    assert parse_street_parts("12 w 3rd st # 4", "IA") == ("12", "W 3RD ST", "# 4")
    assert parse_street_parts("5 Elm Ct", "CT") is None  # COURT or Connecticut


def test_suffix_table_holds_publication_28_spellings() -> None:
    assert STREET_SUFFIXES["AVENUE"] == STREET_SUFFIXES["AVEN"] == "AVE"
    assert STREET_SUFFIXES["BOULEVARD"] == "BLVD" and STREET_SUFFIXES["CROSSING"] == "XING"
    assert STREET_SUFFIXES["PARKWAY"] == STREET_SUFFIXES["PKY"] == "PKWY"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 112)] == [
        "1ST", "2ND", "3RD", "4TH", "11TH", "12TH", "13TH", "21ST", "112TH",
    ]  # fmt: skip
