"""What a domain declares about itself: its front door.

Every domain package (``reos/<domain>/__init__.py``) defines one :class:`Domain` named
``DOMAIN``; :mod:`reos.domains` lists them. The API (:mod:`reos.app`), the CLI
(:mod:`reos.cli`) and the job worker (:mod:`reos.jobs.registry`) iterate that list, so a new
domain is added by writing its package and adding it to the list, and by nothing else shared.

Everything here is a dotted path, not an object: declaring a domain must import nothing
heavy, because ``reos users ...`` reads every declaration and must not load LightGBM, Splink
or DuckDB. The CLI imports a command module only when one of its commands is asked for; the
API imports routers when it builds the app; the worker imports job modules when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Commands:
    """A module of CLI commands and the top-level command names it mounts.

    The module defines ``mount(app: typer.Typer)``, which adds exactly ``names`` to ``app``
    (a test checks the two agree). The names are declared here so that the root command
    knows which module to import for ``reos <name>`` without importing any of them."""

    module: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    """A job to enqueue periodically: ``job_kind`` every ``every_seconds``, for every
    organisation, once per period however many workers run (see
    :mod:`reos.jobs.schedules`). The kind's handler is registered in the domain's
    ``jobs`` module like any other; its payload carries the period's start
    (``{"period_start": ISO 8601}``)."""

    job_kind: str
    every_seconds: int

    def __post_init__(self) -> None:
        if self.every_seconds < 1:
            raise ValueError(f"schedule {self.job_kind!r}: every_seconds must be at least 1")


@dataclass(frozen=True)
class Domain:
    """One business domain's entry points.

    ``router`` is ``"module:attribute"`` of its FastAPI router; ``commands`` its CLI;
    ``jobs`` a module that registers job handlers with :func:`reos.jobs.registry.register`
    when imported; ``kinds`` a module that registers the import record kinds it writes
    with :func:`reos.ingest.kinds.register` when imported; ``schedules`` its periodic
    tasks. Each is optional."""

    name: str
    router: str | None = None
    commands: Commands | None = None
    jobs: str | None = None
    kinds: str | None = None
    schedules: tuple[Schedule, ...] = ()
