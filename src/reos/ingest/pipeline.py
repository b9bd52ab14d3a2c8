"""Map + validate chunks of raw rows: the CPU-bound half of an import.

``RowProcessor`` wraps :func:`reos.ingest.vectorized.process_block` (column blocks) and
:func:`reos.ingest.validation.process_rows` (lists of rows) for one mapping.

With ``workers`` (default: one when the machine has a second core), :meth:`RowProcessor.
pipeline` has a worker process read and map the file's next block while the caller writes
the current one to the database, so the two halves of an import use both cores. The worker
opens the file itself (:class:`BlockSource`): reading a block and sending it over were
about 2 s of the import process's time per 100,000 rows, and that process, which also
matches and writes, is the busier of the two. Results come back in file order; the worker
is started only for files of more than one block (the import process maps the first one
while it starts).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType

from reos.ingest.mapping import EffectiveMapping
from reos.ingest.readers import RawRow, RowBlock, open_table
from reos.ingest.validation import process_rows
from reos.ingest.vectorized import process_block
from reos.kernel.rows import Validated

PARENT_CHECK_SECONDS = 1.0
_worker_mapping: EffectiveMapping | None = None
_worker_blocks: Iterator[RowBlock] | None = None
_worker_files = ExitStack()
#: What the worker answers when reading the file failed: the import process then reads on
#: from the last block it received, so the error is raised there, in order, as it would
#: be without a worker.
READ_FAILED = "read failed"
#: What :meth:`RowProcessor._result` gives for a worker that died (the import process
#: goes on alone, the same way).
WORKER_GONE = "worker gone"


@dataclass(frozen=True)
class BlockSource:
    """A file's blocks after a checkpoint: what the mapping worker needs to read them itself.

    ``after_row``: rows up to this number are done (a resumed import's checkpoint); the
    block holding it is cut there (``RowBlock.tail``).
    """

    path: str
    chunk_rows: int
    after_row: int = 0

    @contextmanager
    def open(self, after_row: int | None = None) -> Iterator[Iterator[RowBlock]]:
        """The blocks after ``after_row`` (default: the checkpoint), file open meanwhile."""
        done = self.after_row if after_row is None else max(after_row, self.after_row)
        with open_table(Path(self.path)) as reader:
            yield blocks_after(reader.blocks(self.chunk_rows), done)


def blocks_after(blocks: Iterator[RowBlock], done: int) -> Iterator[RowBlock]:
    """The blocks from the row after ``done`` on."""
    for block in blocks:
        if block.row_numbers[-1] <= done:
            continue
        if block.row_numbers[0] <= done:
            block = block.tail(bisect.bisect_right(block.row_numbers, done))
        yield block


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


def _init_worker(
    mapping: EffectiveMapping, parent: int, source: BlockSource, after_row: int
) -> None:
    global _worker_mapping, _worker_blocks
    _worker_mapping = mapping
    gc.disable()  # see bulk_collection; the worker only maps blocks
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _worker_blocks = _worker_files.enter_context(source.open(after_row))


def _exit_with_parent(parent: int) -> None:
    """End the worker when the import process is gone (killed mid-import: its queue's
    pipe stays open in the worker, which would otherwise wait forever)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _work_next(today: date) -> tuple[int, list[Validated]] | str | None:
    """The next block of the worker's file, mapped: its last row number and results;
    ``None`` at the end of the file, ``READ_FAILED`` when reading failed."""
    assert _worker_mapping is not None and _worker_blocks is not None
    try:
        block = next(_worker_blocks, None)
    except Exception:
        return READ_FAILED  # raised again, in order, by the import process's own reading
    if block is None:
        _worker_files.close()
        return None
    try:
        return block.row_numbers[-1], process_block(_worker_mapping, block, today=today)
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

    def pipeline(self, source: BlockSource) -> Iterator[tuple[int, list[Validated]]]:
        """Each block's last row number with its results, in file order. While the caller
        handles one block the worker reads and maps the next. A read error further on
        (malformed CSV) is raised only after the blocks before it were handed out, as
        without a worker; a worker that cannot start or dies is replaced by reading and
        mapping here, from the block after the last one received: slower, never different."""
        if self.workers < 1:
            yield from self._here(source, source.after_row)
            return
        with source.open() as blocks:
            head: list[RowBlock] = []
            error = None
            while len(head) < 2 and error is None:
                block, error = _next(blocks)
                if block is None:
                    break
                head.append(block)
        if len(head) < 2 or error is not None:  # a small file: no worker
            for block in head:
                yield block.row_numbers[-1], self.process(block)
            if error is not None:
                raise error
            return
        # the worker starts with the second block (read here only to know it exists)
        done = head[0].row_numbers[-1]
        future = self._submit(source, done)
        yield done, self.process(head[0])
        del head
        while future is not None:
            result = self._result(future)
            if result is None:
                return
            if isinstance(result, str):  # READ_FAILED or WORKER_GONE
                break
            done = result[0]
            future = self._submit(source, done)
            yield result
        yield from self._here(source, done)

    def _here(self, source: BlockSource, done: int) -> Iterator[tuple[int, list[Validated]]]:
        """The blocks after row ``done``, read and mapped in this process (a read error
        is raised after the blocks before it)."""
        self._give_up_worker()
        with source.open(done) as blocks:
            for block in blocks:
                yield block.row_numbers[-1], self.process(block)

    def _submit(
        self, source: BlockSource, done: int
    ) -> Future[tuple[int, list[Validated]] | str | None] | None:
        try:
            return self._start(source, done).submit(_work_next, self.today)
        except (BrokenProcessPool, RuntimeError):
            self._give_up_worker()
            return None

    def _result(
        self, future: Future[tuple[int, list[Validated]] | str | None]
    ) -> tuple[int, list[Validated]] | str | None:
        try:
            return future.result()
        except BrokenProcessPool:
            return WORKER_GONE

    def _give_up_worker(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self.workers = 0

    def _start(self, source: BlockSource, done: int) -> ProcessPoolExecutor:
        """The worker, started on first use to read ``source`` after row ``done`` (later
        calls: the worker already reads on from where it is)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.mapping, os.getpid(), source, done),
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
