"""Owner-name parsing: table-driven assessor-style and free-form strings."""

from __future__ import annotations

import pytest

from reos.owners.names import (
    canonical_given_name,
    classify,
    org_core_name,
    parse_owner_name,
    soundex,
    standardize_org_name,
)


def people(raw: str, raw2: str | None = None) -> list[tuple[str | None, str | None, str | None]]:
    parsed = parse_owner_name(raw, raw2)
    return [
        (p.person.first, p.person.middle, p.person.last)
        for p in parsed.owners
        if p.person is not None
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SMITH JOHN A", [("JOHN", "A", "SMITH")]),
        ("John Smith", [("JOHN", None, "SMITH")]),
        ("John A. Smith Jr.", [("JOHN", "A", "SMITH")]),
        ("SMITH, JOHN A", [("JOHN", "A", "SMITH")]),
        ("J A SMITH & MARY SMITH", [("J", "A", "SMITH"), ("MARY", None, "SMITH")]),
        ("SMITH JOHN & MARY", [("JOHN", None, "SMITH"), ("MARY", None, "SMITH")]),
        ("SMITH JOHN A & MARY B", [("JOHN", "A", "SMITH"), ("MARY", "B", "SMITH")]),
        ("JOHN AND MARY SMITH", [("JOHN", None, "SMITH"), ("MARY", None, "SMITH")]),
        ("SMITH JOHN ETUX MARY", [("JOHN", None, "SMITH"), ("MARY", None, "SMITH")]),
        ("SMITH JOHN/MARY", [("JOHN", None, "SMITH"), ("MARY", None, "SMITH")]),
        ("GARCIA MARIA ET AL", [("MARIA", None, "GARCIA")]),
        ("DE LA CRUZ JUAN CARLOS", [("JUAN", "CARLOS", "DE LA CRUZ")]),
        ("O'BRIEN PATRICK J", [("PATRICK", "J", "O'BRIEN")]),
        ("JOHNSON ROBERT H/W", [("ROBERT", None, "JOHNSON")]),
        (
            "SMITH JOHN 1/2 INT & JONES BOB 1/2 INT",
            [("JOHN", None, "SMITH"), ("BOB", None, "JONES")],
        ),
        ("JOHNNY KIM", [("JOHNNY", None, "KIM")]),
        ("SMITH JOHN & JONES MARY", [("JOHN", None, "SMITH"), ("MARY", None, "JONES")]),
        ("LE THI HOA", [("HOA", "THI", "LE")]),
        ("NGUYEN VAN MINH", [("MINH", "VAN", "NGUYEN")]),
        (
            "MARTINEZ JOSE L JR & MARTINEZ ROSA",
            [("JOSE", "L", "MARTINEZ"), ("ROSA", None, "MARTINEZ")],
        ),
    ],
)
def test_person_names(raw: str, expected: list[tuple[str | None, ...]]) -> None:
    assert people(raw) == expected


def test_second_owner_line_bare_given_name_shares_surname() -> None:
    assert people("SMITH JOHN A", "MARY") == [("JOHN", "A", "SMITH"), ("MARY", None, "SMITH")]
    assert people("SMITH JOHN A", "JONES MARY") == [("JOHN", "A", "SMITH"), ("MARY", None, "JONES")]


def test_suffix_kept() -> None:
    parsed = parse_owner_name("SMITH JOHN JR & SMITH JOHN SR")
    assert [p.person.suffix for p in parsed.owners if p.person] == ["JR", "SR"]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("ACME HOLDINGS LLC", "organisation"),
        ("ACME HOLDINGS, L.L.C.", "organisation"),
        ("MAPLE RIDGE PROPERTIES", "organisation"),
        ("FIRST BAPTIST CHURCH", "organisation"),
        ("WELLS FARGO BANK NA", "organisation"),
        ("US BANK TRUST NA", "organisation"),
        ("DEUTSCHE BANK NATIONAL TRUST CO TR", "organisation"),
        ("SUNSET ESTATES HOA", "organisation"),
        ("AUSTIN TEACHERS CREDIT UNION", "organisation"),
        ("SMITH FAMILY TRUST", "trust"),
        ("JOHN SMITH REVOCABLE TRUST", "trust"),
        ("SMITH JOHN A TR", "trust"),
        ("SMITH JOHN A & MARY B TRS", "trust"),
        ("ESTATE OF JOHN SMITH", "trust"),
        ("SMITH JOHN EST", "trust"),
        ("CITY OF AUSTIN", "government"),
        ("TRAVIS COUNTY", "government"),
        ("HOUSING AUTHORITY OF THE CITY OF AUSTIN", "government"),
        ("STATE OF TEXAS", "government"),
        ("SMITH JOHN A", "person"),
        ("", "unknown"),
        ("!!!", "unknown"),
    ],
)
def test_classification(raw: str, kind: str) -> None:
    assert parse_owner_name(raw).kind == kind


