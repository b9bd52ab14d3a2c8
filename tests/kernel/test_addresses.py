"""Address normalisation: USPS form, PO boxes, foreign and unparseable addresses."""

from __future__ import annotations

import pytest

from reos.kernel.addresses import (
    NormalizedAddress,
    _normalize_cached,
    compare_with_full_parser,
    normalize_address,
)


def test_one_line_address_in_usps_form() -> None:
    a = normalize_address("123 North Main Street Apt 4b, Springfield, IL 62701-1234")
    assert (a.street_number, a.street_name, a.unit) == ("123", "N MAIN ST", "APT 4B")
    assert (a.city, a.state, a.zip) == ("SPRINGFIELD", "IL", "62701")
    assert a.line1 == "123 N MAIN ST APT 4B"
    assert a.one_line == "123 N MAIN ST APT 4B, SPRINGFIELD, IL 62701"
    assert a.key == "123 N MAIN ST 4B 62701"
    assert a.raw == "123 North Main Street Apt 4b, Springfield, IL 62701-1234"
    assert a.parsed and not a.is_po_box and a.country == "US" and a.warning is None


def test_parts_and_unit_spellings_share_a_key() -> None:
    keys = {
        normalize_address("123 Main Street", "Unit 4", "Boston", "MA", "2110").key,
        normalize_address("123 MAIN ST APT 4", None, "Boston", "Massachusetts", "02110").key,
        normalize_address("123 Main St #4, Boston MA 02110").key,
    }
    assert keys == {"123 MAIN ST 4 02110"}


@pytest.mark.parametrize(
    "spelling", ["PO Box 123", "P.O. Box 123", "POB 123", "Post Office Box 123", "p o box 123"]
)
def test_po_boxes_all_spellings(spelling: str) -> None:
    a = normalize_address(f"{spelling}, Austin, TX 78701")
    assert a.is_po_box and a.parsed
    assert (a.line1, a.city, a.state, a.zip) == ("PO BOX 123", "AUSTIN", "TX", "78701")


def test_foreign_and_unparseable_are_kept_and_flagged() -> None:
    uk = normalize_address("10 Downing St, London SW1A 2AA, UK")
    assert (uk.country, uk.parsed) == ("GB", False)
    assert uk.warning == "foreign address (GB): kept as given, not USPS-normalised"
    canada = normalize_address("55 King St W", None, "Toronto", "ON", "M5K 1E7")
    assert canada.country == "CA" and not canada.parsed
    assert normalize_address("1 Rue de la Paix", country="France").country == "FR"
    junk = normalize_address("garbage here")
    assert not junk.parsed and junk.raw == "garbage here"
    assert junk.warning is not None and junk.warning.startswith("could not parse address")
    empty = normalize_address(None, city="Ames")
    assert not empty.parsed and empty.line1 is None and empty.key is None


def test_a_repeated_address_is_answered_from_the_cache() -> None:
    """A bulk import sees the same address many times: every repeat is one cache hit and
    the very same answer (how fast that is, is measured in benchmarks/import_speed.py)."""
    addresses = [f"{i} Oak Avenue, Ames, IA 50010" for i in range(200)]
    first = [normalize_address(line) for line in addresses]
    hits = _normalize_cached.cache_info().hits
    again = [normalize_address(line) for line in addresses]
    assert _normalize_cached.cache_info().hits - hits == len(addresses)
    assert all(a is b for a, b in zip(first, again, strict=True))


def test_a_us_zip_part_makes_the_address_us() -> None:
    """A UK-postcode-looking line is US when a US ZIP is given, foreign without one."""
    with_zip = normalize_address("10 Downing St SW1A 2AA", None, "Ames", "IA", "50010")
    assert (with_zip.country, with_zip.zip) == ("US", "50010")
    assert normalize_address("10 Downing St SW1A 2AA", None, "Ames", "IA").country == "GB"


def _usps(
    raw: str, number: str, name: str, unit: str | None, city: str, zip5: str
) -> NormalizedAddress:
    line1 = f"{number} {name} {unit}" if unit else f"{number} {name}"
    unit_id = unit.split(" ", 1)[1] if unit else None
    return NormalizedAddress(
        raw=raw, street_number=number, street_name=name, unit=unit, city=city, state="IA",
        zip=zip5, line1=line1, one_line=f"{line1}, {city}, IA {zip5}",
        key=" ".join(p for p in (number, name, unit_id, zip5) if p), is_po_box=False,
        country="US", parsed=True, warning=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("line", "number", "name", "unit"),
    [
        ("742 N River Avenue", "742", "N RIVER AVE", None),  # directional + suffix name
        ("12 southwest  lake dr Apt 4", "12", "SW LAKE DR", "APT 4"),
        ("7082 Mill Ct Apt 39", "7082", "MILL CT", "APT 39"),  # a court with a unit
        ("9 E Park Court Unit 2B", "9", "E PARK CT", "UNIT 2B"),
    ],
)
def test_shapes_the_fast_path_took_over_from_scourgify(
    line: str, number: str, name: str, unit: str | None
) -> None:
    """Directional + suffix-name streets and courts with a unit are read by the fast
    parser, with exactly scourgify's answer (they used to fall back to it)."""
    fast, full = compare_with_full_parser(line, "Cedar Rapids", "IA", "52401")
    raw = f"{' '.join(line.split())}, Cedar Rapids, IA, 52401"
    expected = _usps(raw, number, name, unit, "CEDAR RAPIDS", "52401")
    assert fast is not None and fast.__dict__ == full.__dict__ == expected.__dict__
    assert normalize_address(line, None, "Cedar Rapids", "IA", "52401") == expected


@pytest.mark.parametrize(
    ("line", "state"),
    [
        ("5 E Beach Ct", "IA"),  # a suffix name the CRF parser may read as the suffix
        ("5 N Ridge Pkwy", "IA"),  # a suffix it may leave unabbreviated
        ("5 N Park St E", "IA"),  # a post-directional
        ("5 Oak Ct #12", "IA"),  # a "#" unit after a court
        ("5 Oak Ct Apt B", "IA"),  # a unit identifier that does not start with a digit
        ("5 S Mill Court Apt 2", "NE"),  # Nebraska: NE is also a directional
    ],
)
def test_near_misses_of_those_shapes_stay_with_scourgify(line: str, state: str) -> None:
    fast, _full = compare_with_full_parser(line, "Ames", state, "50010")
    assert fast is None
