"""Where the built-in selectors keep their state: round-robin cursors and credential cooldowns.

In one process the state lives in memory. When a host runs as several replicas, every replica must share one
rotation and one view of which credential is cooling down, or each would hammer the same credential: the Redis
backend keeps both in Redis (atomic ``INCR`` for cursors, a sorted set per model for cooldowns).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["MemoryState", "RedisState", "SchedulerState"]

#: The seed's bounds: at most this many cursors (the map is reset when full), counters wrap here.
MAX_CURSORS = 4096
CURSOR_WRAP = 2_147_483_640


class SchedulerState(Protocol):
    """Shared scheduling state. All methods are async so a networked backend never blocks the event loop."""

    async def next_cursor(self, key: str) -> int:
        """Return the cursor for ``key`` and advance it (atomically across every user of the state)."""
        ...

    async def cool_down(self, credential_id: str, model: str, until: float) -> None:
        """Keep ``credential_id`` out of ``model``'s rotation until the wall-clock time ``until``."""
        ...

    async def cooling(self, model: str, now: float) -> dict[str, float]:
        """Credential id → until, for credentials still cooling down for ``model`` at ``now``."""
        ...


class MemoryState:
    """In-process state with bounded memory: cursors capped at 4096 keys, expired cooldowns pruned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: dict[str, Iterator[int]] = {}
        self._cool: dict[str, dict[str, float]] = {}

    # The state lives in this process, so every operation is synchronous underneath; the ``*_now`` methods let the
    # scheduler's synchronous fast path (``Scheduler.pick_now``) skip a coroutine per call.
    async def next_cursor(self, key: str) -> int:
        return self.next_cursor_now(key)

    async def cool_down(self, credential_id: str, model: str, until: float) -> None:
        with self._lock:
            self._cool.setdefault(model, {})[credential_id] = until

    async def cooling(self, model: str, now: float) -> dict[str, float]:
        return self.cooling_now(model, now)

    def next_cursor_now(self, key: str) -> int:
        # ``next`` on an itertools.count is one C call, atomic under the GIL: no lock on the per-request path.
        counter = self._cursors.get(key)
        if counter is None:
            counter = self._counter(key)
        return next(counter) % CURSOR_WRAP

    def _counter(self, key: str) -> Iterator[int]:
        with self._lock:
            counter = self._cursors.get(key)
            if counter is None:
                if len(self._cursors) >= MAX_CURSORS:
                    self._cursors = {}  # a new map, so a reader holding the old one is not disturbed
                counter = self._cursors[key] = itertools.count()
            return counter

    def cooling_now(self, model: str, now: float) -> dict[str, float]:
        if not self._cool:  # nothing cooling anywhere: the common case needs no lock
            return {}
        with self._lock:
            entries = self._cool.get(model)
            if not entries:
                return {}
            live = {cid: until for cid, until in entries.items() if until > now}
            if len(live) != len(entries):
                if live:
                    self._cool[model] = live
                else:
                    del self._cool[model]
            return live


class RedisState:
    """State shared by every replica through Redis (``redis.asyncio``).

    Cursors are ``INCR`` counters (``<prefix>rr:<key>``); cooldowns are a sorted set per model
    (``<prefix>cool:<model>``, score = until) that expires with its last member.
    """

    def __init__(self, client: Any, *, prefix: str = "pluginkit:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "pluginkit:") -> RedisState:
        import redis.asyncio  # deferred: an optional dependency (pluginkit[redis])

        return cls(redis.asyncio.Redis.from_url(url), prefix=prefix)

    async def next_cursor(self, key: str) -> int:
        value = int(await self._redis.incr(f"{self._prefix}rr:{key}")) - 1
        return value % CURSOR_WRAP

    async def cool_down(self, credential_id: str, model: str, until: float) -> None:
        name = f"{self._prefix}cool:{model}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(name, {credential_id: until})
            pipe.expireat(name, int(until) + 1, gt=True)
            pipe.expireat(name, int(until) + 1, nx=True)
            await pipe.execute()

    async def cooling(self, model: str, now: float) -> dict[str, float]:
        members = await self._redis.zrangebyscore(f"{self._prefix}cool:{model}", f"({now}", "+inf", withscores=True)
        return {(m.decode() if isinstance(m, bytes) else m): float(score) for m, score in members}

    async def close(self) -> None:
        await self._redis.aclose()


def now() -> float:
    return time.time()
