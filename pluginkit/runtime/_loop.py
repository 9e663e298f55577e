"""The private event loop where synchronous callers run ``async def`` hookimpls."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pluginkit.errors import PluginKitError

__all__ = ["CallAbandoned", "DeadlinePassed", "Escaped", "LoopThread", "guarded"]

log = logging.getLogger("pluginkit")
#: How often a caller waiting on the loop checks that the loop is still there (seconds).
_CHECK_EVERY = 0.25


class CallAbandoned(PluginKitError):
    """The manager shut down (its loop stopped) while the call ran: not the plugin's answer, and not a success.
    It aborts the whole call — a chain must not carry on as if the plugin had declined."""

    default_code = "plugin_unavailable"


class DeadlinePassed(TimeoutError):
    """A call ran past its time limit (pluginkit's own: a ``TimeoutError`` a plugin raises, a socket's, say, is the
    plugin's failure, not a time-out of the call)."""


class Escaped(Exception):
    """A ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``, …) a plugin raised, carried as an ordinary
    exception: raised as it is inside a task it would stop the loop and end its thread, and anywhere else it would
    pass every ``except Exception`` that contains plugin failures."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


async def guarded(coro: Coroutine[Any, Any, Any]) -> Any:
    """``await coro``, with a ``BaseException`` it raises carried out as :class:`Escaped` — cancellation too, unless
    this task was really cancelled (by a time limit, the caller, or the loop stopping)."""
    try:
        return await coro
    except Exception:
        raise
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling() > 0:
            raise
        raise Escaped(exc) from None
    except BaseException as exc:
        raise Escaped(exc) from None


class LoopThread:
    """An event loop on a daemon thread, started on first use, and started again (logged) should it ever die."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            return loop
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                if self._loop is not None:
                    log.error("pluginkit's event-loop thread had stopped; starting a new one")
                    if not self._loop.is_running():
                        self._loop.close()
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._serve, args=(loop,), name="pluginkit-async", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.run_forever()
        except BaseException:  # nothing a hook raises gets here (see guarded); if anything does, say so
            log.exception("pluginkit's event-loop thread stopped")

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
        """Run ``coro`` on the loop and wait for its answer; ``TimeoutError`` (the coroutine cancelled) past
        ``timeout`` seconds. What the coroutine raises is raised here, ``BaseException`` included."""
        if self._thread is threading.current_thread():
            coro.close()
            raise PluginKitError(
                "internal_error", "a synchronous pluginkit call was made from an async hook; use ainvoke/acall"
            )
        loop = self.loop()
        future = asyncio.run_coroutine_threadsafe(guarded(coro), loop)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = _CHECK_EVERY if deadline is None else min(_CHECK_EVERY, max(deadline - time.monotonic(), 0.0))
            try:
                return future.result(wait)
            except FutureTimeout:
                if self._loop is not loop:  # stopped (shutdown) or died under the call: nobody will answer
                    future.cancel()
                    raise CallAbandoned(
                        message="the plugin manager shut down during the call", retryable=True
                    ) from None
                if deadline is not None and time.monotonic() >= deadline:
                    future.cancel()
                    raise DeadlinePassed from None
            except Escaped as escaped:
                raise escaped.original from None
            except (FutureCancelled, asyncio.CancelledError):  # the loop cancelled the call as it stopped
                raise CallAbandoned(message="the plugin manager shut down during the call", retryable=True) from None

    def stop(self) -> None:
        """Stop the loop: calls still running on it are cancelled, and their callers get ``plugin_unavailable``."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(_cancel_all, loop)
            loop.call_soon_threadsafe(loop.call_soon, loop.stop)  # one more turn: the cancellations are delivered
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
