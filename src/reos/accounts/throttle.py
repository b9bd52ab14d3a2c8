"""Per-account protection against password guessing: attempts are counted per email, and
too many failures lock the account for a while that doubles with each lockout, up to a cap.

Why this shape:

* Counted per account, not per IP: a guesser spreading attempts over many addresses still
  meets the same counter. The IP limit in :mod:`reos.http.ratelimit` covers the other case.
* An attempt is counted *before* the password is checked (and forgiven on success), so a
  burst of parallel guesses cannot all slip past the check before the first failure lands:
  at most ``max_failures`` guesses per window are ever checked.
* The lockout is bounded (``lockout_max_s``) and expires by itself; attempts refused while
  locked are not counted and do not extend it, so a guesser can delay a user, never shut
  them out for good. A success resets everything; so does a quiet spell of
  ``window_s + lockout_max_s`` without failures.
* The key is a hash of the normalised email whether or not such a user exists, so known
  and unknown emails answer alike (no user enumeration through the throttle).

Counters live in Redis when ``REOS_REDIS_URL`` is set, otherwise in the database
(``login_throttle``); either way every API process shares them. The rule itself is the pure
:class:`ThrottlePolicy`; the stores only apply it atomically.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from reos.config import Settings
from reos.db.engine import get_engine, is_postgres
from reos.db.session import system_session
from reos.models import LoginThrottle as ThrottleRow


@dataclass(frozen=True)
class ThrottleState:
    """One account's counters; times are epoch seconds."""

    failures: int = 0
    window_started_at: float | None = None
    lockouts: int = 0
    locked_until: float | None = None
    last_failure_at: float | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of one step: the new state, and the seconds to wait when refused."""

    state: ThrottleState
    retry_after_s: int | None = None
    locked_now_s: int | None = None  # set when this step started a lockout of that length


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window_s: int
    lockout_s: int
    lockout_max_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            settings.login_max_failures,
            settings.login_failure_window_s,
            settings.login_lockout_s,
            max(settings.login_lockout_max_s, settings.login_lockout_s),
        )

    @property
    def forget_after_s(self) -> int:
        """Quiet seconds after the last failure that wipe an account's record."""
        return self.window_s + self.lockout_max_s

    def _fresh(self, s: ThrottleState, now: float) -> ThrottleState:
        if s.last_failure_at is not None and now - s.last_failure_at > self.forget_after_s:
            return ThrottleState()
        if s.locked_until is not None and s.locked_until <= now:
            s = replace(s, locked_until=None)
        if s.window_started_at is not None and now - s.window_started_at > self.window_s:
            s = replace(s, failures=0, window_started_at=None)
        return s

    def _lock(self, s: ThrottleState, now: float) -> Verdict:
        lockouts = s.lockouts + 1
        seconds = min(self.lockout_s * 2 ** min(lockouts - 1, 30), self.lockout_max_s)
        state = ThrottleState(0, None, lockouts, now + seconds, now)
        return Verdict(state, retry_after_s=seconds, locked_now_s=seconds)

    def retry_after(self, s: ThrottleState, now: float) -> int | None:
        if s.locked_until is not None and s.locked_until > now:
            return max(1, math.ceil(s.locked_until - now))
        return None

    def admit(self, s: ThrottleState, now: float) -> Verdict:
        """Before checking a password: refuse while locked, else count the attempt."""
        wait = self.retry_after(s, now)
        if wait is not None:
            return Verdict(s, retry_after_s=wait)
        s = self._fresh(s, now)
        s = replace(
            s,
            failures=s.failures + 1,
            window_started_at=s.window_started_at if s.window_started_at is not None else now,
        )
        if s.failures > self.max_failures:  # parallel attempts raced past the limit
            return self._lock(s, now)
        return Verdict(s)

    def failed(self, s: ThrottleState, now: float) -> Verdict:
        """After a wrong password: the attempt stays counted; the last allowed one locks."""
        if self.retry_after(s, now) is not None:  # a parallel attempt locked it meanwhile
            return Verdict(replace(s, last_failure_at=now))
        s = replace(s, last_failure_at=now)
        if s.failures >= self.max_failures:
            return self._lock(s, now)
        return Verdict(s)


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


Change = Callable[[ThrottleState], Verdict]


