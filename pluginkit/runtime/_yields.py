"""Streams a hookimpl answers: the items of a sync or async iterator, each one checked, within one time limit.

A method whose table entry ``yields`` is answered by an iterator — a generator, an ``async def`` generator, or any
object with ``__iter__`` / ``__aiter__``. The answer the caller gets is a :class:`PluginStream`: an async iterator
that contains the plugin as a plain call is contained. An item that is not the method's result type (or a dict of
it) crashes the plugin; an exception is the plugin's answer or its crash, by the same rules as a call
(:func:`~pluginkit.runtime._calls.failure`); and the plan's time limit bounds the whole stream, as a Go context's
deadline bounds a channel's producer: past it the step running is cancelled and the stream ends with ``timeout``.

Each step runs in the consumer's task and context, as a synchronous hook runs in its caller's (a copied context per
step, ``Context.run``, was ~170 ns a chunk: most of what a chunk may cost). A step that gives its item at once (most
do: the generator yields what it has) is one ``send`` to the generator's ``__anext__``, no task, no queue: ~0.25 us
over iterating the plugin's generator directly, where a producer task and a queue cost ~5 us a chunk
(``benchmarks``, ``providers``). A step that waits is driven by :func:`~pluginkit.runtime._inline.drive`, so it is
bounded as a call is: a generator that ignores its cancellation is left behind, on time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from pluginkit.errors import PluginKitError
from pluginkit.runtime._escapes import belongs_to_host
from pluginkit.runtime._inline import drive
from pluginkit.runtime._loop import DeadlinePassed, Escaped
from pluginkit.runtime._threads import bounded

if TYPE_CHECKING:
    from pluginkit.runtime._plan import Impl, Plan
    from pluginkit.runtime._runtime import Runtime

__all__ = ["Fail", "PluginStream", "decoded", "is_iterator"]

#: What an exception from a plugin comes to (:func:`pluginkit.runtime._calls.failure`, passed in: this module sits
#: below the one that calls plugins).
Fail = Callable[["Plan", "Impl", "Runtime", BaseException], Any]

#: How long closing a plugin's stream may take (its ``finally`` blocks run then).
CLOSE_TIMEOUT = 5.0
_DONE = object()


def is_iterator(value: Any) -> bool:
    """Whether a hook's answer can be a stream: its *type* has the iterator protocols (looked up on the type, so
    that no code of the plugin's runs here, outside containment)."""
    kind = type(value)
    if issubclass(kind, str | bytes | bytearray | dict):
        return False
    return any(hasattr(kind, name) for name in ("__anext__", "__aiter__", "__next__", "__iter__"))


def decoded(tp: type, parse: Callable[[Any], Any], value: Any, verb: str) -> Any:
    """A plugin's dict decoded as ``tp`` with ``parse``; ``TypeError`` (the plugin's fault, the reason for its
    author) for a dict that does not fit, or anything else."""
    if isinstance(value, dict):
        try:
            return parse(value)
        except PluginKitError as exc:
            raise TypeError(f"{verb} a dict that is not a {tp.__name__}: {exc.message}") from None
    raise TypeError(f"{verb} {type(value).__name__}, expected {tp.__name__}")


def _next_or_done(iterator: Any) -> Any:
    return next(iterator, _DONE)


async def _probe() -> AsyncIterator[None]:
    yield None


#: The type of an ``async def`` generator, whose ``__anext__()`` step a step sends to directly, and that send.
_AGEN = type(_probe())
_send: Callable[[Any, Any], Any] = type(_AGEN.__anext__(_probe())).send  # type: ignore[attr-defined]


