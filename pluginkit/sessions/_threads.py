"""Worker threads that run blocking store code for coroutines, so the event loop never waits on a database.

Why not ``asyncio.to_thread``: it goes through the default executor and ``concurrent.futures`` (about 100 µs
per call on a 2-core VM); this queue-and-callback hand-off costs about half. Why dedicated threads: a store
keeps one database connection per thread, and a worker may also run idle work (SQLite's background indexing)
when its queue is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["WorkerPool"]

T = TypeVar("T")
log = logging.getLogger("pluginkit.sessions")

_STOP = object()


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class WorkerPool:
    """``threads`` daemon threads taking jobs from one queue.

    ``await pool.run(fn, *args)`` runs ``fn(*args)`` on a worker and returns its result (or raises its
    exception). ``idle`` (optional) is called by a worker when the queue has stayed empty for ``idle_after``
    seconds and returns whether it still has work (then it is called again at once). ``setup`` runs once in
    each thread when it starts (open that thread's connection there).
    """

    def __init__(
        self,
        name: str,
        threads: int = 1,
        *,
        setup: Callable[[], None] | None = None,
        idle: Callable[[], bool] | None = None,
        idle_after: float = 0.05,
    ) -> None:
        self._name = name
        self._count = threads
        self._setup = setup
        self._idle = idle
        self._idle_after = idle_after
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        #: Set by :meth:`poke`: the idle callback has work waiting.
        self._poked = False

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name} is closed")
            if self._threads:
                return
            for index in range(self._count):
                thread = threading.Thread(target=self._main, name=f"{self._name}-{index}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _main(self) -> None:
        if self._setup is not None:
            self._setup()
        timeout: float | None = None
        while True:
            try:
                job = self._queue.get(timeout=timeout)
            except queue.Empty:
                timeout = self._run_idle()
                continue
            if job is _STOP:
                return
            fn, args, loop, future = job
            try:
                result, ok = fn(*args), True
            except BaseException as exc:  # handed to the awaiting coroutine
                result, ok = exc, False
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                    loop.call_soon_threadsafe(_resolve, future, ok, result)
            timeout = self._idle_after if (self._idle is not None and self._poked) else None

    def _run_idle(self) -> float | None:
        self._poked = False
        try:
            more = self._idle() if self._idle is not None else False
        except Exception:
            log.exception("%s: background work failed", self._name)
            more = False
        if more:
            self._poked = True
            return 0.0
        return None

    def poke(self) -> None:
        """Ask for the idle callback once the queue has been empty for ``idle_after`` seconds (starting the
        threads if need be: idle work must run even when every call is answered without them)."""
        if not self._poked:
            self._poked = True
            if not self._threads and not self._closed:
                self._start()
            self._queue.put(_NOOP)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, loop, future))
        return await future

    def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on a worker and wait for it from a plain thread (used when no loop is running)."""
        if not self._threads:
            self._start()
        done = threading.Event()
        box: list[Any] = []

        def job() -> None:
            try:
                box.append((True, fn(*args)))
            except BaseException as exc:
                box.append((False, exc))
            finally:
                done.set()

        self._queue.put((job, (), None, None))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the threads after the jobs already queued; idempotent."""
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)


def _noop() -> None:
    return None


_NOOP = (_noop, (), None, None)
