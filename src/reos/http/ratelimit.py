"""Fixed-window rate limits per client IP and per organisation.

Counters live in Redis when ``REOS_REDIS_URL`` is set (shared by every API process),
otherwise in this process. Responses carry the IETF RateLimit header fields
(draft-ietf-httpapi-ratelimit-headers, structured-field form):
``RateLimit-Policy: "ip";q=120;w=60`` and ``RateLimit: "ip";r=117;t=42``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

WINDOW_S = 60


@dataclass(frozen=True)
class Decision:
    policy: str
    limit: int
    remaining: int
    reset_s: int
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_S}',
            "RateLimit": f'"{self.policy}";r={max(self.remaining, 0)};t={self.reset_s}',
        }


class Counter(Protocol):
    def hit(self, key: str, window_start: int) -> int: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, window_start: int) -> int:
        with self._lock:
            start, count = self._counts.get(key, (window_start, 0))
            if start != window_start:
                start, count = window_start, 0
            count += 1
            self._counts[key] = (start, count)
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window_start}
            return count


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0)

    def hit(self, key: str, window_start: int) -> int:
        full = f"reos:rl:{key}:{window_start}"
        pipe = self._redis.pipeline()
        pipe.incr(full)
        pipe.expire(full, WINDOW_S * 2)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    @property
    def is_local(self) -> bool:
        """Whether a check stays in this process (no network call)."""
        return isinstance(self.counter, MemoryCounter)

    def check(self, policy: str, key: str, limit: int) -> Decision:
        now = time.time()
        window_start = int(now // WINDOW_S) * WINDOW_S
        count = self.counter.hit(f"{policy}:{key}", window_start)
        reset = max(1, int(window_start + WINDOW_S - now))
        return Decision(policy, limit, limit - count, reset, count <= limit)


def make_limiter(redis_url: str | None) -> RateLimiter:
    return RateLimiter(RedisCounter(redis_url) if redis_url else MemoryCounter())
