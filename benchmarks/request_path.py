# ruff: noqa: S603, S608  (runs this project's own commands; SQL names its own tables)
"""What a real request costs: ``GET /api/v1/properties/{id}`` with an API key, against
the smallest sensible FastAPI + SQLAlchemy app reading the same row from the same store.

    .venv/bin/python benchmarks/request_path.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Sets up a fresh store (``reos init``, ``reos import sales`` of the Ames sample, an
analyst API key), then serves side by side, each with 2 uvicorn workers:

- the real app (``reos serve --workers 2``), and
- a baseline written below: FastAPI + a SQLAlchemy engine, one route that selects the
  property row by id and returns it as JSON. No auth, no tenancy, no middleware: the
  floor that the framework, the driver and the store set on this machine.

wrk (2 threads x 16 connections, ``--seconds`` each) then runs against the baseline, the
real property route and the real ``/health`` in turn, for ``--rounds`` alternating rounds,
and one table prints the median requests/s and the ratio real/baseline, and the median
CPU time the server's processes spent per request (user + system, from ``/proc``), which
other work on a shared machine disturbs far less than requests/s. The rate limits
are raised for the run (a single client at thousands of requests/s would be refused
otherwise, and a refusal is not the path being measured); everything else, logging
included, is as deployed. A response that is not 2xx fails the run.

With ``--pg URL`` the store is a fresh database on that server (dropped afterwards); the
baseline reads the same row from it as the URL's user. ``--compare /work/main`` serves a
second checkout's app on the same store too and measures it in the same rounds (before and
after a change, under the same load). Servers are stopped on exit.

Where the time went (py-spy, 16 concurrent requests in one process, 2026-12-04): the event
loop was the bottleneck, not the database. A read took four or five trips between the loop
and the thread pool (the session dependency's entry and exit, a synchronous wrapper
dependency, the route, the validation of its result), and the access-log line was written
with one system call per request, which gave up the interpreter lock to the route threads
and waited to get it back: a quarter of the loop's samples. Now (``reos.http.unit_of_work``,
``reos.logging.BatchingStreamHandler``) one ``async`` dependency authenticates and opens
the session without I/O, the route and its commit take one trip to the pool, log lines
are written in batches; what is left on the loop is mostly FastAPI's own routing and
dependency solving, which the baseline pays too.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from scratch_database import create_database, drop_database
from sqlalchemy import create_engine, text

BIN = Path(sys.executable).parent
REOS = str(BIN / "reos")
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
WRK_THREADS, WRK_CONNECTIONS = 2, 16

BASELINE_APP = """
import os, uuid
from fastapi import FastAPI, HTTPException
from sqlalchemy import Uuid, column, create_engine, literal_column, select, table

engine = create_engine(os.environ["BASELINE_DATABASE_URL"])
properties = table("properties", column("id", Uuid))
app = FastAPI()


@app.get("/properties/{property_id}")
def get_property(property_id: uuid.UUID) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            select(literal_column("*")).select_from(properties).where(properties.c.id == property_id)
        ).mappings().first()
    if row is None:
        raise HTTPException(404)
    return dict(row)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(args[:3])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare_store(env: dict[str, str]) -> str:
    """Initialise the store, import the Ames sample, create an API key (returned)."""
    _run([REOS, "init", "--org", "Bench", "--password", "benchmark password 1"], env)
    _run(
        [
            REOS, "import", "sales", str(SAMPLES / "ames_iowa_sales_2006_2010.csv"),
            "--mapping", str(SAMPLES / "ames.mapping.yaml"), "--org", "bench",
        ],
        env,
    )  # fmt: skip
    out = _run([REOS, "apikeys", "create", "--name", "bench", "--role", "analyst",
                "--org", "bench"], env)  # fmt: skip
    return out.strip().splitlines()[-1]


def first_property_id(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT id FROM properties ORDER BY id LIMIT 1"))
        value = raw.scalar_one()
    engine.dispose()
    return str(uuid.UUID(str(value)))


class Server:
    """A uvicorn server in its own process group, stopped (group and all) on exit."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, cwd: Path) -> None:
        self.port = port
        self.log = (cwd / f"server-{port}.log").open("wb")
        self.proc = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, path: str, headers: dict[str, str], timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"error: the server on port {self.port} exited; see its log")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}{path}", headers=headers
                )
                with urllib.request.urlopen(request, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"error: the server on port {self.port} did not answer {path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def cpu_seconds(server: Server | None) -> float:
    """CPU time (user + system) used so far by every process of ``server``'s group."""
    if server is None:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[2]) == server.proc.pid:  # field 5: process group id
            total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str, seconds: int, headers: dict[str, str], server: Server | None = None
) -> tuple[float, float]:
    """Requests/s, and the server's CPU milliseconds per request (0 without ``server``)."""
    args = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(server)
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(server) - cpu_before
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"error: {bad.group(1)} responses to {url} were not 2xx:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    if not found or not done:
        raise SystemExit(f"error: wrk printed no rate for {url}:\n{out}")
    return float(found.group(1)), 1000 * cpu / max(int(done.group(1)), 1)


