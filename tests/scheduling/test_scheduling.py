"""Scheduler state: bounded memory, and one rotation shared by several processes through the real Redis."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from pluginkit.scheduling import MemoryState, RedisState
from pluginkit.scheduling._state import CURSOR_WRAP, MAX_CURSORS


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not redis_available() and os.environ.get("CI") != "true", reason="no Redis server answers on 127.0.0.1:6379"
)


def test_memory_cursors_are_bounded_and_wrap() -> None:
    state = MemoryState()

    async def run() -> None:
        for index in range(MAX_CURSORS + 10):
            await state.next_cursor(f"k{index}")
        assert len(state._cursors) <= MAX_CURSORS
        state._cursors["w"] = itertools.count(CURSOR_WRAP - 1)
        assert await state.next_cursor("w") == CURSOR_WRAP - 1
        assert await state.next_cursor("w") == 0

    asyncio.run(run())


def test_memory_cooldowns_expire() -> None:
    state = MemoryState()

    async def run() -> None:
        now = time.time()
        await state.cool_down("a", "m", now + 10)
        await state.cool_down("b", "m", now - 1)
        assert await state.cooling("m", now) == {"a": now + 10}
        assert await state.cooling("m", now + 11) == {}

    asyncio.run(run())


WORKER = """
import asyncio, sys
from pluginkit.scheduling import RedisState
async def main():
    state = RedisState.from_url(prefix=sys.argv[1])
    values = [await state.next_cursor("openai:gpt") for _ in range(200)]
    await state.close()
    print(" ".join(map(str, values)))
asyncio.run(main())
"""


@needs_redis
def test_two_processes_share_one_rotation_and_cooldowns() -> None:
    prefix = f"pluginkit-test-{uuid.uuid4().hex[:8]}:"
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, prefix], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers)
    values = [int(v) for out in outputs for v in out.split()]
    assert sorted(values) == list(range(400))  # every cursor handed out once: one shared rotation

    async def cooldowns() -> None:
        first, second = RedisState.from_url(prefix=prefix), RedisState.from_url(prefix=prefix)
        now = time.time()
        await first.cool_down("auth-1", "gpt", now + 30)
        assert set(await second.cooling("gpt", now)) == {"auth-1"}
        assert await second.cooling("gpt", now + 31) == {}
        await first._redis.delete(f"{prefix}rr:openai:gpt", f"{prefix}cool:gpt")
        await first.close()
        await second.close()

    asyncio.run(cooldowns())
