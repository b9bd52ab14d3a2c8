"""The compact provenance form: one source per record plus the fields a later source set."""

from __future__ import annotations

from reos.models.provenance import compact, for_new_record, per_field, set_source, source_of

A = {"import_id": "a", "source": "county", "file": "a.csv", "row": 2, "observed_at": "t1"}
B = {"import_id": "b", "source": "mls", "file": "b.csv", "row": 9, "observed_at": "t2"}


def test_row_source_covers_every_value_not_set_later() -> None:
    stored = for_new_record(A)
    set_source(stored, "beds", B)
    set_source(stored, "attr.pool", B)
    set_source(stored, "zip", A)  # confirmed by the creating row: nothing to add
    assert stored == {"row": A, "fields": {"beds": B, "attr.pool": B}}
    assert source_of(stored, "beds") is B and source_of(stored, "zip") is A
    view = per_field(stored, [("beds", 3), ("zip", "50010"), ("unit", None)], {"pool": True})
    assert view == {"beds": B, "zip": A, "attr.pool": B}  # no entry for an empty value


def test_empty_and_first_source() -> None:
    assert source_of({}, "beds") is None and source_of(None, "beds") is None
    assert per_field({}, [("beds", 3)]) == {}
    stored: dict[str, object] = {}
    set_source(stored, "beds", B)
    assert stored == {"row": B}


def test_compact_of_a_per_field_mapping() -> None:
    assert compact({}) == {}
    assert compact({"beds": A, "zip": A, "city": B}) == {"row": A, "fields": {"city": B}}
    assert compact({"beds": B}) == {"row": B}
    expanded = {"beds": A, "zip": A, "city": B}
    assert per_field(compact(expanded), [("beds", 1), ("zip", "1"), ("city", "x")]) == expanded