class ThrottleStore(Protocol):
    def apply(self, key: str, change: Change) -> Verdict:
        """Read the account's state, apply ``change`` and store the result, atomically."""
        ...

    def clear(self, key: str) -> None: ...


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return value.replace(tzinfo=value.tzinfo or UTC).timestamp()


def _stamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class DatabaseThrottleStore:
    """Counters in ``login_throttle``, each change in its own short transaction.

    Its own transaction because a failed sign-in must be remembered although the request
    fails. The row is created first (insert, ignore a clash), which on SQLite takes the
    write lock before the read, and on PostgreSQL the read locks the row, so two processes
    never both read the old count.
    """

    def apply(self, key: str, change: Change) -> Verdict:
        engine = get_engine()
        dialect: Any = postgresql if is_postgres(engine) else sqlite
        with system_session(engine) as session:
            session.execute(
                dialect.insert(ThrottleRow)
                .values(account_key=key, failures=0, lockouts=0)
                .on_conflict_do_nothing(index_elements=["account_key"])
            )
            row = session.scalars(
                select(ThrottleRow).where(ThrottleRow.account_key == key).with_for_update()
            ).one()
            verdict = change(
                ThrottleState(
                    row.failures,
                    _epoch(row.window_started_at),
                    row.lockouts,
                    _epoch(row.locked_until),
                    _epoch(row.last_failure_at),
                )
            )
            s = verdict.state
            row.failures, row.lockouts = s.failures, s.lockouts
            row.window_started_at = _stamp(s.window_started_at)
            row.locked_until = _stamp(s.locked_until)
            row.last_failure_at = _stamp(s.last_failure_at)
        return verdict

    def clear(self, key: str) -> None:
        with system_session() as session:
            row = session.get(ThrottleRow, key)
            if row is not None:
                session.delete(row)


class RedisThrottleStore:
    """Counters in a Redis hash per account, changed under WATCH (optimistic, retried)."""

    FIELDS = ("failures", "window_started_at", "lockouts", "locked_until", "last_failure_at")

    def __init__(self, url: str, policy: ThrottlePolicy) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0)
        self._ttl_s = policy.forget_after_s + policy.lockout_max_s

    @staticmethod
    def _key(key: str) -> str:
        return f"reos:login:{key}"

    def apply(self, key: str, change: Change) -> Verdict:
        import redis

        name = self._key(key)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(name)
                    raw = cast(list[bytes | None], pipe.hmget(name, list(self.FIELDS)))
                    values = [None if v is None else float(v) for v in raw]
                    state = ThrottleState(
                        int(values[0] or 0),
                        values[1],
                        int(values[2] or 0),
                        values[3],
                        values[4],
                    )
                    verdict = change(state)
                    s = verdict.state
                    mapping: dict[str | bytes, bytes | float | int | str] = {
                        f: v for f in self.FIELDS if (v := getattr(s, f)) is not None
                    }
                    pipe.multi()
                    pipe.delete(name)
                    if mapping:
                        pipe.hset(name, mapping=mapping)
                        pipe.expire(name, self._ttl_s)
                    pipe.execute()
                    return verdict
                except redis.WatchError:
                    continue

    def clear(self, key: str) -> None:
        self._redis.delete(self._key(key))


class LoginThrottle:
    """What the sign-in entry points call: :meth:`admit` before checking a password, then
    :meth:`failed` or :meth:`succeeded`."""

    def __init__(
        self,
        store: ThrottleStore,
        policy: ThrottlePolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.policy, self.clock = store, policy, clock

    def admit(self, email: str) -> Verdict:
        now = self.clock()
        return self.store.apply(account_key(email), lambda s: self.policy.admit(s, now))

    def failed(self, email: str) -> Verdict:
        now = self.clock()
        return self.store.apply(account_key(email), lambda s: self.policy.failed(s, now))

    def succeeded(self, email: str) -> None:
        self.store.clear(account_key(email))


def make_login_throttle(settings: Settings) -> LoginThrottle:
    policy = ThrottlePolicy.from_settings(settings)
    store: ThrottleStore = (
        RedisThrottleStore(settings.redis_url, policy)
        if settings.redis_url
        else DatabaseThrottleStore()
    )
    return LoginThrottle(store, policy)
