"""A request's unit of work, and the one thread-pool hop a route takes.

Every route of every domain talks to the database through the session it is handed
(``ReadSession``, ``WriteSession``, ``session_for(permission)`` in :mod:`reos.http.deps`).
Left to FastAPI, a plain ``def`` route with such a session took four or five trips between
the event loop and a worker thread for one read (a synchronous dependency, the entry and
the exit of a ``yield`` dependency, the route, the validation of its result), and solving
a ``yield`` dependency costs the loop a context manager and an exit stack on top; together
the larger part of what a small read cost (profile in ``benchmarks/request_path.py``).

So the path is cut to one hop:

- the session dependency is a plain ``async`` function: it opens the session on the event
  loop, which costs no I/O (a SQLAlchemy session takes its connection at its first
  statement), and enlists it as one of the request's units of work (:func:`enlist`);
- :func:`one_hop`, applied by the app to every domain router, wraps each route so that a
  plain ``def`` route runs *and then commits (or, on error, rolls back) and closes the
  request's sessions* in one trip to the thread pool: the database work of a request, from
  the first statement to the commit, happens on one thread; an ``async`` route's sessions
  are finished in one trip after it returns;
- FastAPI then validates the result on the loop: a route returns instances of its
  response model, which pydantic accepts without validating again, and serialises them
  to JSON bytes in its Rust core.

The guarantees do not move: the transaction commits before the response starts (a client
that got 200 can rely on its write) and rolls back on any error, including a failed
dependency after the session was opened. A session no route finished (a router mounted
without :func:`one_hop`) is rolled back and closed by the middleware, with an error in the
log (:func:`finish_leftovers`): a bug to fix, never a silent commit.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.types import Scope

log = logging.getLogger("reos.http")

SCOPE_KEY = "reos.units_of_work"
#: Threads that run routes: as many as anyio's default thread limit, which FastAPI uses.
ROUTE_THREADS = 40
CONVERTED = "__reos_one_hop__"
_executor: ThreadPoolExecutor | None = None
_request_units: ContextVar[list[RequestUnit] | None] = ContextVar(
    "reos_request_units", default=None
)
T = TypeVar("T")


class RequestUnit:
    """One session of one request, finished exactly once: committed, or rolled back."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.done = False

    def finish(self, ok: bool) -> None:
        """Commit (``ok``) or roll back, then close. Blocking: runs in the thread pool."""
        if self.done:
            return
        self.done = True
        try:
            if ok:
                self.session.commit()
            else:
                self.session.rollback()
        except BaseException:
            if ok:
                self.session.rollback()
            raise
        finally:
            self.session.close()


def finish_all(units: list[RequestUnit] | None, ok: bool) -> None:
    """Finish every unit of a request; after one fails to commit, the rest roll back."""
    error: BaseException | None = None
    for unit in units or ():
        try:
            unit.finish(ok and error is None)
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error


def _pending(units: list[RequestUnit] | None) -> bool:
    return any(not unit.done for unit in units or ())


def enlist(request: Request, unit: RequestUnit) -> None:
    """Make ``unit`` one of the request's units of work: the route finishes it (see
    :func:`one_hop`)."""
    units: list[RequestUnit] = request.scope.setdefault(SCOPE_KEY, [])
    units.append(unit)
    _request_units.set(units)


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread, in a copy of the caller's context.

    What ``run_in_threadpool`` does, at a third of its cost on the event loop (anyio
    looks up its backend, a capacity limiter and a cancel scope on every call). The same
    rule on cancellation: the caller waits for the thread to finish before the
    cancellation goes on, so a request's session is never used by two threads at once."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(ROUTE_THREADS, thread_name_prefix="reos-route")
    context = contextvars.copy_context()
    future = asyncio.get_running_loop().run_in_executor(_executor, context.run, function, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


def _run_and_finish(endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
    units = _request_units.get()  # the thread runs in a copy of the request's context
    try:
        result = endpoint(**values)
    except BaseException:
        finish_all(units, ok=False)
        raise
    finish_all(units, ok=True)
    return result


def in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as an ``async`` route that finishes the request's units of work when
    it returns: a plain ``def`` runs, with the commit, in one trip to the thread pool;
    an ``async`` one is awaited, then its units are finished in one trip. The signature,
    name and docstring are the endpoint's, so parameters and OpenAPI do not change."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def route(**values: Any) -> Any:
            try:
                result = await endpoint(**values)
            except BaseException:
                units = _request_units.get()
                if _pending(units):
                    await in_thread(finish_all, units, False)
                raise
            units = _request_units.get()
            if _pending(units):
                await in_thread(finish_all, units, True)
            return result

    else:

        @functools.wraps(endpoint)
        async def route(**values: Any) -> Any:
            return await in_thread(_run_and_finish, endpoint, values)

    setattr(route, CONVERTED, True)
    return route


def one_hop(router: APIRouter) -> APIRouter:
    """Make every route of ``router`` finish its units of work itself (see
    :func:`in_one_hop`); streaming (generator) routes are left as they are and must not
    take a session. Call it before the router is included in an app: inclusion builds
    each route from its endpoint. Idempotent."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        endpoint = route.endpoint
        if (
            getattr(endpoint, CONVERTED, False)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        ):
            continue
        route.endpoint = in_one_hop(endpoint)
    return router


async def finish_leftovers(scope: Scope) -> None:
    """Roll back and close the units of work of a request that no route finished: a
    dependency failed after the session was opened (nothing was written), or the route
    was mounted without :func:`one_hop` (a bug: said in the log)."""
    units: list[RequestUnit] = scope.get(SCOPE_KEY) or []
    left = [unit for unit in units if not unit.done]
    if not left:
        return
    if any(unit.session.in_transaction() for unit in left):
        route = getattr(scope.get("route"), "path", scope.get("path"))
        log.error(
            "a unit of work of %s was not finished by its route and is rolled back; "
            "mount the router through reos.http.unit_of_work.one_hop",
            route,
        )
    await in_thread(finish_all, left, False)
