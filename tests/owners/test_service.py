"""Owner service against a migrated database: a labelled roster end to end (accuracy floor
from the exported clusters), overrides that survive re-runs, incremental linking, queries,
portfolio values, unknown properties and hostile input."""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from reos.errors import Conflict, NotFound, ValidationFailed
from reos.models import AuditEntry, OwnerEntity, OwnerOverride, OwnerRecord, Valuation
from reos.owners import queries, service
from reos.owners.evaluation import score_clusters
from reos.owners.synthetic import generate_owner_records
from tests.owners.test_service_support import (
    bare_org,
    owner_record,
    store_records,
    unit,
)

ROSTER_SIZE = 300


def _inputs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["true_entity", "true_group"])


@pytest.fixture(scope="module")
def roster() -> pd.DataFrame:
    return generate_owner_records(ROSTER_SIZE, seed=5)


@pytest.fixture(scope="module")
def labelled(engine: Any, roster: pd.DataFrame) -> dict[str, Any]:
    """A resolved organisation holding the labelled roster (read-only for the tests)."""
    org_id = bare_org()
    store_records(org_id, _inputs(roster))
    with unit(org_id) as s:
        report = service.resolve(s)
    return {"org": org_id, "report": report}


def _export(org_id: uuid.UUID, path: Path) -> dict[str, str]:
    with unit(org_id) as s:
        queries.export_clusters(s, path)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["source_record_id", "entity_id"]
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == len(set(ids)), "every record exactly once"
    return {r[0]: r[1] for r in rows[1:]}


def _entity_of(org_id: uuid.UUID, record_id: str) -> uuid.UUID | None:
    with unit(org_id) as s:
        return s.scalars(
            select(OwnerRecord.entity_id).where(OwnerRecord.owner_record_id == record_id)
        ).one()


def test_labelled_roster_end_to_end_precision_recall(
    labelled: dict[str, Any], roster: pd.DataFrame, tmp_path: Path
) -> None:
    report = labelled["report"]
    assert report["mode"] == "full" and report["method"] == "splink"
    assert report["records"] == ROSTER_SIZE
    assert report["merges"] == report["records"] - report["entities"]
    assert sum(report["probability_histogram"].values()) == report["pairs_scored"]
    assert report["property_unknown"] == 0
    clusters = _export(labelled["org"], tmp_path / "clusters.csv")
    assert set(clusters) == set(roster.record_id)
    assert len(set(clusters.values())) == report["entities"]
    scores = score_clusters(clusters, dict(zip(roster.record_id, roster.true_entity, strict=True)))
    assert scores.pairwise_precision >= 0.95, scores
    assert scores.pairwise_recall >= 0.75, scores
    with unit(labelled["org"]) as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "owners.resolve"))


def test_rerun_without_new_records_changes_nothing_and_full_keeps_ids(
    labelled: dict[str, Any], tmp_path: Path
) -> None:
    org_id = labelled["org"]
    before = _export(org_id, tmp_path / "a.csv")
    with unit(org_id) as s:
        again = service.resolve(s)
    assert again["mode"] == "incremental" and again["new_records"] == 0
    assert "no new owner records" in again["note"]
    with unit(org_id) as s:
        full = service.resolve(s, full=True)
    assert full["mode"] == "full" and full["entities_created"] == 0
    assert full["entities_removed"] == 0
    assert _export(org_id, tmp_path / "b.csv") == before


def test_list_filters_search_and_pagination(labelled: dict[str, Any]) -> None:
    org_id = labelled["org"]
    with unit(org_id) as s:
        everyone, total = queries.list_owners(s, limit=1000)
        assert total == labelled["report"]["entities"] == len(everyone)
        page, total2 = queries.list_owners(s, limit=10, offset=5)
        assert total2 == total and [o["id"] for o in page] == [o["id"] for o in everyone[5:15]]
        corporate, n_corp = queries.list_owners(s, corporate=True, limit=1000)
        assert n_corp > 0 and all(o["kind"] == "organisation" for o in corporate)
        assert all(o["flags"]["corporate"] for o in corporate)
        absentee, n_abs = queries.list_owners(s, absentee=True, limit=1000)
        present, n_present = queries.list_owners(s, absentee=False, limit=1000)
        assert n_abs > 0 and n_present > 0 and n_abs + n_present <= total
        assert all(o["flags"]["absentee"] is True for o in absentee)
        assert all(o["flags"]["absentee"] is False for o in present)
        away, n_away = queries.list_owners(s, out_of_state=True, limit=1000)
        assert n_away > 0 and all(o["flags"]["out_of_state"] for o in away)
        trusts, _ = queries.list_owners(s, kind="trust", limit=1000)
        assert trusts and all(o["kind"] == "trust" for o in trusts)
        name = everyone[0]["display_name"]
        hits, _ = queries.list_owners(s, q=name.lower()[:6], limit=1000)
        assert everyone[0]["id"] in {h["id"] for h in hits}
        none, zero = queries.list_owners(s, q="%_nobody_%")
        assert none == [] and zero == 0


