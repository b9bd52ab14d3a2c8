"""The one list of domains, and of the platform's own commands.

``app.py`` mounts each domain's router, ``cli.py`` each domain's commands (lazily), the
job worker loads each domain's job handlers and schedules, and the importer each domain's
record kinds, all by iterating :data:`DOMAINS`. Adding a
domain means writing ``reos/<domain>/__init__.py`` with its ``DOMAIN`` and adding it here.

Importing this module imports only the domain packages' ``__init__`` modules, which declare
and do not load (see :mod:`reos.frontdoor`).
"""

from __future__ import annotations

from reos import (
    accounts,
    crm,
    dealflow,
    ingest,
    owners,
    pipeline,
    properties,
    underwriting,
    valuation,
)
from reos.frontdoor import Commands, Domain, Schedule

#: Every business domain, in the order their routers are mounted.
DOMAINS: tuple[Domain, ...] = (
    accounts.DOMAIN,
    properties.DOMAIN,
    ingest.DOMAIN,
    valuation.DOMAIN,
    owners.DOMAIN,
    underwriting.DOMAIN,
    dealflow.DOMAIN,
    crm.DOMAIN,
    pipeline.DOMAIN,
)

#: Commands that belong to no domain: the store, the server and the job worker.
PLATFORM_COMMANDS: tuple[Commands, ...] = (
    Commands("reos.server", ("init", "serve")),
    Commands("reos.db.commands", ("db",)),
    Commands("reos.jobs.commands", ("worker",)),
)


def command_modules() -> dict[str, str]:
    """Each top-level command name and the module that mounts it (a name may have one)."""
    sets = [*PLATFORM_COMMANDS, *(d.commands for d in DOMAINS if d.commands is not None)]
    out: dict[str, str] = {}
    for commands in sets:
        for name in commands.names:
            if name in out:
                raise RuntimeError(f"command {name!r} is declared twice")
            out[name] = commands.module
    return out


def router_paths() -> list[str]:
    """Every domain's router as ``module:attribute``, in :data:`DOMAINS` order."""
    return [d.router for d in DOMAINS if d.router is not None]


def job_modules() -> tuple[str, ...]:
    """Every module that registers job handlers when imported."""
    return tuple(d.jobs for d in DOMAINS if d.jobs is not None)


def kind_modules() -> tuple[str, ...]:
    """Every module that registers import record kinds when imported."""
    return tuple(d.kinds for d in DOMAINS if d.kinds is not None)


def schedules() -> tuple[Schedule, ...]:
    """Every domain's periodic tasks, which the job workers enqueue."""
    return tuple(schedule for d in DOMAINS for schedule in d.schedules)
