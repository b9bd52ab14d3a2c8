"""Owner flags and the ownership graph."""

from __future__ import annotations

from datetime import date

import pandas as pd

from reos.owners.flags import owner_flags, owner_flags_frame
from reos.owners.graph import (
    build_owner_graph,
    most_connected_owners,
    portfolios,
    related_entities,
    related_groups,
)
from reos.owners.resolution import resolve_owners
from tests.owners.conftest import record

AS_OF = date(2024, 1, 1)


def test_owner_occupied_despite_format_differences() -> None:
    row = record(
        "1",
        "SMITH JOHN",
        line1="123 Main Street Apt 4",
        zip_code="78701-1234",
        property_address="123 MAIN ST #4",
        property_city="AUSTIN",
        property_state="TX",
        property_zip="78701",
        last_sale_date="2014-01-01",
    )
    flags = owner_flags(row, as_of=AS_OF)
    assert flags.owner_occupied is True and flags.absentee is False
    assert flags.out_of_state is False
    assert flags.years_owned == 10.0
    assert not flags.corporate_owner and not flags.po_box and not flags.foreign_mailing


def test_absentee_out_of_state_corporate_po_box() -> None:
    row = record(
        "2",
        "ACME HOLDINGS LLC",
        line1="PO BOX 55",
        zip_code="80202",
        property_address="9 ELM ST",
        property_city="AUSTIN",
        property_state="TX",
        property_zip="78702",
    )
    row["mailing_city"], row["mailing_state"] = "DENVER", "CO"
    flags = owner_flags(row, as_of=AS_OF)
    assert flags.absentee is True and flags.owner_occupied is False
    assert flags.out_of_state is True
    assert flags.corporate_owner and flags.po_box
    assert flags.years_owned is None


def test_foreign_mailing_and_unknowns() -> None:
    row = record(
        "3",
        "SMITH FAMILY TRUST",
        line1="45 HIGH STREET",
        zip_code=None,
        property_address="9 ELM ST",
        property_state="TX",
        last_sale_date="not a date",
    )
    row.update(mailing_city="LONDON SW1A 1AA", mailing_state=None, mailing_country="UNITED KINGDOM")
    flags = owner_flags(row, as_of=AS_OF)
    assert flags.foreign_mailing and flags.trust_owner and flags.out_of_state is True
    assert flags.years_owned is None
    no_property = owner_flags(record("4", "SMITH JOHN"), as_of=AS_OF)
    assert no_property.owner_occupied is None and no_property.absentee is None


def test_flags_frame_one_row_per_record() -> None:
    frame = owner_flags_frame(
        pd.DataFrame([record("a", "CITY OF AUSTIN"), record("b", "SMITH JOHN")]), as_of=AS_OF
    )
    assert frame["record_id"].tolist() == ["a", "b"]
    assert frame["government_owner"].tolist() == [True, False]


def test_graph_portfolio_related_and_rank() -> None:
    office = {"line1": "500 CONGRESS AVE STE 10", "zip_code": "78701"}
    records = pd.DataFrame(
        [
            record(
                "a",
                "MAPLE HOLDINGS LLC",
                **office,
                property_id="p1",
                estimated_value=100.0,
                property_city="AUSTIN",
                property_state="TX",
            ),
            record(
                "b",
                "MAPLE HOLDINGS, L.L.C.",
                **office,
                property_id="p2",
                estimated_value=200.0,
                property_city="AUSTIN",
                property_state="TX",
            ),
            record("c", "OAK RENTALS LLC", **office, property_id="p3", estimated_value=None),
            record(
                "d",
                "JOHN SMITH REVOCABLE TRUST",
                line1="9 ELM ST",
                zip_code="78702",
                property_id="p4",
            ),
            record("e", "SMITH JOHN", line1="77 PINE RD", zip_code="78703", property_id="p5"),
        ]
    )
    result = resolve_owners(records)
    assert result.assignments["a"] == result.assignments["b"]
    assert result.assignments["c"] != result.assignments["a"]
    graph = build_owner_graph(records, result)
    top = portfolios(graph)[0]
    assert top.entity_id == result.assignments["a"]
    assert top.property_count == 2 and top.total_estimated_value == 300.0
    assert top.cities == ("AUSTIN",)
    rel = {(r.entity_id, r.related_entity_id): r.reason for r in related_entities(graph)}
    llc_pair = tuple(sorted([result.assignments["a"], result.assignments["c"]]))
    assert rel[llc_pair].startswith("shared mailing address")
    trust_pair = tuple(sorted([result.assignments["d"], result.assignments["e"]]))
    assert rel[trust_pair] == "shared person: JOHN SMITH"
    assert sorted(related_groups(graph)[0]) == sorted(llc_pair)
    ranked = most_connected_owners(graph, top=1)
    assert ranked[0][0] == result.assignments["a"]