def test_owner_detail_portfolio_and_latest_valuation(labelled: dict[str, Any]) -> None:
    org_id = labelled["org"]
    with unit(org_id) as s:
        everyone, _ = queries.list_owners(s, limit=1000)
        biggest = max(everyone, key=lambda o: (o["property_count"], str(o["id"])))
        assert biggest["property_count"] >= 3
        detail = queries.get_owner(s, biggest["id"])
        assert len(detail["records"]) == biggest["record_count"]
        assert all(r["owner_name"] for r in detail["records"])  # raw names kept
        assert len(detail["properties"]) == biggest["property_count"]
        values = [p["estimated_value"] for p in detail["properties"]]
        assert detail["portfolio"]["total_estimated_value"] == pytest.approx(sum(values))
        assert detail["flags"]["corporate"] == (detail["kind"] == "organisation")
        assert all(
            p["years_owned"] is not None and p["years_owned"] > 0 for p in detail["properties"]
        )
        # a newer valuation of one property replaces the old one in the total
        first = detail["properties"][0]
        s.add(
            Valuation(
                property_id=first["property_id"],
                valuation_date=date(2025, 1, 1),
                estimated_value=first["estimated_value"] + 1000.0,
                interval_low=1,
                interval_high=2,
                confidence="low",
                model_version="test",
            )
        )
        s.flush()
        folio = queries.portfolio(s, biggest["id"])
        assert folio["total_estimated_value"] == pytest.approx(sum(values) + 1000.0)
        assert folio["property_count"] == biggest["property_count"]
        assert folio["states"] == ["TX"] and folio["cities"]
        s.rollback()


def test_related_owners_share_a_mailing_address(
    labelled: dict[str, Any], roster: pd.DataFrame
) -> None:
    org_id = labelled["org"]
    siblings = roster[roster.true_group != roster.true_entity]
    assert len(siblings) > 0
    with unit(org_id) as s:
        sibling_entity = s.scalars(
            select(OwnerRecord.entity_id).where(
                OwnerRecord.owner_record_id == siblings.record_id.iloc[0]
            )
        ).one()
        detail = queries.get_owner(s, sibling_entity)
        assert detail["related"], "a landlord's sibling LLC is related to its other LLCs"
        assert any(r["reason"].startswith("shared mailing address") for r in detail["related"])
        assert all(r["id"] != detail["id"] for r in detail["related"])


def test_top_owners_by_pagerank(labelled: dict[str, Any]) -> None:
    with unit(labelled["org"]) as s:
        ranked = queries.top(s, 5)
        assert len(ranked) == 5
        scores = [r["pagerank"] for r in ranked]
        assert scores == sorted(scores, reverse=True)
        everyone, _ = queries.list_owners(s, limit=1000)
        assert ranked[0]["property_count"] >= max(o["property_count"] for o in everyone) - 2
        with pytest.raises(ValidationFailed):
            queries.top(s, 0)


def test_other_organisation_sees_nothing(labelled: dict[str, Any], engine: Any) -> None:
    other_id = bare_org()
    with unit(labelled["org"]) as s:
        some = queries.list_owners(s, limit=1)[0][0]["id"]
    with unit(other_id) as s:
        assert queries.list_owners(s) == ([], 0)
        with pytest.raises(NotFound):
            queries.get_owner(s, some)
        with pytest.raises(NotFound):
            service.merge(s, "R0000001", "R0000002")
        report = service.resolve(s)
        assert report["records"] == 0 and report["entities"] == 0
        assert queries.top(s) == []


# --- overrides and incremental linking ------------------------------------------------------


@pytest.fixture
def small_roster() -> pd.DataFrame:
    return generate_owner_records(200, seed=21)


def household_records() -> pd.DataFrame:
    """Three records of one man at one address, two companies, one woman elsewhere."""
    return pd.DataFrame(
        [
            owner_record("S1", "SMITH JOHN"),
            owner_record("S2", "SMITH JOHN A"),
            owner_record("S3", "John Smith"),
            owner_record("A1", "ACME HOLDINGS LLC", mailing_address="9 OAK ST"),
            owner_record("B1", "BETA RENTALS LLC", mailing_address="77 ELM ST"),
            owner_record("D1", "DOE JANE", mailing_address="5 PINE RD"),
        ]
    )


