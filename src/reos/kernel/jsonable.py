"""One helper that turns computed values into what a JSON column stores.

Results of the valuation engine and the owner resolver carry numpy scalars, tuples and
non-finite floats; JSON has none of them, and PostgreSQL's ``jsonb`` refuses ``NaN``. Every
domain that stores such a result, or prints it as JSON, passes it through :func:`jsonable`.
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with containers made plain, recursively: dict keys become text, tuples
    become lists, numpy scalars become Python numbers, ``Decimal`` becomes ``float``, dates
    and UUIDs become text, and a non-finite float (NaN, infinity) becomes ``None``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | str | int) or value is None:
        return value
    if isinstance(value, Decimal):
        value = float(value)
    elif isinstance(value, datetime | date):
        return value.isoformat()
    elif isinstance(value, uuid.UUID):
        return str(value)
    elif hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # a numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
