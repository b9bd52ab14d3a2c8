"""Map + validate chunks of raw rows: the CPU-bound half of an import.

``RowProcessor`` wraps :func:`reos.ingest.validation.process_rows` for one mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import TracebackType

from reos.ingest.mapping import EffectiveMapping
from reos.ingest.readers import RawRow
from reos.ingest.validation import Validated, process_rows


class RowProcessor:
    def __init__(
        self, mapping: EffectiveMapping, *, today: date | None = None, workers: int | None = None
    ) -> None:
        self.mapping = mapping
        self.today = today or date.today()
        self.workers = workers

    def process(self, rows: Sequence[RawRow]) -> list[Validated]:
        return process_rows(self.mapping, rows, today=self.today)

    def close(self) -> None:
        pass

    def __enter__(self) -> RowProcessor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