def test_merge_and_split_apply_now_and_survive_full_reruns(engine: Any, tmp_path: Path) -> None:
    org_id = bare_org()
    store_records(org_id, household_records())
    with unit(org_id) as s:
        service.resolve(s)
    clusters = _export(org_id, tmp_path / "c.csv")
    assert clusters["S1"] == clusters["S2"] == clusters["S3"]
    assert len(set(clusters.values())) == 4
    smith = uuid.UUID(clusters["S1"])
    with unit(org_id) as s:
        merged = service.merge(s, "A1", "B1")
        assert merged["already_same_owner"] is False and merged["removed_entity_id"]
        assert merged["entity"]["record_count"] == 2
        split = service.split(s, smith, "S1")
        assert split["splits_added"] == 2
        assert split["entity"]["record_count"] == 2
        assert split["entity"]["entity_key"] == "own:S2"  # the key follows the smallest member
        assert split["new_entity"]["record_count"] == 1
        assert split["new_entity"]["entity_key"] == "own:S1"
        actions = {e.action for e in s.scalars(select(AuditEntry))}
        assert {"owners.merge", "owners.split", "owners.resolve"} <= actions
    assert _entity_of(org_id, "A1") == _entity_of(org_id, "B1")
    assert _entity_of(org_id, "S1") != _entity_of(org_id, "S2")
    assert _entity_of(org_id, "S2") == smith  # the owner kept its id
    for full in (True, False):
        with unit(org_id) as s:
            report = service.resolve(s, full=full)
        if full:
            assert report["overrides_applied"] == 3 and report["overrides_rejected"] == []
        assert _entity_of(org_id, "A1") == _entity_of(org_id, "B1")
        assert _entity_of(org_id, "S1") != _entity_of(org_id, "S2")
        assert _entity_of(org_id, "S2") == _entity_of(org_id, "S3") == smith
    # the latest decision wins: merging the split record back withdraws the splits
    with unit(org_id) as s:
        back = service.merge(s, "S1", "S3")
        assert back["splits_withdrawn"] == 2
        assert service.merge(s, "S3", "S1")["already_same_owner"] is True
        kinds = Counter(o.kind for o in s.scalars(select(OwnerOverride)))
    assert kinds == {"merge": 2}
    with unit(org_id) as s:
        service.resolve(s, full=True)
    assert _entity_of(org_id, "S1") == _entity_of(org_id, "S2") == smith


def test_merge_and_split_refuse_bad_requests(engine: Any) -> None:
    org_id = bare_org()
    store_records(
        org_id,
        pd.DataFrame(
            [
                owner_record("A1", "SMITH JOHN"),
                owner_record("A2", "SMITH JOHN"),
                owner_record("B1", "ACME HOLDINGS LLC"),
            ]
        ),
    )
    with unit(org_id) as s:
        with pytest.raises(Conflict) as unresolved:
            service.merge(s, "A1", "B1")
        assert "resolve" in unresolved.value.message
        service.resolve(s)
        with pytest.raises(NotFound) as missing:
            service.merge(s, "A1", "nope")
        assert missing.value.field == "record_b"
        with pytest.raises(ValidationFailed):
            service.merge(s, "A1", " A1 ")
        with pytest.raises(ValidationFailed):
            service.merge(s, "", "A1")
        acme = s.scalars(select(OwnerRecord).where(OwnerRecord.owner_record_id == "B1")).one()
        smith = s.scalars(select(OwnerRecord).where(OwnerRecord.owner_record_id == "A1")).one()
        assert smith.entity_id is not None and acme.entity_id is not None
        with pytest.raises(ValidationFailed) as alone:
            service.split(s, acme.entity_id, "B1")
        assert "only record" in alone.value.message
        with pytest.raises(ValidationFailed) as foreign:
            service.split(s, acme.entity_id, "A1")
        assert foreign.value.field == "record_id"
        with pytest.raises(NotFound):
            service.split(s, uuid.uuid4(), "A1")


def test_new_records_link_incrementally_to_existing_owners(
    engine: Any, small_roster: pd.DataFrame, tmp_path: Path
) -> None:
    org_id = bare_org()
    held_out = (
        small_roster.groupby("true_entity")
        .filter(lambda g: len(g) >= 2)
        .groupby("true_entity")
        .tail(1)
        .head(20)
    )
    first = small_roster[~small_roster.record_id.isin(held_out.record_id)]
    store_records(org_id, _inputs(first))
    with unit(org_id) as s:
        service.resolve(s)
        entities_before = s.scalar(select(OwnerEntity.id).limit(1)) is not None
    assert entities_before
    before = _export(org_id, tmp_path / "before.csv")
    store_records(org_id, _inputs(held_out))
    with unit(org_id) as s:
        report = service.resolve(s)
    assert report["mode"] == "incremental" and report["new_records"] == len(held_out)
    assert report["method"] == "splink"
    after = _export(org_id, tmp_path / "after.csv")
    assert {r: after[r] for r in before} == before, "existing owners are not re-clustered"
    truth = dict(zip(small_roster.record_id, small_roster.true_entity, strict=True))
    joined = correct = 0
    for rid in held_out.record_id:
        partners = [r for r in before if truth[r] == truth[rid]]
        if after[rid] in {before[p] for p in partners}:
            joined += 1
            correct += 1
        elif any(after[rid] == before[r] for r in before):
            joined += 1
    assert correct == joined, "a new record never joins a stranger's owner"
    assert correct >= len(held_out) * 0.7
    scores = score_clusters(after, truth)
    assert scores.pairwise_precision >= 0.95


