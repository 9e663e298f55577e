"""``usage.handle``: every usage plugin gets every record, off the request path.

A bounded queue feeds one background task. Offering a record never waits: when the queue is full the record is
dropped and counted (:attr:`UsageQueue.dropped`), so a slow usage plugin can never slow a request down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from pluginkit import types as t

if TYPE_CHECKING:
    from pluginkit._manager import PluginManager

__all__ = ["UsageQueue"]

log = logging.getLogger("pluginkit.usage")


class UsageQueue:
    def __init__(self, manager: PluginManager, *, maxsize: int = 1024) -> None:
        self.manager = manager
        self.maxsize = maxsize
        self.dropped = 0
        self.delivered = 0
        self._queue: asyncio.Queue[t.UsageRecord] | None = None
        self._worker: asyncio.Task[None] | None = None

    def offer(self, record: t.UsageRecord) -> bool:
        """Queue a record for the usage plugins; ``False`` (and counted) when the queue is full."""
        plan = self.manager._plans.get("usage.handle") or self.manager._plan("usage.handle")
        if not plan.impls:
            return False
        if self._queue is None:
            self._queue = asyncio.Queue(self.maxsize)
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="pluginkit-usage")
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            record = await self._queue.get()
            try:
                await self.manager.acall("usage.handle", record)
                self.delivered += 1
            except Exception:  # a usage plugin's failure is logged by the manager; keep draining
                log.debug("usage.handle failed", exc_info=True)
            finally:
                self._queue.task_done()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until queued records are delivered (tests, shutdown)."""
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)

    async def close(self) -> None:
        await self.drain()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
            self._queue = None
