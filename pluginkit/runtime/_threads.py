"""Where a sync hook's time limit becomes real: a plugin's own worker threads, and the watchdog that sends it there.

Python cannot stop a thread, so a sync hook that blocks cannot be interrupted. What can be bounded is how long a
caller waits: a plugin configured ``threaded``, or one the :class:`Watchdog` caught running past its time limit,
has every call run in :class:`PluginThreads` of its own and its caller waits at most the limit. A plugin whose
threads are all stuck is refused at once (``plugin_unavailable``) instead of queueing, so one slow plugin never
takes threads, or time, from another. Well-behaved plugins stay on the inline fast path: the watchdog samples
the threads' stacks (``sys._current_frames``) a few times per time limit and costs the calls nothing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from pluginkit.errors import PluginKitError
from pluginkit.runtime._loop import DeadlinePassed

if TYPE_CHECKING:
    from pluginkit.runtime._plan import Impl, Plan

__all__ = ["PluginThreads", "Watchdog"]

log = logging.getLogger("pluginkit")

#: Worker threads per plugin: calls beyond this many running at once are refused, not queued.
THREADS_PER_PLUGIN = 4


class PluginThreads:
    """A plugin's own worker threads: every call bounded by its time limit, at most :data:`THREADS_PER_PLUGIN`
    at once."""

    def __init__(self, plugin_id: str, size: int = THREADS_PER_PLUGIN) -> None:
        self.plugin_id = plugin_id
        self.size = size
        self._executor = ThreadPoolExecutor(size, thread_name_prefix=f"pluginkit-{plugin_id}")
        self._lock = threading.Lock()
        self.busy = 0

    def _submit(self, function: Callable[[Any], Any], argument: Any) -> Future[Any]:
        with self._lock:
            if self.busy >= self.size:
                raise PluginKitError(
                    "plugin_unavailable",
                    f"plugin {self.plugin_id!r}: all {self.size} of its threads are busy (calls past their time limit)",
                    retryable=True,
                )
            self.busy += 1
        future = self._executor.submit(function, argument)
        future.add_done_callback(self._release)
        return future

    def _release(self, future: Future[Any]) -> None:
        with self._lock:
            self.busy -= 1

    def run(self, function: Callable[[Any], Any], argument: Any, timeout: float | None) -> Any:
        """``function(argument)`` on one of the threads; ``TimeoutError`` past ``timeout`` (the thread goes on, its
        slot freed when it ends)."""
        future = self._submit(function, argument)
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise DeadlinePassed from None

    async def arun(self, function: Callable[[Any], Any], argument: Any, timeout: float | None) -> Any:
        """:meth:`run` for the event loop: the loop is never blocked, and the wait ends on time."""
        waiting = asyncio.wrap_future(self._submit(function, argument))
        waiting.add_done_callback(_retrieve)
        done, _ = await asyncio.wait((waiting,), timeout=timeout)
        if not done:
            raise DeadlinePassed
        return waiting.result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Read the outcome of a call nobody waits for any more, so asyncio does not report it as never retrieved."""
    if not future.cancelled():
        future.exception()


async def bounded(coro: Any, timeout: float | None) -> Any:
    """Await ``coro`` for at most ``timeout`` seconds. Unlike ``asyncio.wait_for``, it does not wait for a coroutine
    that ignores its cancellation: the caller gets ``TimeoutError`` on time, and the task is left to end by itself
    (a plugin doing that again and again is quarantined)."""
    if timeout is None:
        return await coro
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait((task,), timeout=timeout)
    except asyncio.CancelledError:  # our caller was cancelled: cancel the hook too
        task.cancel()
        raise
    if done:
        return task.result()
    task.add_done_callback(_retrieve)
    task.cancel()
    raise DeadlinePassed


class Watchdog:
    """Notices sync hooks running past their time limit, without timing any call: a daemon thread samples every
    thread's stack and follows the hook frames it finds from one sample to the next. ``on_overrun(impl, plan,
    seconds)`` is called once per overrunning call."""

    def __init__(self, on_overrun: Callable[[Impl, Plan, float], None]) -> None:
        # held weakly: a manager dropped without shutdown() must not be kept alive, nor sampled, by its watchdog
        self._on_overrun = weakref.WeakMethod(on_overrun)
        self._watched: dict[CodeType, tuple[Impl, Plan]] = {}
        self._seen: dict[int, tuple[FrameType, float, bool]] = {}
        self._interval = 0.25
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def watch(self, plan: Plan) -> None:
        """Watch ``plan``'s synchronous hookimpls (the newest plan of a hookimpl gives its time limit)."""
        timeout = plan.timeout
        if timeout is None:
            return
        added = False
        for impl in plan.impls:
            if impl.is_async:
                continue
            if impl.record.isolated:  # bounded in its own threads already
                self._watched.pop(impl.function.__code__, None)
            else:
                self._watched[impl.function.__code__] = (impl, plan)
                added = True
        if added:
            self._interval = max(0.01, min(self._interval, timeout / 4))
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(target=self._run, name="pluginkit-watchdog", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            if self._on_overrun() is None:  # its runtime is gone
                self.stop()
                return
            try:
                self.sample(time.monotonic())
            except Exception:  # the watchdog must outlive anything it samples
                log.exception("pluginkit's watchdog failed to sample")

    def sample(self, now: float) -> None:
        """One look at every thread: which watched hook each is in, since when; report overruns."""
        watched, me = self._watched, threading.get_ident()
        seen: dict[int, tuple[FrameType, float, bool]] = {}
        for thread_id, top in sys._current_frames().items():
            if thread_id == me:
                continue
            frame: FrameType | None = top
            while frame is not None and frame.f_code not in watched:
                frame = frame.f_back
            if frame is None:
                continue
            previous = self._seen.get(thread_id)
            started, reported = (previous[1], previous[2]) if previous and previous[0] is frame else (now, False)
            impl, plan = watched[frame.f_code]
            owner = getattr(impl.function, "__self__", None)
            if owner is not None and frame.f_locals.get("self") is not owner:
                continue  # the same method of another instance (another plugin, or another manager's)
            if not reported and not impl.record.isolated and plan.timeout is not None and now - started > plan.timeout:
                reported = True
                on_overrun = self._on_overrun()
                if on_overrun is not None:
                    on_overrun(impl, plan, now - started)
            seen[thread_id] = (frame, started, reported)  # holding the frame: its identity stays its own
        self._seen = seen

    def stop(self) -> None:
        self._stopped.set()
        self._seen = {}
