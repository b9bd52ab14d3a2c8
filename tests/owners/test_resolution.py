"""Entity resolution: accuracy floor on a labelled roster, overrides, incremental linking,
degenerate inputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reos.errors import ValidationFailed
from reos.owners.evaluation import score_clusters
from reos.owners.resolution import (
    ResolutionConfig,
    cannot_link,
    link_new,
    load_model,
    must_link,
    resolve_owners,
    save_model,
    split_from_entity,
)
from tests.owners.conftest import record


def _inputs(roster: pd.DataFrame) -> pd.DataFrame:
    return roster.drop(columns=["true_entity", "true_group"])


@pytest.fixture(scope="module")
def resolved(roster: pd.DataFrame):  # type: ignore[no-untyped-def]
    return resolve_owners(_inputs(roster))


def test_labelled_roster_precision_recall_floor(roster: pd.DataFrame, resolved) -> None:  # type: ignore[no-untyped-def]
    scores = score_clusters(
        resolved.assignments, dict(zip(roster.record_id, roster.true_entity, strict=True))
    )
    assert resolved.report.method == "splink"
    assert scores.pairwise_precision >= 0.95
    assert scores.pairwise_recall >= 0.75
    assert resolved.report.records == len(roster)
    assert resolved.report.entities == len(resolved.entities)
    assert resolved.report.merges == len(roster) - len(resolved.entities)
    assert sum(resolved.report.probability_histogram.values()) == resolved.report.pairs_scored


def test_landlord_llcs_stay_separate_entities(roster: pd.DataFrame, resolved) -> None:  # type: ignore[no-untyped-def]
    siblings = roster[roster.true_group != roster.true_entity]
    assert len(siblings) > 0
    for _, row in siblings.iterrows():
        parent = roster[roster.true_entity == row.true_group].record_id.iloc[0]
        assert (
            resolved.assignments[row.record_id] != resolved.assignments[parent]
            or row.owner_name.split()[0]
            in roster[roster.true_entity == row.true_group].owner_name.iloc[0]
        )


def test_entity_ids_are_stable_and_every_record_assigned(roster: pd.DataFrame, resolved) -> None:  # type: ignore[no-untyped-def]
    again = resolve_owners(_inputs(roster))
    assert again.assignments == resolved.assignments
    assert set(resolved.assignments) == set(roster.record_id)
    for entity in resolved.entities:
        assert entity.entity_id == "own:" + min(entity.record_ids)
        assert entity.kind in {"person", "organisation", "trust", "government", "unknown"}
        assert entity.display_name


def test_couple_and_single_spouse_are_one_entity() -> None:
    records = pd.DataFrame(
        [
            record("a", "SMITH JOHN A & MARY B"),
            record("b", "Mary B Smith", zip_code="78701-1234"),
            record("c", "SMITH JOHN A"),
            record("d", "JONES PETER", line1="9 ELM ST", zip_code="78702"),
        ]
    )
    result = resolve_owners(records)
    assert result.assignments["a"] == result.assignments["b"] == result.assignments["c"]
    assert result.assignments["d"] != result.assignments["a"]
    assert result.entity(result.assignments["a"]).kind == "person"


def test_overrides_are_respected(roster: pd.DataFrame, resolved) -> None:  # type: ignore[no-untyped-def]
    multi = next(e for e in resolved.entities if len(e.members) >= 2)
    a, b = multi.record_ids[0], multi.record_ids[1]
    singles = [e for e in resolved.entities if len(e.members) == 1]
    x, y = singles[0].record_ids[0], singles[1].record_ids[0]
    overrides = [*split_from_entity(multi, b), must_link(x, y)]
    result = resolve_owners(_inputs(roster), overrides=overrides, model=resolved.model)
    assert result.assignments[a] != result.assignments[b]
    assert result.assignments[x] == result.assignments[y]
    assert result.entity(result.assignments[x]).members[0].match_probability == 1.0
    assert result.report.overrides_applied == len(overrides)
    conflicting = resolve_owners(
        _inputs(roster), model=resolved.model, overrides=[cannot_link(x, y), must_link(x, y)]
    )
    assert conflicting.report.overrides_rejected
    assert conflicting.assignments[x] != conflicting.assignments[y]


def test_incremental_link_with_saved_model(roster: pd.DataFrame) -> None:
    inputs = _inputs(roster)
    old, new = inputs.iloc[:300], inputs.iloc[300:]
    first = resolve_owners(old)
    model = load_model(save_model(first))
    assert json.loads(json.dumps(model)) == model
    first.model = model
    linked = link_new(first, old, new)
    assert set(linked.assignments) == set(new.record_id)
    assert linked.method == "splink"
    truth = dict(zip(roster.record_id, roster.true_entity, strict=True))
    full = {**first.assignments, **linked.assignments}
    scores = score_clusters(full, truth)
    assert scores.pairwise_precision >= 0.95
    assert scores.pairwise_recall >= 0.8
    existing_ids = {e.entity_id for e in first.entities}
    joined = [r for r, e in linked.assignments.items() if e in existing_ids]
    assert joined, "some new records should join existing entities"
    with pytest.raises(ValidationFailed):
        link_new(first, old, old.iloc[:2])


def test_incremental_link_respects_split() -> None:
    old = pd.DataFrame([record("a", "SMITH JOHN A"), record("b", "SMITH JOHN A")])
    first = resolve_owners(old)
    new = pd.DataFrame([record("n", "SMITH JOHN A")])
    linked = link_new(first, old, new)
    assert linked.assignments["n"] == first.assignments["a"]
    split = link_new(first, old, new, overrides=[cannot_link("n", "a")])
    assert split.assignments["n"] != first.assignments["a"]
    assert split.new_entities[0].record_ids == ("n",)


def test_zero_records() -> None:
    result = resolve_owners(pd.DataFrame(columns=["record_id", "owner_name"]))
    assert result.entities == [] and result.report.records == 0
    assert result.report.note == "no owner records"


def test_single_record() -> None:
    result = resolve_owners(pd.DataFrame([record("only", "SMITH JOHN")]))
    assert [e.record_ids for e in result.entities] == [("only",)]
    assert result.entities[0].members[0].match_probability is None


def test_identical_records_fall_back_or_merge_without_crash() -> None:
    records = pd.DataFrame([record(f"r{i}", "SMITH JOHN A") for i in range(60)])
    result = resolve_owners(records)
    assert len(result.entities) == 1
    assert result.report.method in {"splink", "deterministic"}
    if result.report.method == "deterministic":
        assert result.report.note


def test_blank_and_odd_names_are_singletons() -> None:
    records = pd.DataFrame(
        [
            record("blank", ""),
            record("punct", "&&& ,,,"),
            record("none", None),
            record("long", "X" * 5000),
            record("cjk", "李小龙"),
            record("cjk2", "李小龙"),
        ]
    )
    result = resolve_owners(records)
    assert len({result.assignments[r] for r in ("blank", "punct", "none")}) == 3
    assert result.assignments["cjk"] == result.assignments["cjk2"]
    assert result.entity(result.assignments["blank"]).kind == "unknown"


def test_bad_input_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed):
        resolve_owners(pd.DataFrame({"owner_name": ["A"]}))
    with pytest.raises(ValidationFailed):
        resolve_owners(pd.DataFrame([record("x", "A"), record("x", "B")]))


def test_threshold_is_configurable(roster: pd.DataFrame, resolved) -> None:  # type: ignore[no-untyped-def]
    loose = resolve_owners(
        _inputs(roster), model=resolved.model, config=ResolutionConfig(threshold=0.5)
    )
    assert loose.report.entities <= resolved.report.entities