def test_changed_record_triggers_full_run(engine: Any) -> None:
    org_id = bare_org()
    store_records(
        org_id, pd.DataFrame([owner_record(f"C{i}", f"PERSON{i} JOHN") for i in range(3)])
    )
    with unit(org_id) as s:
        service.resolve(s)
        rec = s.scalars(select(OwnerRecord).where(OwnerRecord.owner_record_id == "C1")).one()
        rec.owner_name = "SOMEBODY ELSE"
    with unit(org_id) as s:
        report = service.resolve(s)
    assert report["mode"] == "full"


# --- unknown properties and hostile input ----------------------------------------------------


def test_record_without_property_is_kept_and_reported(engine: Any) -> None:
    org_id = bare_org()
    rows = [
        owner_record(
            "U1",
            "DOE JANE",
            property_address="500 ELM ST",
            property_city="AUSTIN",
            property_state="TX",
            property_zip="78702",
            estimated_value=300000.0,
        ),
        owner_record("U2", "DOE JANE"),
    ]
    store_records(org_id, pd.DataFrame(rows[:1]))
    frame = pd.DataFrame([{**rows[1], "property_address": "123 MAIN ST"}])
    store_records(org_id, frame, link=False)
    with unit(org_id) as s:
        report = service.resolve(s)
        assert report["property_unknown"] == 1 and report["records"] == 2
        eid = s.scalars(
            select(OwnerRecord.entity_id).where(OwnerRecord.owner_record_id == "U2")
        ).one()
        detail = queries.get_owner(s, eid)
    unknown = next(r for r in detail["records"] if r["owner_record_id"] == "U2")
    assert unknown["property_unknown"] is True and unknown["property_id"] is None
    assert unknown["flags"]["owner_occupied"] is True  # from the source's property address
    assert detail["portfolio"]["property_unknown_count"] == 1
    assert detail["portfolio"]["property_count"] == 1


@pytest.mark.parametrize(
    ("names", "expect_entities"),
    [
        ([], 0),
        (["SMITH JOHN"], 1),
        (["", "   ", None], 3),
        (["!!!", "&&& ---", "..."], 3),
        (["X" * 5000, "Y" * 5000 + " LLC"], 2),
        (["李小龙", "Иванов Иван", "ΠΑΠΑΔΟΠΟΥΛΟΣ ΓΙΩΡΓΟΣ", "محمد علي"], None),
        (["SMITH JOHN"] * 40, 1),
    ],
    ids=["zero", "single", "blank", "punctuation", "5000-chars", "non-latin", "identical"],
)
def test_hostile_names_give_clear_results(
    engine: Any, names: list[str | None], expect_entities: int | None, tmp_path: Path
) -> None:
    org_id = bare_org()
    store_records(
        org_id,
        pd.DataFrame(
            [owner_record(f"H{i:03d}", n) for i, n in enumerate(names)],
            columns=list(owner_record("x", None)),
        ),
    )
    with unit(org_id) as s:
        report = service.resolve(s)
        owners, total = queries.list_owners(s, limit=500)
    assert report["records"] == len(names)
    assert report["entities"] == total == len(owners)
    if expect_entities is not None:
        assert total == expect_entities
    assert all(0 < len(o["display_name"]) <= 500 for o in owners)
    if not names:
        assert report["note"] == "no owner records"
        return
    clusters = _export(org_id, tmp_path / "h.csv")
    assert len(clusters) == len(names)
    with unit(org_id) as s:
        detail = queries.get_owner(s, owners[0]["id"])
        assert detail["records"]


def test_bad_threshold_and_unresolved_export(engine: Any, tmp_path: Path) -> None:
    org_id = bare_org()
    store_records(org_id, pd.DataFrame([owner_record("Z1", "SMITH JOHN")]))
    with unit(org_id) as s:
        for bad in (0.0, 1.0, -2.0, 7.0):
            with pytest.raises(ValidationFailed) as err:
                service.resolve(s, threshold=bad)
            assert err.value.field == "threshold"
        with pytest.raises(Conflict):
            queries.export_clusters(s, tmp_path / "x.csv")
        with pytest.raises(NotFound):
            queries.find_owner(s, "own:nothing")
        report = service.resolve(s, threshold=0.9)
        assert report["threshold"] == 0.9
        assert queries.find_owner(s, "own:Z1").display_name