def run(
    pg: str | None, rounds: int, seconds: int, workers: int, compare: Path | None
) -> dict[str, list[tuple[float, float]]]:
    """(requests/s, server CPU ms per request) per target and round: baseline, reos
    property, reos health (and the same two for the ``compare`` source tree when given)."""
    work = Path(tempfile.mkdtemp(prefix="reos-reqpath-"))
    env = {
        **os.environ,
        "REOS_HOME": str(work / "home"),
        "REOS_RATE_LIMIT_IP_PER_MIN": str(10**9),
        "REOS_RATE_LIMIT_ORG_PER_MIN": str(10**9),
    }
    env.pop("REOS_DATABASE_URL", None)
    pg_name = None
    if pg:
        baseline_url, pg_name = create_database(pg)
        env["REOS_DATABASE_URL"] = baseline_url
    else:
        baseline_url = f"sqlite:///{work / 'home' / 'reos.db'}"
    servers: list[Server] = []
    try:
        key = prepare_store(env)
        property_id = first_property_id(baseline_url)
        (work / "baseline_app.py").write_text(BASELINE_APP)
        apps = {"reos": env}
        if compare is not None:
            # the other checkout may be a migration behind the store: it reads only the
            # tables it knows, so it is served without the schema check
            apps[f"reos@{compare.name}"] = {
                **env, "PYTHONPATH": str(compare / "src"), "REOS_SKIP_SCHEMA_CHECK": "1",
            }  # fmt: skip
        auth = {"X-API-Key": key}
        targets: dict[str, tuple[str, dict[str, str], Server]] = {}
        base_port = _free_port()
        base = Server(
            [str(BIN / "uvicorn"), "baseline_app:app", "--port", str(base_port),
             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
            {**env, "BASELINE_DATABASE_URL": baseline_url}, base_port, work,
        )  # fmt: skip
        servers.append(base)
        base.wait_ready(f"/properties/{property_id}", {})
        targets["baseline /properties/{id}"] = (
            f"http://127.0.0.1:{base_port}/properties/{property_id}",
            {},
            base,
        )
        for name, app_env in apps.items():
            port = _free_port()
            # `reos serve` for this checkout; for another one, the same uvicorn call that
            # `reos serve` makes, without its schema check (see REOS_SKIP_SCHEMA_CHECK)
            command = (
                [REOS, "serve", "--port", str(port), "--workers", str(workers)]
                if name == "reos"
                else [str(BIN / "uvicorn"), "reos.app:create_app", "--factory", "--port",
                      str(port), "--workers", str(workers), "--log-level", "warning"]
            )  # fmt: skip
            server = Server(command, app_env, port, work)
            servers.append(server)
            server.wait_ready(f"/api/v1/properties/{property_id}", auth)
            root = f"http://127.0.0.1:{port}"
            targets[f"{name} /api/v1/properties/{{id}}"] = (
                f"{root}/api/v1/properties/{property_id}",
                auth,
                server,
            )
            targets[f"{name} /health"] = (f"{root}/health", {}, server)
        for url, headers, _ in targets.values():  # warm every worker up
            wrk(url, 2, headers)
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        for i in range(rounds):
            for name, (url, headers, server) in targets.items():
                rates[name].append(wrk(url, seconds, headers, server))
            line = ", ".join(
                f"{name} {rates[name][-1][0]:,.0f}/s {rates[name][-1][1]:.2f} ms"
                for name in targets
            )
            print(f"round {i + 1}: {line}", file=sys.stderr)
        return rates
    finally:
        for server in servers:
            server.stop()
        if pg and pg_name:
            drop_database(pg, pg_name)


def _load() -> str:
    """The 1-minute load average (other work on the machine skews requests/s)."""
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a fresh database is made on it)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--compare",
        type=Path,
        help="another checkout of this project (e.g. the main branch): its app is served "
        "too, on the same store, and measured in the same rounds",
    )
    args = parser.parse_args()
    if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
        raise SystemExit("error: wrk is not installed (apt-get install -y wrk)")
    store = "PostgreSQL" if args.pg else "SQLite"
    load_before = _load()
    rates = run(args.pg, args.rounds, args.seconds, args.workers, args.compare)
    med = {name: statistics.median(r for r, _ in values) for name, values in rates.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in rates.items()}
    print(f"\nrequest path on {store}: requests/s, median of {args.rounds} rounds of "
          f"{args.seconds} s (wrk {WRK_THREADS} threads x {WRK_CONNECTIONS} connections, "
          f"{args.workers} workers each); load average before: {load_before}, after: "
          f"{_load()}")  # fmt: skip
    print("CPU ms/request: user + system time of the server's processes over the run, per "
          "request served (steadier than requests/s on a shared machine)")  # fmt: skip
    baseline = med["baseline /properties/{id}"]
    baseline_cpu = cpu["baseline /properties/{id}"]
    width = max(len(name) for name in med) + 2
    print(f"{'':<{width}}{'requests/s':>12}{'/ baseline':>12}{'CPU ms/req':>12}"
          f"{'baseline/':>11}")  # fmt: skip
    for name, value in med.items():
        print(f"{name:<{width}}{value:>12,.0f}{value / baseline:>12.2f}{cpu[name]:>12.2f}"
              f"{baseline_cpu / cpu[name]:>11.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
