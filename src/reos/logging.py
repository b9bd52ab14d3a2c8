"""JSON structured logs; each line carries the request id of the request that caused it."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            payload["request_id"] = rid
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            payload.update(extra)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure(level: str = "INFO") -> None:
    root = logging.getLogger("reos")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False


#: Loggers of the libraries a command drives (the match model, its SQL engine, the
#: valuation model). Their warnings speak of the library's internals ("Level ... not
#: observed in dataset, unable to train m value"), not of anything the user can act on.
LIBRARY_LOGGERS = ("splink", "duckdb", "lightgbm", "py.warnings")


@contextmanager
def library_output_to(log_path: Path | None, *, show: bool = False) -> Iterator[None]:
    """Send the libraries' log records and Python warnings to ``log_path`` (JSON lines,
    created only when something is written) instead of the terminal; with ``show`` (the
    CLI's ``--debug``) they are printed as well. Restores everything on the way out."""
    handler: logging.Handler = (
        logging.FileHandler(log_path, encoding="utf-8", delay=True)
        if log_path is not None
        else logging.NullHandler()
    )
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    saved = [(logger, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = show
    to_log = logging.getLogger("py.warnings")

    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        to_log.warning(
            "%s", warnings.formatwarning(message, category, filename, lineno, line).strip()
        )

    try:
        with warnings.catch_warnings():
            warnings.showwarning = showwarning
            yield
    finally:
        for logger, propagate in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
        handler.close()
