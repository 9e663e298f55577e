"""``usage.handle``: every usage plugin gets every record, off the request path.

A bounded buffer feeds one background task. Offering a record never waits: when the buffer is full the record is
dropped and counted (:attr:`UsageQueue.dropped`), so a slow usage plugin can never slow a request down.

Why not :class:`asyncio.Queue`: its ``put_nowait`` wakes the waiting worker once per record (a future resolved, a
callback scheduled, a loop turn), and the worker then pays a coroutine per record. Requests arrive in bursts
between two turns of the loop, so here the worker is woken once per burst and delivers everything that arrived,
calling synchronous usage plugins without a coroutine at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING

from pluginkit import types as t
from pluginkit.runtime import run_async

if TYPE_CHECKING:
    from pluginkit.runtime import Runtime

__all__ = ["UsageQueue"]

log = logging.getLogger("pluginkit.usage")
#: Records delivered before the worker lets other tasks run (a long burst must not hold the loop).
BATCH = 64


class UsageQueue:
    """Records waiting for the usage plugins, and the task that delivers them."""

    def __init__(self, runtime: Runtime, *, maxsize: int = 1024) -> None:
        self.runtime = runtime
        self.maxsize = maxsize
        #: Records refused because the buffer was full, and records the plugins received.
        self.dropped = 0
        self.delivered = 0
        self._pending: deque[t.UsageRecord] = deque()
        self._busy = False  # the worker is delivering a burst (records taken from _pending)
        self._wake: asyncio.Future[None] | None = None  # set while the worker waits for records
        self._drainers: list[asyncio.Future[None]] = []
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wanted(self) -> bool:
        """Whether a usage plugin would receive a record offered now."""
        runtime = self.runtime
        return bool((runtime.plans.get("usage.handle") or runtime.plan("usage.handle")).impls)

    def offer(self, record: t.UsageRecord) -> bool:
        """Queue a record for the usage plugins; ``False`` when nobody handles usage, or (counted) when the
        buffer is full. Must be called on a running event loop."""
        runtime = self.runtime
        plan = runtime.plans.get("usage.handle") or runtime.plan("usage.handle")
        if not plan.impls:
            return False
        pending = self._pending
        if len(pending) >= self.maxsize:
            self.dropped += 1
            return False
        pending.append(record)
        worker = self._worker
        if worker is None or worker.done():  # the first offer, or asyncio.run ended the worker's loop
            self._start()
        elif (wake := self._wake) is not None:  # the worker waits for records: one wake-up for the burst
            self._wake = None
            try:
                wake.set_result(None)
            except RuntimeError:  # its loop was closed without ending its tasks: a worker on this loop
                self._start()
        return True

    def _start(self) -> None:
        """A worker on the running loop (the first offer, or the previous worker's loop is gone)."""
        self._loop = asyncio.get_running_loop()
        self._wake, self._busy, self._drainers = None, False, []
        self._worker = self._loop.create_task(self._run(), name="pluginkit-usage")

    async def _run(self) -> None:
        pending, runtime = self._pending, self.runtime
        loop = asyncio.get_running_loop()
        while True:
            if pending:
                self._busy = True
                try:
                    await self._deliver(pending, runtime)
                finally:
                    self._busy = False
            drainers, self._drainers = self._drainers, []
            for drainer in drainers:
                if not drainer.done():
                    drainer.set_result(None)
            self._wake = wake = loop.create_future()
            await wake

    async def _deliver(self, pending: deque[t.UsageRecord], runtime: Runtime) -> None:
        """Hand every pending record to the usage plugins: a burst counts as one call in flight for the manager
        (refused while it shuts down: the records are dropped and counted), and plain-function plugins run without
        a coroutine per record."""
        try:
            runtime.begin("usage.handle")
        except Exception:
            log.debug("usage.handle refused", exc_info=True)
            self.dropped += len(pending)
            pending.clear()
            return
        try:
            delivered = 0
            while pending:
                record = pending.popleft()
                try:
                    plan = runtime.plans.get("usage.handle") or runtime.plan("usage.handle")
                    if plan.inline:
                        plan.runner(plan, record, runtime, None)
                    else:
                        await run_async(plan, record, runtime)
                    self.delivered += 1
                except Exception:  # a usage plugin's failure is logged by the manager; keep delivering
                    log.debug("usage.handle failed", exc_info=True)
                delivered += 1
                if delivered % BATCH == 0:
                    await asyncio.sleep(0)  # a long burst must not hold the loop
        finally:
            runtime.end()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every queued record is delivered (tests, shutdown); gives up after ``timeout`` seconds."""
        if not self._pending and not self._busy:
            return
        if self._worker is None or self._worker.done() or self._loop is not asyncio.get_running_loop():
            self._start()  # records offered on a loop that is gone: deliver them on this one
        drained = asyncio.get_running_loop().create_future()
        self._drainers.append(drained)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await drained

    async def close(self) -> None:
        """Deliver what is queued, then stop the worker."""
        await self.drain()
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done() and self._loop is asyncio.get_running_loop():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._wake = None
