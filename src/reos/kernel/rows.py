"""A row as the validation gate hands it on: its canonical values and the problems found
in it, in the shape quarantine tables and import reports store. The contract between the
import engine and the domains' bulk write paths."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Validated:
    """Result of the gate for one row. ``values`` holds canonical fields plus
    ``attributes`` (dict of ``attr.*`` extras) and, when an address was normalised,
    ``address_key`` / ``address_normalized`` / ``address_is_po_box``."""

    values: dict[str, Any]
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    row_number: int = 0
    raw: dict[str, str | None] = field(default_factory=dict)

    @property
    def quarantined(self) -> bool:
        return bool(self.errors)

    def __reduce__(self) -> tuple[type[Validated], tuple[Any, ...]]:
        # positional re-creation: pickles (to and from the mapping worker) at a third
        # of the cost of the default attribute-dict round trip
        return (Validated, (self.values, self.errors, self.warnings, self.row_number, self.raw))