class PluginStream:
    """One plugin's stream of ``plan.method.result`` items, read with ``async for`` (or ``async with``).

    ``plugin_id`` names the plugin. Leaving the loop early, or ``await stream.aclose()``, closes the plugin's
    iterator (its ``finally`` blocks run). A failure ends the stream with a :class:`~pluginkit.errors.PluginKitError`
    naming the plugin; ``timeout`` when the plan's limit passed.
    """

    __slots__ = (
        "__weakref__", "_anext", "_async", "_at", "_expired", "_fail", "_go", "_impl", "_item_type", "_last",
        "_native", "_plan", "_runtime", "_source", "_timer", "_value", "closed", "ends_at", "on_close", "plugin_id",
    )

    def __init__(self, plan: Plan, impl: Impl, runtime: Runtime, value: Any, fail: Fail) -> None:
        self._plan, self._impl, self._runtime, self._fail = plan, impl, runtime, fail
        self.plugin_id = impl.record.id
        self._value = value
        self._source: Any = None  # opened by the first step, in containment (the plugin's __aiter__ is its code)
        self._async = self._native = False
        self._timer: asyncio.TimerHandle | None = None
        self._at: float | None = None
        self._expired = self.closed = self._last = self._go = False
        self._item_type: type = plan.method.result
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
        if not self._go:  # one flag on the way of every chunk: opened, not over, within its time
            await self._gate()
        waited = False  # whether the step awaited: only then is a GeneratorExit the consumer's, not the plugin's
        try:
            if self._native:  # an async def generator: its step is sent to without a bound method (~15 ns)
                step = self._anext()
                try:
                    waiting = _send(step, None)
                except StopIteration as done:  # the item, at once
                    item = done.value
                else:  # it waits: bounded as a call, by what is left of the stream's time
                    waited = True
                    item = await drive(step, None, self._left(), waiting)
            elif self._async:
                step = self._anext()
                if not hasattr(step, "throw"):  # an __anext__ answering an awaitable of its own
                    step = step.__await__()
                try:
                    waiting = step.send(None)
                except StopIteration as done:  # the item, at once
                    item = done.value
                else:  # it waits: bounded as a call, by what is left of the stream's time
                    waited = True
                    item = await drive(step, None, self._left(), waiting)
            elif self._impl.record.isolated:
                waited = True
                item = await self._impl.record.worker_threads().arun(_next_or_done, self._source, self._left())
                if item is _DONE:
                    raise StopAsyncIteration
            else:
                item = next(self._source)
        except (StopAsyncIteration, StopIteration):
            await self._end(close=False)
            raise StopAsyncIteration from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # the consumer's own cancellation
                await self._end()
                raise
            raise await self._failed(Escaped(asyncio.CancelledError())) from None
        except GeneratorExit as exc:
            if not waited:
                raise await self._failed(Escaped(exc)) from None
            self._finish()  # the consumer's coroutine is being closed: nothing can be awaited any more
            raise
        except BaseException as exc:
            raise await self._failed(exc) from None
        if item.__class__ is not self._item_type:
            item = await self._checked(item)
        ends_at = self.ends_at
        if ends_at is not None:
            try:
                if ends_at(item):
                    self._last = True
                    self._go = False
            except PluginKitError as exc:
                await self._end()
                if self.plugin_id not in exc.message:
                    exc.message = f"plugin {self.plugin_id!r}: {exc.message}"
                    exc.args = (exc.message,)
                raise
        return item

    async def _gate(self) -> None:
        """Before a step, when the way is not clear: the stream is over (``StopAsyncIteration``), not opened yet,
        or past its time (``timeout``)."""
        if self.closed or self._last:
            await self._end()
            raise StopAsyncIteration
        if self._source is None:
            await self._open()
        if self._expired:
            await self._end()
            raise self._timed_out()
        self._go = True

    async def _open(self) -> None:
        """The plugin's iterator, from what its hook answered (``__aiter__`` / ``iter`` run its code: contained),
        and the stream's time limit, from now."""
        value = self._value
        try:
            kind = type(value)
            if hasattr(kind, "__anext__"):
                self._source, self._async = value, True
            elif hasattr(kind, "__aiter__"):
                self._source, self._async = value.__aiter__(), True
            elif hasattr(kind, "__next__"):
                self._source = value
            else:
                self._source = iter(value)
            self._native = type(self._source) is _AGEN  # an async def generator
            if self._async:
                self._anext = self._source.__anext__  # bound once: ~40 ns a chunk
        except BaseException as exc:
            self._source = ()
            raise await self._failed(exc) from None
        timeout = self._plan.timeout
        if timeout is not None:
            loop = asyncio.get_running_loop()
            self._at = loop.time() + timeout
            self._timer = loop.call_at(self._at, self._expire)

    # -- the time limit ----------------------------------------------------------------------------------------------
    def _expire(self) -> None:
        """The limit passed: the next step ends the stream (a step waiting now is bounded by its own deadline)."""
        self._expired = True
        self._go = False

    def _left(self) -> float | None:
        at = self._at
        return None if at is None else max(0.0, at - asyncio.get_running_loop().time())

    def _timed_out(self) -> PluginKitError:
        self._runtime.timed_out(self._plan, self._impl)
        return PluginKitError(
            "timeout",
            f"plugin {self.plugin_id!r} streamed longer than {self._plan.timeout:g}s in {self._plan.method.name}",
        )

    # -- endings -----------------------------------------------------------------------------------------------------
    async def _failed(self, exc: BaseException) -> PluginKitError:
        await self._end()
        if isinstance(exc, DeadlinePassed):
            return self._timed_out()
        if belongs_to_host(exc):
            raise exc
        original = exc.original if isinstance(exc, Escaped) else exc
        error: PluginKitError = self._fail(self._plan, self._impl, self._runtime, original).error
        return error

    async def _checked(self, item: Any) -> Any:
        method = self._plan.method
        if isinstance(item, self._item_type):
            return item
        try:
            return decoded(method.result, method.parse_result, item, "yielded")
        except TypeError as wrong:
            await self._end()
            raise self._runtime.crash(self._plan, self._impl, wrong).error from None

    def _finish(self) -> bool:
        """End the stream's bookkeeping (timer, ``on_close``); whether it was still open."""
        if self.closed:
            return False
        self.closed = True
        self._go = False
        if self._timer is not None:
            self._timer.cancel()
        on_close = self.on_close
        if on_close is not None:
            on_close()
        return True

    async def _end(self, *, close: bool = True) -> None:
        if self._finish() and close and self._source is not None:
            await _close(self._source)

    async def aclose(self) -> None:
        """Stop reading: the plugin's iterator is closed (within :data:`CLOSE_TIMEOUT` seconds)."""
        await self._end()


async def _close(source: Any) -> None:
    """Close a plugin's iterator, containing whatever its ``finally`` blocks do."""
    try:
        aclose = getattr(type(source), "aclose", None)
        if aclose is not None:
            await bounded(aclose(source), CLOSE_TIMEOUT)
            return
        if inspect.isgenerator(source):
            source.close()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # a plugin's cleanup must not take the consumer down
        if belongs_to_host(exc):
            raise


AsyncIterator.register(PluginStream)
