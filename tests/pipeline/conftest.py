"""A small synthetic county per test: ~300 parcels with sales, owners and three lists,
an AVM trained on them, 100 properties per chunk (so every per-property stage has
several chunks)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from reos.flows import county as synthetic

WORLD_SIZE = 300
CHUNK = 100


@pytest.fixture(scope="session")
def world_files(tmp_path_factory: pytest.TempPathFactory) -> synthetic.World:
    return synthetic.write_world(tmp_path_factory.mktemp("world"), WORLD_SIZE, seed=5)


@pytest.fixture
def world(org: Any, world_files: synthetic.World, tmp_path: Path) -> dict[str, Any]:
    """A fresh organisation loaded with the synthetic county."""
    copy = tmp_path / "world"
    shutil.copytree(world_files.sales.parent, copy)
    files = synthetic.World(
        copy / "sales.csv",
        copy / "owners.csv",
        {k: copy / p.name for k, p in world_files.lists.items()},
        world_files.parcels,
    )
    synthetic.load_world(org.id, files, chunk_properties=CHUNK)
    return {"org": org, "org_id": org.id, "files": files}


def run_id_of(org_id: uuid.UUID) -> uuid.UUID:
    from reos.db.session import tenant_session
    from reos.pipeline import service

    with tenant_session(org_id) as session:
        runs, _ = service.list_runs(session, limit=1)
        return runs[0].id
