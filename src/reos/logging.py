"""JSON structured logs; each line carries the request id of the request that caused it."""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import sys
import threading
import time
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


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches instead of one write per line.

    The API logs one line per request. Written one by one, each line is a system call on
    the event loop, which lets go of the interpreter lock and then waits to get it back
    from the threads running routes: a fifth of what a small read cost (profile in
    ``benchmarks/request_path.py``). So lines are gathered and written together when
    ``max_bytes`` have gathered, when ``max_delay_s`` has passed since the last write (a
    background thread looks twice that often), at exit, and at once, with everything
    before it, for a warning or an error. The bound, stated plainly: a process killed
    with SIGKILL loses at most the last ``max_delay_s`` of info lines."""

    def __init__(
        self, stream: TextIO, *, max_bytes: int = 64 * 1024, max_delay_s: float = 0.5
    ) -> None:
        super().__init__(stream)
        self.max_bytes = max_bytes
        self.max_delay_s = max_delay_s
        self._pending: list[str] = []
        self._size = 0
        self._written_at = time.monotonic()
        self._flusher: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock around emit
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        self._size += len(line)
        if (
            record.levelno >= logging.WARNING
            or self._size >= self.max_bytes
            or time.monotonic() - self._written_at >= self.max_delay_s
        ):
            self._write()
        elif self._flusher is None:
            self._flusher = threading.Thread(
                target=self._flush_now_and_then, name="reos-log-flusher", daemon=True
            )
            self._flusher.start()

    def _write(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._size = 0
            try:
                self.stream.write(text)
                self.stream.flush()
            except Exception:  # a closed or broken stream: as StreamHandler, never raise
                pass
        self._written_at = time.monotonic()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def _flush_now_and_then(self) -> None:
        while True:
            time.sleep(self.max_delay_s / 2)
            if self._pending and time.monotonic() - self._written_at >= self.max_delay_s:
                self.flush()


def configure(level: str = "INFO") -> None:
    root = logging.getLogger("reos")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = BatchingStreamHandler(sys.stderr)
    atexit.register(handler.flush)
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
