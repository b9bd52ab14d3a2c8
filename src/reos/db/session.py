"""Units of work. The entry point (request, CLI command, job) owns the transaction:

    with tenant_session(org_id) as session:
        service.do_something(session, ...)

commits on success and rolls back on any error. Services flush, never commit.
``system_session`` is for the identity layer (finding a user or API key before an
organisation is known) and for claiming jobs; it does not switch role and is not scoped.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reos.config import get_settings
from reos.db import tenancy
from reos.db.engine import get_engine, is_postgres

_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def _factory(engine: Engine) -> sessionmaker[Session]:
    """One session factory per engine: a ``sessionmaker`` makes a new Session subclass
    (with its own event dispatch) when built, too dear to do for every unit of work."""
    factory = _factories.get(engine)
    if factory is None:
        factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
        _factories[engine] = factory
    return factory


def app_role_for(engine: Engine) -> str | None:
    return get_settings().app_role if is_postgres(engine) else None


def open_tenant_session(org_id: uuid.UUID | None, engine: Engine | None = None) -> Session:
    engine = engine or get_engine()
    session = _factory(engine)()
    tenancy.bind(session, org_id, app_role=app_role_for(engine))
    return session


@contextmanager
def _unit_of_work(session: Session) -> Iterator[Session]:
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def tenant_session(org_id: uuid.UUID | None, engine: Engine | None = None) -> Iterator[Session]:
    with _unit_of_work(open_tenant_session(org_id, engine)) as session:
        yield session


@contextmanager
def system_session(engine: Engine | None = None) -> Iterator[Session]:
    with _unit_of_work(_factory(engine or get_engine())()) as session:
        yield session
