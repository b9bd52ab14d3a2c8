"""The Splink (Fellegi-Sunter) model that scores pairs of owner parties, on DuckDB.

Why Splink: it implements the Fellegi-Sunter model (Fellegi & Sunter 1969, "A Theory for
Record Linkage", JASA 64:1183) with term-frequency adjustments and unsupervised EM
training, so an organisation's own roster trains its own model without labels
(Splink docs: https://moj-analytical-services.github.io/splink/). Version 5 API:
``db_api.register(df)``, ``Linker(sdf, settings)``, ``linker.training.*``,
``linker.inference.predict / predict_between / predict_within``.

Model (all comparisons are within a kind group, enforced by every blocking rule):
- first name (nickname-canonical): exact (TF-adjusted) / Jaro-Winkler >= 0.92 / one side is
  the other's initial / different;
- middle initial: same / different (null when either is missing);
- generational suffix (JR, SR, II ...): same / different - father and son at one address;
- surname: exact (TF) / Jaro-Winkler >= 0.92 / different;
- organisation or trust standard name: exact (TF) / same name without legal form / numbers
  differ ("ACME 2 LLC" vs "ACME 3 LLC") / one typo apart in a name of 8+ letters (a
  sibling LLC differs by a word, a mistyped one by a letter) / Jaro-Winkler >= 0.95 /
  >= 0.88 / different;
- mailing address: same key (TF: a property manager's office is weak evidence) / same
  street number and similar street in the same ZIP / same ZIP / same ZIP3 / different
  (trusts and organisations); for people the street line and the locality apart, and
- the second mailing line as written (a building, complex or care-of line; TF) / within two
  edits / different;
- for people, a last level on both name parts: the whole name agrees with its spaces taken
  out (a space slipped into a name: "WHITE ARC HIE" for "WHITE, ARCHIE").
Blocking OR's rules on names, names + ZIP, Soundex keys, street + ZIP / city and street
number + street, so each catches what real lists do to the others (``blocking_rules``).
First-name m probabilities are fixed, not trained: among pairs at one address with one
surname, EM cannot tell spouses (different first names) from one person written twice and
learns that half of true matches have different first names. The fixed values say what
rolls show: the canonical first name agrees on ~86% of true pairs, the rest split between
typos, initials and unlisted nicknames.
Trusts' address m probabilities are fixed too (0.8 same address ... 0.04 different). Trained,
EM learned that the address says nothing about trusts (m of "same address" 0.02, of
"different" 0.56, about its u): its name block pairs every "JAMES JOHNSON REV LIV TRUST" in
the county, different households at different addresses, and takes them for matches. With
names alone deciding, common-name trusts chained into clusters of 20 at 100,000 generated
records. Fixed, pairwise precision there went from 0.985 to 0.991 and recall from 0.959 to
0.965 (``benchmarks/owner_resolution.py``). A trust and its trustee at one address ("JONES
MARILYN A TRUSTEE" / "MARILYN JONES REV LIV TRUST") are sure links made beside the model
(``resolution.trustee_edges``).
Tried and left out, measured with ``benchmarks/owner_resolution.py``: a co-owner
comparison (the other person on a two-person record) and an organisation level for the same
words in another order ("BROWN MARILYN TR" / "MARILYN BROWN REV LIV TRUST") each raised
recall on 10,000 generated records, but at 100,000 records pairwise precision fell from
0.985 to about 0.96 and 0.975: common couples ("JOHN & MARY SMITH") and common trust names
repeat across households, and neither level knows how common its value is.
ZIP is folded into the address comparison rather than a separate one, because the model
assumes comparisons independent given match status and the address key contains the ZIP.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import duckdb
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

logger = logging.getLogger(__name__)

TF_COLUMNS = ("first_name", "last_name", "addr_key", "addr_line", "line2")


SWAPPED = "first_name_l = last_name_r AND last_name_l = first_name_r"
"""Given name and surname written the other way round on one record."""
SWAPPED_FUZZY = (
    "jaro_winkler_similarity(first_name_l, last_name_r) >= 0.88 "
    "AND jaro_winkler_similarity(last_name_l, first_name_r) >= 0.88"
)
"""Swapped, with a typo in one or both (FEBRL's swaps often carry one)."""
RUN_TOGETHER = " OR ".join(
    f"(abs(length({a}_l) - length({b}_r)) <= 1 AND left({a}_l, 2) = left({b}_r, 2) "
    f"AND damerau_levenshtein({a}_l, {b}_r) <= 1)"
    for a, b in (
        ("name_forward", "name_forward"),
        ("name_forward", "name_backward"),
        ("name_backward", "name_forward"),
    )
)
"""The whole name agrees once spaces are taken out (``parties._run_together``): a space
slipped into a name part, in either name order, at most one more edit. Placed after the
levels that compare each part, so it only takes what they miss."""
SAME_STREET = (
    "(street_name_l = street_name_r OR jaro_winkler_similarity(street_name_l, street_name_r) "
    ">= 0.88 OR damerau_levenshtein(street_name_l, street_name_r) <= 2)"
)
SAME_PLACE = "(zip5_l = zip5_r OR city_l = city_r)"


def _organisation_levels(*, fixed_address: bool = False) -> tuple[Any, Any, Any]:
    """First name, surname and address as compared for trusts and organisations (the
    names on a family trust repeat across households, so these keep the stricter levels
    and the fixed first-name m of the original model)."""
    first = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name", term_frequency_adjustments=True).configure(
                m_probability=0.86, fix_m_probability=True
            ),
            cll.JaroWinklerLevel("first_name", 0.92).configure(
                m_probability=0.04, fix_m_probability=True
            ),
            cll.CustomLevel(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1) "
                "AND first_initial_l = first_initial_r",
                label_for_charts="initial matches name",
            ).configure(m_probability=0.05, fix_m_probability=True),
            cll.ElseLevel().configure(m_probability=0.05, fix_m_probability=True),
        ],
    )
    last = cl.CustomComparison(
        output_column_name="last_name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="addr_key",
        comparison_levels=[
            cll.NullLevel("addr_key"),
            cll.ExactMatchLevel("addr_key", term_frequency_adjustments=True).configure(
                m_probability=0.8, fix_m_probability=fixed_address
            ),
            cll.CustomLevel(
                "addr_line_l = addr_line_r AND (zip5_l IS NULL OR zip5_r IS NULL)",
                label_for_charts="same street line, a ZIP missing",
            ).configure(m_probability=0.04, fix_m_probability=fixed_address),
            cll.CustomLevel(
                "street_number_l = street_number_r AND zip5_l = zip5_r "
                "AND jaro_winkler_similarity(street_name_l, street_name_r) >= 0.88",
                label_for_charts="same number, similar street, same zip",
            ).configure(m_probability=0.06, fix_m_probability=fixed_address),
            cll.CustomLevel("zip5_l = zip5_r", label_for_charts="same zip").configure(
                m_probability=0.03, fix_m_probability=fixed_address
            ),
            cll.CustomLevel("zip3_l = zip3_r", label_for_charts="same zip3").configure(
                m_probability=0.03, fix_m_probability=fixed_address
            ),
            cll.ElseLevel().configure(m_probability=0.04, fix_m_probability=fixed_address),
        ],
    )
    return first, last, address


