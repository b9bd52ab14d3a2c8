"""Which handler runs each kind of job: registered by the domain that owns the work.

A domain with background work has a ``jobs`` module that registers its handlers with
:func:`register` and declares it in its ``DOMAIN`` (``reos/<domain>/__init__.py``); the
worker loads the modules of every domain in :data:`reos.domains.DOMAINS`.
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
    """Every registered kind and its handler (loading every domain's jobs module first)."""
    from reos.domains import job_modules

    for module in job_modules():
        importlib.import_module(module)
    return dict(_handlers)
