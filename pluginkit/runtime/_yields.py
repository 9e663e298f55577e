"""Streams a hookimpl answers: the items of a sync or async iterator, each one checked, within one time limit.

A method whose table entry ``yields`` is answered by an iterator — a generator, an ``async def`` generator, or any
object with ``__iter__`` / ``__aiter__``. The answer the caller gets is a :class:`PluginStream`: an async iterator
that contains the plugin as a plain call is contained. An item that is not the method's result type (or a dict of
it) crashes the plugin; an exception is the plugin's answer or its crash, by the same rules as a call
(:func:`~pluginkit.runtime._calls.failure`); and the plan's time limit bounds the whole stream, as a Go context's
deadline bounds a channel's producer: past it the step running is cancelled and the stream ends with ``timeout``.

Each step is the plugin's own ``__anext__`` awaited in the consumer's task, with no task or queue between: a
stream step through :class:`PluginStream` costs ~0.2 us over the plugin's generator alone (``benchmarks``,
``providers``), where a producer task and a queue cost ~5 us a chunk. The deadline is one timer per stream that
cancels the consumer's task only while it is inside a step.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

from pluginkit.errors import PluginKitError
from pluginkit.runtime._escapes import belongs_to_host
from pluginkit.runtime._loop import Escaped
from pluginkit.runtime._threads import bounded

if TYPE_CHECKING:
    from pluginkit.runtime._plan import Impl, Plan
    from pluginkit.runtime._runtime import Runtime

__all__ = ["Fail", "PluginStream", "decoded"]

#: What an exception from a plugin comes to (:func:`pluginkit.runtime._calls.failure`, passed in: this module sits
#: below the one that calls plugins).
Fail = Callable[["Plan", "Impl", "Runtime", BaseException], Any]

#: How long closing a plugin's stream may take (its ``finally`` blocks run then).
CLOSE_TIMEOUT = 5.0
_DONE = object()


def decoded(plan: Plan, value: Any, verb: str) -> Any:
    """A plugin's dict decoded as the method's result type; ``TypeError`` (the plugin's fault, the reason for its
    author) for a dict that does not fit, or anything else."""
    name = plan.result_type.__name__
    if isinstance(value, dict):
        try:
            return plan.method.parse_result(value)
        except PluginKitError as exc:
            raise TypeError(f"{verb} a dict that is not a {name}: {exc.message}") from None
    raise TypeError(f"{verb} {type(value).__name__}, expected {name}")


def _next_or_done(iterator: Iterator[Any]) -> Any:
    return next(iterator, _DONE)


class PluginStream:
    """One plugin's stream of ``plan.method.result`` items, read with ``async for``.

    ``plugin_id`` names the plugin. Leaving the loop early, or ``await stream.aclose()``, closes the plugin's
    iterator (its ``finally`` blocks run). A failure ends the stream with a :class:`~pluginkit.errors.PluginKitError`
    naming the plugin; ``timeout`` when the plan's limit passed.
    """

    __slots__ = (
        "_async", "_expired", "_fail", "_impl", "_last", "_plan", "_runtime", "_source", "_stepping", "_task",
        "_timer", "closed", "ends_at", "on_close", "plugin_id",
    )

    def __init__(self, plan: Plan, impl: Impl, runtime: Runtime, value: Any, fail: Fail) -> None:
        self._plan, self._impl, self._runtime, self._fail = plan, impl, runtime, fail
        self.plugin_id = impl.record.id
        self._async = hasattr(value, "__anext__") or hasattr(value, "__aiter__")
        self._source: Any = value if hasattr(value, "__anext__") or hasattr(value, "__next__") else None
        if self._source is None:
            self._source = value.__aiter__() if self._async else iter(value)
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stepping = self._expired = self.closed = self._last = False
        #: The family's rule for its items: ``ends_at(item)`` is true for the last one (the stream then ends after
        #: it), or raises the :class:`~pluginkit.errors.PluginKitError` an item stands for (an error chunk).
        self.ends_at: Callable[[Any], bool] | None = None
        #: Called once when the stream ends, however it ends.
        self.on_close: Callable[[], Any] | None = None

    def __aiter__(self) -> PluginStream:
        return self

    async def __aenter__(self) -> PluginStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._end()

    async def __anext__(self) -> Any:
        if self.closed or self._last:
            await self._end()
            raise StopAsyncIteration
        if self._task is None:
            self._start()
        if self._expired:
            await self._end()
            raise self._timed_out()
        try:
            self._stepping = True
            if self._async:
                item = await self._source.__anext__()
            elif self._impl.record.isolated:
                item = await self._impl.record.worker_threads().arun(_next_or_done, self._source, self._left())
                if item is _DONE:
                    raise StopAsyncIteration
            else:
                item = next(self._source)
        except (StopAsyncIteration, StopIteration):
            self._stepping = False
            await self._end(close=False)
            raise StopAsyncIteration from None
        except BaseException as exc:  # a plugin's cleanup must not take the consumer down
            self._stepping = False
            raise await self._failed(exc) from None
        self._stepping = False
        if item.__class__ is not self._plan.result_type:
            item = await self._checked(item)
        ends_at = self.ends_at
        if ends_at is not None:
            try:
                self._last = ends_at(item)
            except PluginKitError as exc:
                await self._end()
                if self.plugin_id not in exc.message:
                    exc.message = f"plugin {self.plugin_id!r}: {exc.message}"
                    exc.args = (exc.message,)
                raise
        return item

    # -- the time limit ----------------------------------------------------------------------------------------------
    def _start(self) -> None:
        self._task = asyncio.current_task()
        timeout = self._plan.timeout
        if timeout is not None:
            self._timer = asyncio.get_running_loop().call_later(timeout, self._expire)

    def _expire(self) -> None:
        self._expired = True
        if self._stepping and self._task is not None:
            self._task.cancel()

    def _left(self) -> float | None:
        timer = self._timer
        return None if timer is None else max(0.0, timer.when() - asyncio.get_running_loop().time())

    def _timed_out(self) -> PluginKitError:
        self._runtime.timed_out(self._plan, self._impl)
        return PluginKitError(
            "timeout",
            f"plugin {self.plugin_id!r} streamed longer than {self._plan.timeout:g}s in {self._plan.method.name}",
        )

    # -- endings -----------------------------------------------------------------------------------------------------
    async def _failed(self, exc: BaseException) -> PluginKitError:
        task = self._task
        if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling() > 0:
            if not self._expired:
                await self._end()
                raise exc  # the consumer's own cancellation
            task.uncancel()
            await self._end()
            return self._timed_out()
        if isinstance(exc, TimeoutError) and self._expired:
            await self._end()
            return self._timed_out()
        await self._end()
        if belongs_to_host(exc):
            raise exc
        original = exc.original if isinstance(exc, Escaped) else exc
        error: PluginKitError = self._fail(self._plan, self._impl, self._runtime, original).error
        return error

    async def _checked(self, item: Any) -> Any:
        plan = self._plan
        if isinstance(item, plan.result_type):
            return item
        try:
            return decoded(plan, item, "yielded")
        except TypeError as wrong:
            await self._end()
            raise self._runtime.crash(plan, self._impl, wrong).error from None

    async def _end(self, *, close: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        on_close = self.on_close
        if on_close is not None:
            on_close()
        if close:
            await _close(self._source)

    async def aclose(self) -> None:
        """Stop reading: the plugin's iterator is closed (within :data:`CLOSE_TIMEOUT` seconds)."""
        await self._end()


async def _close(source: Any) -> None:
    """Close a plugin's iterator, containing whatever its ``finally`` blocks do."""
    try:
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await bounded(aclose(), CLOSE_TIMEOUT)
            return
        close = getattr(source, "close", None)
        if close is not None and inspect.isgenerator(source):
            close()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # a plugin's cleanup must not take the consumer down
        if belongs_to_host(exc):
            raise


AsyncIterator.register(PluginStream)