def _name_comparisons(group: str) -> list[Any]:
    first = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name", term_frequency_adjustments=True).configure(
                m_probability=0.84
            ),
            cll.CustomLevel(SWAPPED, label_for_charts="given and surname swapped").configure(
                m_probability=0.01
            ),
            cll.CustomLevel(SWAPPED_FUZZY, label_for_charts="swapped, with a typo").configure(
                m_probability=0.01
            ),
            cll.JaroWinklerLevel("first_name", 0.92).configure(m_probability=0.05),
            cll.DamerauLevenshteinLevel("first_name", 1).configure(m_probability=0.02),
            cll.CustomLevel(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1) "
                "AND first_initial_l = first_initial_r",
                label_for_charts="initial matches name",
            ).configure(m_probability=0.03),
            cll.CustomLevel(RUN_TOGETHER, label_for_charts="names agree run together").configure(
                m_probability=0.01
            ),
            cll.JaroWinklerLevel("first_name", 0.8).configure(m_probability=0.02),
            cll.ElseLevel().configure(m_probability=0.03),
        ],
    )
    middle = cl.CustomComparison(
        output_column_name="middle_initial",
        comparison_levels=[
            cll.NullLevel("middle_initial"),
            cll.ExactMatchLevel("middle_initial"),
            cll.ElseLevel(),
        ],
    )
    # JR against SR (II against III) is two people, father and son, however alike the rest:
    # fixed, not trained, because suffixes are too rare in a roster for EM to learn it
    suffix = cl.CustomComparison(
        output_column_name="suffix",
        comparison_levels=[
            cll.NullLevel("suffix"),
            cll.ExactMatchLevel("suffix").configure(
                m_probability=1.0 - 1e-9, fix_m_probability=True
            ),
            cll.ElseLevel().configure(m_probability=1e-9, fix_m_probability=True),
        ],
    )
    last = cl.CustomComparison(
        output_column_name="last_name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name", term_frequency_adjustments=True),
            cll.CustomLevel(SWAPPED, label_for_charts="given and surname swapped"),
            cll.CustomLevel(SWAPPED_FUZZY, label_for_charts="swapped, with a typo"),
            cll.CustomLevel(
                "(first_name_l IS NULL AND last_name_l = first_name_r) "
                "OR (first_name_r IS NULL AND last_name_r = first_name_l)",
                label_for_charts="a lone name is the other's given name",
            ),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.DamerauLevenshteinLevel("last_name", 1),
            cll.CustomLevel(RUN_TOGETHER, label_for_charts="names agree run together"),
            cll.JaroWinklerLevel("last_name", 0.8),
            cll.ElseLevel(),
        ],
    )
    org = cl.CustomComparison(
        output_column_name="org_std",
        comparison_levels=[
            cll.NullLevel("org_std"),
            cll.ExactMatchLevel("org_std").configure(m_probability=0.75),
            cll.ExactMatchLevel("org_core").configure(m_probability=0.08),
            cll.CustomLevel(
                "coalesce(org_numbers_l, '') <> coalesce(org_numbers_r, '')",
                label_for_charts="numbers differ",
            ).configure(m_probability=0.005, fix_m_probability=True),
            cll.CustomLevel(
                "length(org_core_l) >= 8 AND abs(length(org_core_l) - length(org_core_r)) <= 1 "
                "AND damerau_levenshtein(org_core_l, org_core_r) <= 1",
                label_for_charts="one typo apart",
            ).configure(m_probability=0.05),
            cll.JaroWinklerLevel("org_core", 0.95).configure(m_probability=0.08),
            cll.JaroWinklerLevel("org_core", 0.88).configure(m_probability=0.03),
            cll.ElseLevel().configure(m_probability=0.05),
        ],
    )
    street = cl.CustomComparison(
        output_column_name="addr_line",
        comparison_levels=[
            cll.NullLevel("addr_line"),
            cll.ExactMatchLevel("addr_line", term_frequency_adjustments=True).configure(
                m_probability=0.7
            ),
            cll.CustomLevel(
                f"street_number_l = street_number_r AND {SAME_STREET}",
                label_for_charts="same number, similar street",
            ).configure(m_probability=0.15),
            cll.CustomLevel(
                "abs(length(street_number_l) - length(street_number_r)) <= 1 "
                f"AND damerau_levenshtein(street_number_l, street_number_r) <= 1 AND {SAME_STREET}",
                label_for_charts="number one typo apart, similar street",
            ).configure(m_probability=0.04),
            cll.CustomLevel(
                SAME_STREET, label_for_charts="similar street, number differs or missing"
            ).configure(m_probability=0.04),
            cll.CustomLevel(
                "street_number_l = street_number_r "
                "AND jaro_winkler_similarity(street_name_l, street_name_r) >= 0.7",
                label_for_charts="same number, street loosely similar",
            ).configure(m_probability=0.04),
            cll.ElseLevel().configure(m_probability=0.05),
        ],
    )
    locality = cl.CustomComparison(
        output_column_name="locality",
        comparison_levels=[
            cll.CustomLevel(
                "(zip5_l IS NULL OR zip5_r IS NULL) AND (city_l IS NULL OR city_r IS NULL)",
                label_for_charts="no zip or city to compare",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                "zip5_l = zip5_r AND city_l = city_r", label_for_charts="same zip and city"
            ).configure(m_probability=0.75),
            cll.CustomLevel("zip5_l = zip5_r", label_for_charts="same zip").configure(
                m_probability=0.08
            ),
            cll.CustomLevel("city_l = city_r", label_for_charts="same city").configure(
                m_probability=0.08
            ),
            cll.CustomLevel(
                "damerau_levenshtein(zip5_l, zip5_r) <= 1 "
                "OR jaro_winkler_similarity(city_l, city_r) >= 0.9",
                label_for_charts="zip one edit apart or city similar",
            ).configure(m_probability=0.05),
            cll.ElseLevel().configure(m_probability=0.04),
        ],
    )
    # the second line: a building or complex name agreeing is evidence apart from the street
    # line (FEBRL's address_2; a care-of line on rolls); TF-adjusted, so a big complex or a
    # common care-of name counts for little
    second = cl.CustomComparison(
        output_column_name="line2",
        comparison_levels=[
            cll.NullLevel("line2"),
            cll.ExactMatchLevel("line2", term_frequency_adjustments=True).configure(
                m_probability=0.8
            ),
            cll.CustomLevel(
                "abs(length(line2_l) - length(line2_r)) <= 2 AND left(line2_l, 1) = left(line2_r, 1) "
                "AND damerau_levenshtein(line2_l, line2_r) <= 2",
                label_for_charts="second line within two edits",
            ).configure(m_probability=0.1),
            cll.ElseLevel().configure(m_probability=0.1),
        ],
    )
    if group == "P":
        return [first, middle, suffix, last, street, locality, second]
    if group == "O":
        return [org, _organisation_levels()[2]]
    first_t, last_t, address_t = _organisation_levels(fixed_address=True)
    return [first_t, middle, last_t, org, address_t]


