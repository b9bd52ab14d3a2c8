"""Verified API keys, remembered for a few seconds, with revocation seen at once.

Reading the key's row costs a request a connection, a query and a commit, which is most
of what a small read spends; machine clients send the same key thousands of times a
minute. So each API process remembers a verified key's principal for
``REOS_API_KEY_CACHE_S`` seconds (5 by default; 0 turns the cache off).

Revocation must not wait for that: revoking a key bumps a *revocation generation* once
the revoking transaction has committed, and every process reads the generation on every
request with an API key (Redis ``GET`` when ``REOS_REDIS_URL`` is set, else one small
file in ``REOS_HOME``, mapped into memory: a memory read) and forgets every key it remembered when
the generation moved. Entries are stamped with the generation read *before* the key was
verified, so a verification racing a revocation can never outlive it.

The bound, stated plainly: with the signal shared (one ``REOS_HOME`` for every process on
one host, or Redis across hosts) a revoked key is refused by every process on the first
request after the revocation commits. API processes on several hosts *without* Redis do
not share the signal; there a revoked key may still be accepted for up to the cache's
seconds. The cache holds API keys only: a user's token is checked against the users and
memberships tables on every request, so a disabled user or a removed membership is
refused at once, as before.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from reos.config import Settings
from reos.kernel.principal import Principal

log = logging.getLogger("reos.accounts")

GENERATION_FILE = "api-key-generation"
REDIS_KEY = "reos:auth:api-key-generation"
MAX_ENTRIES = 10_000
_PENDING_KEY = "api_key_revoked"
Stamp = tuple[str, float]  # (generation read before verifying, monotonic time then)


class Generation(Protocol):
    """Where the processes of one deployment agree on the revocation generation."""

    def current(self) -> str | None:
        """The generation now; None when it cannot be read (then nothing is cached)."""

    def bump(self) -> None:
        """Move the generation on, so every process forgets the keys it remembered."""


class FileGeneration:
    """The generation as a random token in a small file in ``REOS_HOME``, mapped into
    memory: every process maps the same file, so reading the generation is a memory read,
    not a system call. (A system call on the event loop lets go of the interpreter lock
    and waits to get it back from the threads running routes.) A bump overwrites the
    token in place, which every mapping sees at once; a reader that catches a bump half
    written sees a token that matches no earlier one, which is as good as the new one:
    any change empties the cache."""

    SIZE = 32  # hex digits of the token

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None

    def _mapped(self) -> mmap.mmap:
        if self._map is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:  # the first process to look writes the first token
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                os.pwrite(fd, uuid.uuid4().hex.encode("ascii"), 0)
            except FileExistsError:
                fd = os.open(self.path, os.O_RDONLY)
            try:
                if os.fstat(fd).st_size < self.SIZE:  # written half by an older version
                    os.close(fd)
                    self.bump()
                    fd = os.open(self.path, os.O_RDONLY)
                self._map = mmap.mmap(fd, self.SIZE, prot=mmap.PROT_READ)
            finally:
                os.close(fd)
        return self._map

    def current(self) -> str:
        return self._mapped()[: self.SIZE].decode("ascii", "replace")

    def bump(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, uuid.uuid4().hex.encode("ascii"), 0)
        finally:
            os.close(fd)


class RedisGeneration:
    """The generation as a Redis counter, shared by API processes on every host."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0)

    def current(self) -> str | None:
        try:
            value = self._redis.get(REDIS_KEY)
        except Exception:  # Redis unreachable: verify every key against the database
            log.warning("API key cache: Redis unreachable; keys are verified every request")
            return None
        return value.decode() if isinstance(value, bytes) else str(value or "")

    def bump(self) -> None:
        self._redis.incr(REDIS_KEY)


@lru_cache(maxsize=8)
def _redis_generation(url: str) -> RedisGeneration:
    return RedisGeneration(url)


def generation_for(settings: Settings) -> Generation:
    if settings.redis_url:
        return _redis_generation(settings.redis_url)
    return FileGeneration(settings.home / GENERATION_FILE)


class ApiKeyCache:
    """Principals of verified API keys, by key hash, for ``ttl_s`` seconds at most."""

    def __init__(self, generation: Generation, ttl_s: float) -> None:
        self.generation = generation
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._seen: str | None = None
        self._entries: dict[str, tuple[Principal, float]] = {}

    @property
    def is_local(self) -> bool:
        """Whether a lookup stays on this host (a file read, no network call)."""
        return isinstance(self.generation, FileGeneration)

    def lookup(self, key_hash: str) -> tuple[Principal | None, Stamp | None]:
        """The remembered principal (or None), and the stamp to :meth:`remember` a key
        verified from now on with (None: do not remember it)."""
        if self.ttl_s <= 0:
            return None, None
        generation = self.generation.current()
        if generation is None:
            return None, None
        now = time.monotonic()
        with self._lock:
            if generation != self._seen:
                self._entries.clear()
                self._seen = generation
            hit = self._entries.get(key_hash)
        if hit is not None and now - hit[1] < self.ttl_s:
            return hit[0], None
        return None, (generation, now)

    def remember(self, key_hash: str, principal: Principal, stamp: Stamp | None) -> None:
        """Remember a key verified after :meth:`lookup` gave ``stamp``; a key verified
        while the generation moved on is not remembered."""
        if stamp is None:
            return
        generation, verified_at = stamp
        with self._lock:
            if self._seen == generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key_hash] = (principal, verified_at)

    def principal(self, key_hash: str, verify: Callable[[], Principal]) -> Principal:
        """The remembered principal for this key, else ``verify()``'s (then remembered)."""
        remembered, stamp = self.lookup(key_hash)
        if remembered is not None:
            return remembered
        principal = verify()
        self.remember(key_hash, principal, stamp)
        return principal


def revocation_pending(session: Session) -> None:
    """Bump the generation once this session's transaction commits (not before: a process
    re-verifying in between would read the key as still valid and remember it)."""
    session.info[_PENDING_KEY] = True


@event.listens_for(Session, "after_commit")
def _announce_revocation(session: Session) -> None:
    if session.info.pop(_PENDING_KEY, False):
        from reos.config import get_settings

        try:
            generation_for(get_settings()).bump()
        except Exception:
            log.exception(
                "API key revoked, but the other API processes could not be told; "
                "they refuse it within REOS_API_KEY_CACHE_S seconds"
            )


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING_KEY, None)
