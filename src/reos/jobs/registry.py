"""Which handler runs each kind of job: registered by the domain that owns the work.

A domain with background work has a ``jobs`` module that registers its handlers with
:func:`register`; :data:`JOB_MODULES` is the one list of such modules the worker loads.
Handlers import their domain's heavy libraries when they run, so loading the registry
stays cheap.

A handler gets the job's organisation id, its payload and ``checkpoint``: a callable to
call at every progress boundary (the import calls it after each chunk). It raises
:class:`reos.jobs.queue.JobTimedOut` once the job is past its time limit, which stops the
work there; the lease itself is renewed by the worker in the background.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

Checkpoint = Callable[[], None]
Handler = Callable[[uuid.UUID, dict[str, Any], Checkpoint], None]

#: Modules that register job handlers when imported, one per domain with background work.
JOB_MODULES: tuple[str, ...] = ("reos.ingest.jobs", "reos.valuation.jobs")

_handlers: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    """Decorator: ``@register("import")`` makes the function the handler of that kind."""

    def decorate(handler: Handler) -> Handler:
        existing = _handlers.get(kind)
        if existing is not None and existing is not handler:
            raise RuntimeError(f"job kind {kind!r} has two handlers")
        _handlers[kind] = handler
        return handler

    return decorate


def handlers() -> dict[str, Handler]:
    """Every registered kind and its handler (loading :data:`JOB_MODULES` first)."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return dict(_handlers)