def blocking_rules(group: str) -> list[Any]:
    """Candidate pairs, kept small by blanking over-full address and organisation blocks
    upstream (``parties._cap_blocks``). Each kind group has its own model, so people are
    never compared with companies."""
    person_rules = [
        block_on("full_name"),
        block_on("sound_zip3"),
        block_on("last_zip"),
        block_on("first_zip"),
        block_on("number_zip"),
        block_on("street_number", "street_key", "first_initial"),
        block_on("street_number", "city", "last_initial"),
        block_on("street_number", "last_key"),
        block_on("street_number", "street_key"),
        block_on("street_zip"),
        block_on("street_city"),
        block_on("last_city"),
        block_on("last_street"),
        block_on("sound_names"),
        "l.first_name = r.last_name AND l.last_name = r.first_name",
        "l.first_name IS NULL AND l.last_name = r.first_name AND l.zip3 = r.zip3",
        "r.first_name IS NULL AND r.last_name = l.first_name AND l.zip3 = r.zip3",
    ]
    org_rules = [block_on("org_std"), block_on("org_block")]
    common = [
        block_on("addr_block"),
        block_on("street_number", "zip5", "name_token"),
        block_on("addr_line", "name_token"),
    ]
    if group == "P":
        return common + person_rules
    if group == "O":
        return common + org_rules
    return common + [block_on("first_name", "last_name")] + org_rules


