"""Durability with real processes and a real ``kill -9``: a run killed mid-chunk and run
again finishes with every chunk done once and every property valued once; on PostgreSQL
two worker processes share a run (each chunk done exactly once, counted), also when one
of them is killed mid-chunk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from reos.db.session import tenant_session
from reos.models import Deal, PipelineChunk, PipelineRun, Valuation
from reos.pipeline import service

REOS = [sys.executable, "-m", "tests.pipeline.slow_reos"]
ROOT = str(Path(__file__).resolve().parents[2])
#: Seconds a chunk's transaction is held open before its commit in the worker processes
#: of these tests, so a kill lands inside a chunk (see ``tests/pipeline/slow_reos.py``).
SLOW_CHUNK = "0.4"


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "REOS_DATABASE_URL": database_url,
        "REOS_TEST_CHUNK_PAUSE_S": SLOW_CHUNK,
        "PYTHONPATH": ROOT,
    }


def _chunks(org_id: uuid.UUID, run_id: uuid.UUID) -> list[PipelineChunk]:
    with tenant_session(org_id) as session:
        return list(session.scalars(select(PipelineChunk).where(PipelineChunk.run_id == run_id)))


def _done(org_id: uuid.UUID, run_id: uuid.UUID) -> int:
    return sum(1 for c in _chunks(org_id, run_id) if c.status == "done")


def _plan(org_id: uuid.UUID) -> uuid.UUID:
    with tenant_session(org_id) as session:
        planned = service.plan_run(session)
        return planned.run.id


def _wait_for(predicate: Any, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _assert_sound(org_id: uuid.UUID, run_id: uuid.UUID) -> list[PipelineChunk]:
    """Every chunk done exactly once; each property valued once in the run; each open
    deal once."""
    chunks = _chunks(org_id, run_id)
    assert chunks and all(c.status == "done" and c.completions == 1 for c in chunks)
    with tenant_session(org_id) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None and run.status == "done"
        per_property = Counter(session.scalars(select(Valuation.property_id)))
        valued = sum(c.processed for c in chunks if c.stage == "value")
        open_deals = Counter(
            session.scalars(select(Deal.open_property_id).where(Deal.open_property_id.is_not(None)))
        )
    assert sum(per_property.values()) == valued > 0
    assert set(per_property.values()) == {1}
    assert set(open_deals.values()) == {1}
    return chunks


def test_a_run_killed_mid_chunk_finishes_when_run_again(
    world: dict[str, Any], database_url: str
) -> None:
    org = world["org"]
    env = _env(database_url)
    run_id = _plan(org.id)
    total = len(_chunks(org.id, run_id))
    proc = subprocess.Popen([*REOS, "pipeline", "run", "--org", org.slug], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    _wait_for(lambda: _done(org.id, run_id) >= 6)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _done(org.id, run_id)
    assert 6 <= killed_at < total, "the kill must land before the run ends"
    done = subprocess.run([*REOS, "pipeline", "run", "--org", org.slug], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"resuming unfinished pipeline run {run_id}" in done.stderr
    assert "top 10 deals" in done.stdout
    _assert_sound(org.id, run_id)


@pytest.fixture
def pg_only(is_pg: bool) -> None:
    if not is_pg:
        pytest.skip("several worker processes share a run on PostgreSQL only")


def _workers(org: Any, run_id: uuid.UUID, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    command = [*REOS, "pipeline", "work", "--org", org.slug, "--run", str(run_id)]
    return [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]  # fmt: skip


def test_two_workers_share_a_run_each_chunk_done_once(
    pg_only: None, world: dict[str, Any], database_url: str
) -> None:
    org = world["org"]
    run_id = _plan(org.id)
    procs = _workers(org, run_id, _env(database_url))
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    chunks = _assert_sound(org.id, run_id)
    by_worker = Counter(c.worker for c in chunks)
    assert len(by_worker) == 2, by_worker  # both took chunks
    assert sum(by_worker.values()) == len(chunks)


def test_a_worker_killed_mid_chunk_leaves_its_chunk_to_the_other(
    pg_only: None, world: dict[str, Any], database_url: str
) -> None:
    org = world["org"]
    run_id = _plan(org.id)
    first, second = _workers(org, run_id, _env(database_url))
    _wait_for(lambda: _done(org.id, run_id) >= 6)
    first.send_signal(signal.SIGKILL)
    first.wait()
    _out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    chunks = _assert_sound(org.id, run_id)
    killed = f":{first.pid}"
    survivor = f":{second.pid}"
    assert any(c.worker and c.worker.endswith(survivor) for c in chunks)
    assert all(
        c.worker and (c.worker.endswith(killed) or c.worker.endswith(survivor)) for c in chunks
    )
    with tenant_session(org.id) as session:
        assert session.scalar(select(func.count(PipelineChunk.id)).where(
            PipelineChunk.run_id == run_id, PipelineChunk.completions != 1)) == 0  # fmt: skip
