"""Engines for the embedded store (SQLite) and the server store (PostgreSQL).

SQLite gets WAL (readers never block the writer), foreign keys on (off by default in
SQLite) and a busy timeout so a second process waits instead of failing at once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from reos.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            from pathlib import Path

            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache(maxsize=4)
def _engine_for(url: str, pool_size: int) -> Engine:
    return make_engine(url, pool_size=pool_size)


_current: tuple[object, Engine] | None = None


def get_engine() -> Engine:
    """The engine for the current settings' store.

    Remembered per settings object: working out the store's URL resolves the home folder
    on disk, which cost every request a handful of system calls when done each time.
    """
    global _current
    settings = get_settings()
    current = _current
    if current is not None and current[0] is settings:
        return current[1]
    engine = _engine_for(settings.effective_database_url, settings.db_pool_size)
    _current = (settings, engine)
    return engine


def reset_engines() -> None:
    global _current
    _current = None
    for engine in list(_engine_cache_values()):
        engine.dispose()
    _engine_for.cache_clear()


def _engine_cache_values() -> list[Engine]:
    # lru_cache keeps no public view of its values; re-create is cheap, so only dispose the
    # engine for the current URL if it was built.
    try:
        settings = get_settings()
        return [_engine_for(settings.effective_database_url, settings.db_pool_size)]
    except Exception:  # pragma: no cover - nothing to dispose
        return []


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