def settings_creator(group: str) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=_name_comparisons(group),
        blocking_rules_to_generate_predictions=blocking_rules(group),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
        em_convergence=0.001,
    )


def new_linker(
    parties: pd.DataFrame, group: str, model: dict[str, Any] | None = None
) -> tuple[Linker, DuckDBAPI]:
    """A linker over one kind group's parties on a private in-memory DuckDB connection."""
    con = duckdb.connect(":memory:")
    db_api = DuckDBAPI(connection=con)
    sdf = db_api.register(parties, table_name="owner_parties")
    settings: Any = model if model is not None else settings_creator(group)
    linker = Linker(sdf, settings, log_level=None)
    for column, table in owner_term_frequencies(parties).items():
        tf_sdf = db_api.register(table, table_name=f"owner_tf_{column}")
        linker.table_management.register_term_frequency_lookup(tf_sdf, column)
    return linker, db_api


def owner_term_frequencies(parties: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Term frequencies counted over distinct owners, not rows.

    Splink's default counts rows, so a landlord with 40 parcels makes its own office address
    "common" and its own name weak evidence. What makes a value weak evidence is how many
    *different* owners share it: an address used by many different names (a property
    manager, a PO box service), a surname many different people have. So each value is
    counted once per distinct owner identity (name + address for people, legal name for
    organisations).
    """
    identity = (
        parties["first_name"].fillna("")
        + "|"
        + parties["last_name"].fillna("")
        + "|"
        + parties["org_std"].fillna("")
    )
    frame = pd.DataFrame(
        {
            "identity": identity,
            "first_name": parties["first_name"],
            "last_name": parties["last_name"],
            "addr_key": parties["addr_key"],
            "addr_line": parties["addr_line"],
            "line2": parties["line2"],
        }
    )
    tables: dict[str, pd.DataFrame] = {}
    for column in TF_COLUMNS:
        key = (
            ["identity", column]
            if column.startswith(("addr_", "line"))
            else ["identity", "addr_key", column]
        )
        distinct = frame.dropna(subset=[column]).drop_duplicates(subset=key)
        counts = distinct.groupby(column).size()
        total = float(counts.sum()) or 1.0
        tables[column] = pd.DataFrame(
            {column: counts.index.astype(str), f"tf_{column}": (counts / total).to_numpy()}
        )
    return tables


def train(linker: Linker, group: str, *, seed: int, u_max_pairs: float) -> None:
    """Unsupervised training on the org's own records, in the order Splink recommends:
    the prior from deterministic rules, u from random pairs, then m by EM on blocking
    rules that each leave the other comparisons free to be estimated."""
    person_rule = "l.first_name = r.first_name AND l.last_name = r.last_name"
    org_rule = "l.org_std = r.org_std"
    rule = {"P": person_rule, "O": org_rule}.get(group, org_rule)
    linker.training.estimate_probability_two_random_records_match(
        [f"{rule} AND l.addr_key = r.addr_key"], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("addr_key"), estimate_without_term_frequencies=True
    )
    second = block_on("first_name", "last_name") if group == "P" else block_on("org_core")
    linker.training.estimate_parameters_using_expectation_maximisation(
        second, estimate_without_term_frequencies=True
    )


def scored_pairs(
    linker: Linker, db_api: DuckDBAPI, threshold: float, parties: int, *, refit: bool = True
) -> tuple[pd.DataFrame, dict[str, int], int, float]:
    """All candidate pairs scored; returns the pairs at or above ``threshold``, a histogram of
    match probabilities over all scored pairs (tenths), the number of pairs scored and the
    prior (probability that two random parties match) the scores use.

    With ``refit`` (people) the prior is re-estimated from the scores themselves
    (:func:`refit_prior`), so a roster full of duplicates (FEBRL: half the records) and one
    with few both get their own. Organisations and trusts keep the rule-based prior: their
    names repeat across different owners ("SMITH FAMILY TRUST" in three households), so the
    sum of their scores over-counts matches."""
    predictions = linker.inference.predict(warning_mode="never")
    table = predictions.physical_name
    con = db_api.duckdb_con
    start = float(linker._settings_obj._probability_two_random_records_match)  # noqa: SLF001
    prior, shift = refit_prior(con, table, start, parties) if refit else (start, 0.0)
    probability = f"(1.0 / (1.0 + pow(2.0, -(match_weight + {shift!r}))))"
    hist_rows = con.execute(
        f"SELECT least(floor({probability} * 10), 9)::INT AS b, count(*) FROM {table} "  # noqa: S608
        "GROUP BY b ORDER BY b"
    ).fetchall()
    histogram = {f"{b / 10:.1f}-{(b + 1) / 10:.1f}": int(n) for b, n in hist_rows}
    total = sum(histogram.values())
    edges = con.execute(
        f"SELECT unique_id_l, unique_id_r, {probability} AS match_probability "  # noqa: S608
        f"FROM {table} WHERE {probability} >= ?",
        [threshold],
    ).df()
    predictions.drop_table_from_database_and_remove_from_cache()
    return edges, histogram, total, prior


def refit_prior(
    con: duckdb.DuckDBPyConnection, table: str, start: float, parties: int, rounds: int = 8
) -> tuple[float, float]:
    """The prior re-estimated as expected matches / all pairs, iterated to a fixed point,
    and the match-weight shift (bits) that moves the scores from ``start`` to it.

    Why: the starting prior comes from a deterministic rule with an assumed recall (0.7),
    which is far off on rosters whose duplicates carry many errors; the expected number of
    matches among the scored pairs (sum of match probabilities; pairs no blocking rule
    produces have probability ~0) over n(n-1)/2 pairs is the EM update of the prior
    (Fellegi-Sunter with EM: Winkler 1988, "Using the EM algorithm for weight computation
    in the Fellegi-Sunter model of record linkage"). Kept within [start / 20, 5 * start]
    and below 0.5 so a degenerate roster cannot run away: on large rosters of common names
    the sum over-counts (every JAMES SMITH pair in a city adds a little), and a higher
    bound cost precision at 100,000 records."""
    pairs = max(parties * (parties - 1) / 2.0, 1.0)
    start = min(max(start, 1e-12), 0.5)
    base = math.log2(start / (1.0 - start))
    prior, shift = start, 0.0
    for _ in range(rounds):
        rows = con.execute(
            f"SELECT sum(1.0 / (1.0 + pow(2.0, -(match_weight + {shift!r})))) FROM {table}"  # noqa: S608
        ).fetchall()
        expected = float(rows[0][0] or 0.0) if rows else 0.0
        new = min(max(expected / pairs, start / 20.0, 1e-12), start * 5.0, 0.5)
        if abs(math.log2(new / prior)) < 0.01:
            prior = new
            break
        prior = new
        shift = math.log2(prior / (1.0 - prior)) - base
    return prior, math.log2(prior / (1.0 - prior)) - base
