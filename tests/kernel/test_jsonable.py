"""The one JSON-ready conversion every domain uses for computed results."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

import numpy as np

from reos.kernel.jsonable import jsonable


def test_numpy_tuples_and_non_finite_numbers_become_plain_json() -> None:
    ident = uuid.UUID(int=7)
    value = {
        1: (np.float64(2.5), np.int64(3), np.bool_(True)),
        "nan": float("nan"),
        "inf": np.float64("inf"),
        "price": Decimal("125000.50"),
        "day": date(2010, 6, 30),
        "id": ident,
        "nested": [{"x": np.float32(0.5)}],
        "text": "kept",
        "none": None,
    }
    out = jsonable(value)
    assert out == {
        "1": [2.5, 3, True],
        "nan": None,
        "inf": None,
        "price": 125000.5,
        "day": "2010-06-30",
        "id": str(ident),
        "nested": [{"x": 0.5}],
        "text": "kept",
        "none": None,
    }
    assert type(out["1"][0]) is float and type(out["1"][1]) is int and type(out["1"][2]) is bool
    assert json.loads(json.dumps(out, allow_nan=False)) == out
