"""One problem found in one row, in the shape quarantine tables and import reports store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """A problem with one field of one row.

    ``field`` is the canonical ``reos`` field (``sale_price``) or ``"_row"`` for a problem
    with the row as a whole (ragged cells); ``column`` is the source column it came from
    (``None`` for constants and derived values); ``raw_value`` is the value as it was in the
    file, cut to 200 characters so one bad 50 MB cell cannot bloat a quarantine table.
    """

    field: str
    reason: str
    column: str | None = None
    raw_value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "column": self.column,
            "raw_value": self.raw_value,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        where = f"{self.field}" + (f" (column {self.column!r})" if self.column else "")
        raw = f" value {self.raw_value!r}:" if self.raw_value is not None else ""
        return f"{where}:{raw} {self.reason}"


RAW_VALUE_PREVIEW_CHARS = 200


def preview(value: object) -> str | None:
    """The raw value as stored on an Issue: text, cut to ``RAW_VALUE_PREVIEW_CHARS``."""
    if value is None:
        return None
    text = str(value)
    if len(text) > RAW_VALUE_PREVIEW_CHARS:
        return text[:RAW_VALUE_PREVIEW_CHARS] + f"... ({len(text):,} characters)"
    return text
