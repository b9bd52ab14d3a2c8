"""A request's unit of work, and the one thread-pool hop a route takes.

Every route of every domain is a plain ``def`` that talks to the database through the
session it is handed (``ReadSession``, ``WriteSession``, ``session_for(permission)`` in
:mod:`reos.http.deps`). FastAPI runs such a route in its thread pool, and would run each
synchronous dependency, the opening and the closing of a ``yield`` dependency and the
validation of the result in the pool too, one hop each: four or five trips between the
event loop and a worker thread for one read, which was a quarter of what a request cost
(profile in ``benchmarks/request_path.py``'s docstring).

So the path is cut to one hop:

- the session dependency is ``async`` and opens the session on the event loop, which
  costs no I/O (a SQLAlchemy session takes its connection at its first statement);
- :func:`one_hop` turns each route of a domain router into an ``async`` function that
  runs the route *and then commits (or, on error, rolls back) and closes the request's
  sessions* in one trip to the pool, so the database work of a request, from the first
  statement to the commit, happens on one thread;
- FastAPI then validates the result on the loop: a route returns instances of its
  response model, which pydantic accepts without re-validating, and serialises them to
  JSON bytes in its Rust core.

The guarantees do not move: the transaction commits before the response starts (a client
that got 200 can rely on its write), rolls back on any error, and a session the route
did not finish (a route that is ``async`` itself) is finished by the dependency on its way
out, in the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.requests import Request

SCOPE_KEY = "reos.units_of_work"
#: Threads that run routes: as many as anyio's default thread limit, which FastAPI uses.
ROUTE_THREADS = 40
_executor: ThreadPoolExecutor | None = None
T = TypeVar("T")
_request_units: ContextVar[list[RequestUnit] | None] = ContextVar(
    "reos_request_units", default=None
)


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


def enlist(request: Request, unit: RequestUnit) -> None:
    """Make ``unit`` one of the request's units of work, which the route finishes in its
    own thread (see :func:`one_hop`). The dependency that opened it finishes it, in the
    pool, if the route did not (an ``async`` route): committed when the route returned,
    rolled back when it raised."""
    units: list[RequestUnit] = request.scope.setdefault(SCOPE_KEY, [])
    units.append(unit)
    _request_units.set(units)


def _run_and_finish(endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
    units = _request_units.get()  # the thread runs in a copy of the request's context
    try:
        result = endpoint(**values)
    except BaseException:
        finish_all(units, ok=False)
        raise
    finish_all(units, ok=True)
    return result


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


def in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` (a plain ``def`` route) as an ``async`` route that runs it and
    finishes the request's units of work in one trip to the thread pool. The signature,
    name and docstring are the endpoint's, so parameters and OpenAPI do not change."""

    @functools.wraps(endpoint)
    async def route(**values: Any) -> Any:
        return await in_thread(_run_and_finish, endpoint, values)

    return route


def one_hop(router: APIRouter) -> APIRouter:
    """Make every plain-``def`` route of ``router`` run in one hop (see
    :func:`in_one_hop`); ``async`` routes and generators are left as they are. Call it
    before the router is included in an app: inclusion builds each route from its
    endpoint. Idempotent (a converted route is ``async``)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        endpoint = route.endpoint
        if (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        ):
            continue
        route.endpoint = in_one_hop(endpoint)
    return router
