"""Map + validate chunks of raw rows: the CPU-bound half of an import.

``RowProcessor`` wraps :func:`reos.ingest.vectorized.process_block` (column blocks) and
:func:`reos.ingest.validation.process_rows` (lists of rows) for one mapping.

With ``workers`` (default: one when the machine has a second core), :meth:`RowProcessor.
pipeline` maps and validates the next block in a worker process while the caller writes
the current one to the database, so the two halves of an import use both cores. Results
come back in file order; the worker is started only for files of more than one block.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import date
from types import TracebackType

from reos.ingest.mapping import EffectiveMapping
from reos.ingest.readers import RawRow, RowBlock
from reos.ingest.validation import Validated, process_rows
from reos.ingest.vectorized import process_block

PARENT_CHECK_SECONDS = 1.0
_worker_mapping: EffectiveMapping | None = None


_bulk_lock = threading.Lock()
_bulk_state: dict[str, int | bool] = {"depth": 0, "was_enabled": True}


@contextmanager
def bulk_collection() -> Iterator[None]:
    """No automatic cyclic garbage collection while an import runs; a young-generation
    collection every few chunks instead (:func:`chunk_done`).

    An import allocates millions of short-lived containers (a dict per row, tuples per
    record). With CPython's default thresholds the cyclic collector runs every 700
    allocations and every tenth and hundredth run scans the older generations, which hold
    the chunk's live rows: measured on a 100,000-row sales import (SQLite, one process),
    39.4 s with the default collector against 25.1 s without. The rows form no reference
    cycles, so reference counting frees them; the collection every few chunks catches the few
    cycles libraries make. The setting is the process's: an import run by the API's
    worker thread pauses automatic collection for the server while it runs (young
    collections still happen every few chunks). Overlapping uses (two imports in two threads)
    share it: the collector comes back when the last one ends.
    """
    with _bulk_lock:
        if _bulk_state["depth"] == 0:
            _bulk_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _bulk_state["depth"] += 1
    try:
        yield
    finally:
        with _bulk_lock:
            _bulk_state["depth"] -= 1
            if _bulk_state["depth"] == 0 and _bulk_state["was_enabled"]:
                gc.enable()


#: Chunks between two young-generation collections during an import. A collection costs
#: about 50 ms whenever it runs (it walks the containers still alive, mostly the next
#: chunk's rows, already mapped), and finds a few thousand objects in cycles per chunk
#: in the import process and none in the mapping worker: collecting per chunk was 0.5 s
#: of each process's CPU per 100,000 rows, for garbage a few megabytes in size.
COLLECT_EVERY_CHUNKS = 8
_chunks = itertools.count(1)


def chunk_done() -> None:
    """Collect the young generations every ``COLLECT_EVERY_CHUNKS`` chunks."""
    if next(_chunks) % COLLECT_EVERY_CHUNKS == 0:
        gc.collect(1)


def _init_worker(mapping: EffectiveMapping, parent: int) -> None:
    global _worker_mapping
    _worker_mapping = mapping
    gc.disable()  # see bulk_collection; the worker only maps blocks
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End the worker when the import process is gone (killed mid-import: its queue's
    pipe stays open in the worker, which would otherwise wait forever)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _work(block: RowBlock, today: date) -> list[Validated]:
    assert _worker_mapping is not None
    try:
        return process_block(_worker_mapping, block, today=today)
    finally:
        chunk_done()


class RowProcessor:
    def __init__(
        self, mapping: EffectiveMapping, *, today: date | None = None, workers: int | None = None
    ) -> None:
        self.mapping = mapping
        self.today = today or date.today()
        self.workers = min(1, (os.cpu_count() or 1) - 1) if workers is None else min(workers, 1)
        self._pool: ProcessPoolExecutor | None = None

    def process(self, rows: Sequence[RawRow] | RowBlock) -> list[Validated]:
        """Map and validate a chunk: a column block takes the vectorised path, a list of
        rows (previews, quarantine retries) the row-by-row one; the results are equal."""
        if isinstance(rows, RowBlock):
            return process_block(self.mapping, rows, today=self.today)
        return process_rows(self.mapping, rows, today=self.today)

    def pipeline(self, blocks: Iterator[RowBlock]) -> Iterator[tuple[RowBlock, list[Validated]]]:
        """Each block with its results, in order. While the caller handles one block the
        worker maps the next. A read error further on (malformed CSV) is raised only after
        the blocks read before it were handed out, as without read-ahead."""
        ahead, error = _next(blocks)
        if ahead is None or self.workers < 1:
            while ahead is not None:
                yield ahead, self.process(ahead)
                ahead, error = _next(blocks)
            if error is not None:
                raise error
            return
        current, ahead = ahead, None
        if error is None:
            ahead, error = _next(blocks)
        if ahead is None:
            yield current, self.process(current)
            if error is not None:
                raise error
            return
        self._start()
        queued = (ahead, self._submit(ahead))
        yield current, self.process(current)
        while True:
            block, future = queued
            following = None
            if error is None:
                upcoming, error = _next(blocks)
                if upcoming is not None:
                    following = (upcoming, self._submit(upcoming))
            yield block, self._result(block, future)
            if following is None:
                break
            queued = following
        if error is not None:
            raise error

    def _submit(self, block: RowBlock) -> Future[list[Validated]] | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(_work, block, self.today)
        except (BrokenProcessPool, RuntimeError):
            self._give_up_worker()
            return None

    def _result(self, block: RowBlock, future: Future[list[Validated]] | None) -> list[Validated]:
        """The worker's result, or the block processed here when the worker could not
        run (a process that cannot be started, or that died): slower, never different."""
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                self._give_up_worker()
        return self.process(block)

    def _give_up_worker(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.workers = 0

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.mapping, os.getpid()),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> RowProcessor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _next(blocks: Iterator[RowBlock]) -> tuple[RowBlock | None, Exception | None]:
    try:
        return next(blocks, None), None
    except Exception as err:  # a read error is raised in order, after the blocks before it
        return None, err
