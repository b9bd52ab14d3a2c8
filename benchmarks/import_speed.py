"""Import speed and memory: a realistic sales file (property + sale columns, resales of
the same house, ~1% dirty rows) imported with ``reos import sales`` into SQLite and, when
``--pg URL`` is given, PostgreSQL. Each run is a fresh store and a child process, so peak
RSS (the child's ru_maxrss) is the import's own.

    .venv/bin/python benchmarks/import_speed.py --rows 1000000 \
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Prints one table: store, rows, seconds, rows/second, CPU seconds of the import's processes
(user + system: the figure to compare on a shared machine), peak RSS MB of the import
process and of its process tree (import + mapping worker; sampled), the 1-minute load
average when the run ended, and the report's counts. ``--workers 0`` runs the import in one
process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from scratch_database import create_database, drop_database

REOS = str(Path(sys.executable).parent / "reos")


class _MemorySampler:
    """Peak RSS of the import process and of its whole process tree (the import plus its
    mapping worker), sampled every 0.2 s from /proc."""

    def __init__(self, pid: int) -> None:
        self.peak_main = 0
        self.peak_tree = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def _run(self, pid: int) -> None:
        try:
            process = psutil.Process(pid)
            while not self._done.wait(0.2):
                main = process.memory_info().rss
                tree = main + sum(c.memory_info().rss for c in process.children(recursive=True))
                self.peak_main = max(self.peak_main, main)
                self.peak_tree = max(self.peak_tree, tree)
        except psutil.Error:
            pass  # the process ended between two samples

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run_once(
    csv_path: Path, url: str | None, home: Path, chunk_rows: int, workers: int | None
) -> dict[str, object]:
    env = {**os.environ, "REOS_HOME": str(home)}
    if url:
        env["REOS_DATABASE_URL"] = url
    else:
        env.pop("REOS_DATABASE_URL", None)
    subprocess.run(
        [REOS, "init", "--password", "benchmark password 1"],
        env=env,
        check=True,
        capture_output=True,
    )
    command = [REOS, "import", "sales", str(csv_path), "--json", "--chunk-rows", str(chunk_rows)]
    if workers is not None:
        command += ["--workers", str(workers)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        memory = _MemorySampler(child.pid)
        # wait4: this run's own CPU time (the import and the worker it waited for)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        memory.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu = usage.ru_utime + usage.ru_stime
    if child.returncode != 0:
        raise SystemExit(f"import failed: {stderr}")
    report = json.loads(stdout)
    return {
        "seconds": seconds,
        "report": report,
        # sampled, not ru_maxrss: a child started by vfork inherits this process's peak
        "peak_mb": memory.peak_main / 2**20,
        "tree_mb": memory.peak_tree / 2**20,
        "cpu": cpu,
        "load": os.getloadavg()[0],
    }


def _generate(path: Path, rows: int, repeat_rate: float) -> Any:
    """Write the file in a child process: generating a million rows holds ~600 MB, which
    this process must not keep (its size would blur the import's own)."""
    code = (
        "import json, sys\n"
        "from reos.ingest.synthetic import write_sales_file\n"
        "e = write_sales_file(sys.argv[1], int(sys.argv[2]), repeat_rate=float(sys.argv[3]))\n"
        "print(json.dumps(e.__dict__))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(rows), str(repeat_rate)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    from reos.ingest.synthetic import Expected

    return Expected(**json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1, help="runs per store (median reported)")
    parser.add_argument(
        "--pg", default=os.environ.get("REOS_BENCH_PG_URL"), help="PostgreSQL server URL"
    )
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--repeat-rate", type=float, default=0.3)
    parser.add_argument(
        "--stores", default="sqlite,postgresql", help="which stores to run (comma-separated)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="passed to `reos import` (default: its own)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "sales.csv"
        t0 = time.perf_counter()
        expected = _generate(csv_path, args.rows, args.repeat_rate)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f}s; expect {expected.properties:,} properties, "
              f"{expected.sales:,} sales, {expected.dirty:,} quarantined", file=sys.stderr)  # fmt: skip
        rows = []
        stores = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
        stores = [(name, url) for name, url in stores if name in args.stores.split(",")]
        for store, base in stores:
            results = []
            for run in range(args.runs):
                home = Path(tmp) / f"home_{store}_{run}"
                name = None
                url = None
                if base:
                    url, name = create_database(base)
                try:
                    results.append(run_once(csv_path, url, home, args.chunk_rows, args.workers))
                finally:
                    if base and name:
                        drop_database(base, name)
            seconds = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
            report = results[0]["report"]
            assert isinstance(report, dict)
            cpu = statistics.median(float(r["cpu"]) for r in results)  # type: ignore[arg-type]
            tree = max(float(r["tree_mb"]) for r in results)  # type: ignore[arg-type]
            load = results[-1]["load"]
            rows.append((store, args.rows, seconds, args.rows / seconds, cpu,
                         max(float(r["peak_mb"]) for r in results), tree, load, report))  # type: ignore[arg-type]  # fmt: skip
            if args.runs > 1:
                each = ", ".join(f"{float(r['seconds']):.1f}" for r in results)  # type: ignore[arg-type]
                print(f"{store}: seconds per run {each}", file=sys.stderr)
    print(f"{'store':<11}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'cpu s':>8}{'peak MB':>9}"
          f"{'tree MB':>9}{'load':>6}  report")  # fmt: skip
    for store, n, seconds, rate, cpu, peak, tree, load, report in rows:
        counts = (f"inserted {report['inserted']:,} updated {report['updated']:,} unchanged "
                  f"{report['unchanged']:,} quarantined {report['quarantined']:,} balanced {report['balanced']}")  # fmt: skip
        print(f"{store:<11}{n:>10,}{seconds:>10.1f}{rate:>10,.0f}{cpu:>8.1f}{peak:>9.0f}"
              f"{tree:>9.0f}{load:>6.1f}  {counts}")  # fmt: skip


if __name__ == "__main__":
    main()