@pytest.mark.parametrize(
    ("raw", "person"),
    [
        ("JOHN SMITH REVOCABLE TRUST", ("JOHN", "SMITH")),
        ("SMITH JOHN A TR", ("JOHN", "SMITH")),
        ("THE SMITH JOHN A LIVING TRUST DTD 01/02/2003", ("JOHN", "SMITH")),
        ("SMITH FAMILY TRUST", (None, "SMITH")),
        ("ESTATE OF MARY JONES", ("MARY", "JONES")),
    ],
)
def test_person_extracted_from_trust(raw: str, person: tuple[str | None, str]) -> None:
    party = parse_owner_name(raw).owners[0]
    assert party.kind == "trust"
    assert party.person is not None
    assert (party.person.first, party.person.last) == person


def test_trust_with_two_trustees_names_both() -> None:
    party = parse_owner_name("SMITH JOHN A & MARY B TRS").owners[0]
    assert [(p.first, p.last) for p in party.named_persons] == [
        ("JOHN", "SMITH"),
        ("MARY", "SMITH"),
    ]


@pytest.mark.parametrize(
    "variant",
    [
        "ACME HOLDINGS LLC",
        "Acme Holdings, L.L.C.",
        "THE ACME HOLDINGS LLC",
        "ACME HOLDINGS LIMITED LIABILITY COMPANY",
        "ACME HLDGS LLC",
        "acme holdings l l c",
    ],
)
def test_org_standard_form(variant: str) -> None:
    assert standardize_org_name(variant) == "ACME HOLDINGS LLC"


def test_org_suffix_variants_and_core() -> None:
    assert standardize_org_name("Smith & Sons, Incorporated") == "SMITH AND SONS INC"
    assert standardize_org_name("SMITH AND SONS INC.") == "SMITH AND SONS INC"
    assert org_core_name("ACME HOLDINGS LLC") == "ACME HOLDINGS"
    assert standardize_org_name("THE SMITH FAMILY TR DTD 05/12/2004") == "SMITH FAMILY TRUST"


def test_org_keeps_legal_name_and_raw() -> None:
    parsed = parse_owner_name("Acme Holdings, L.L.C.")
    party = parsed.owners[0]
    assert parsed.raw == "Acme Holdings, L.L.C."
    assert party.org_name == "ACME HOLDINGS, L.L.C."
    assert party.org_std == "ACME HOLDINGS LLC"


def test_care_of_is_a_contact_not_an_owner() -> None:
    parsed = parse_owner_name("ABC LLC C/O JOHN SMITH")
    assert [p.kind for p in parsed.owners] == ["organisation"]
    contact = [p for p in parsed.parties if p.role == "care_of"]
    assert contact and contact[0].person is not None and contact[0].person.last == "SMITH"


@pytest.mark.parametrize(
    ("nick", "canonical"),
    [
        ("BOB", "ROBERT"),
        ("BOBBY", "ROBERT"),
        ("ROB", "ROBERT"),
        ("BILL", "WILLIAM"),
        ("WILL", "WILLIAM"),
        ("LIZ", "ELIZABETH"),
        ("BETH", "ELIZABETH"),
        ("PEGGY", "MARGARET"),
        ("JIM", "JAMES"),
        ("DICK", "RICHARD"),
        ("MARY", "MARY"),
        ("XAVIER", "XAVIER"),
    ],
)
def test_nicknames(nick: str, canonical: str) -> None:
    assert canonical_given_name(nick) == canonical


def test_degenerate_inputs_do_not_raise() -> None:
    assert parse_owner_name(None).owners == ()
    assert parse_owner_name("   ").warning == "owner name is blank"
    assert parse_owner_name("&&& ,,, ///").owners == ()
    long = parse_owner_name("SMITH JOHN " + "X" * 5000)
    assert long.warning is not None and "longer" in long.warning
    assert long.raw.startswith("SMITH JOHN")
    assert len(long.raw) == 5011


def test_non_latin_transliterated_where_possible_raw_kept() -> None:
    parsed = parse_owner_name("José Núñez")
    assert parsed.raw == "José Núñez"
    person = parsed.owners[0].person
    assert person is not None and (person.first, person.last) == ("JOSE", "NUNEZ")
    chinese = parse_owner_name("李小龙")
    assert chinese.owners and chinese.owners[0].person is not None
    assert chinese.owners[0].person.last == "李小龙"


def test_soundex() -> None:
    assert soundex("ROBERT") == soundex("RUPERT") == "R163"
    assert soundex("SMITH") == soundex("SMYTHE") == "S530"
    assert soundex(None) is None
    assert classify("SMITH JOHN") == "person"
