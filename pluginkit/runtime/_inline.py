"""Awaiting a plugin's coroutine in the caller's own task, within its time limit, containing whatever it does.

A task per call (``asyncio.wait`` on it, so that a coroutine ignoring its cancellation can be left behind) cost
~12 us over the ~2 us of awaiting a one-step coroutine directly; :func:`run_inline` costs ~1.5 us (``benchmarks``,
``providers``). It steps the plugin's coroutine itself, handing each future it waits on to the caller's task
as ``await`` would, so it keeps what the task bought:

- the deadline cancels the caller's task while it waits inside the plugin; the cancellation is
  thrown into the plugin's coroutine, and a coroutine that goes on waiting instead is closed and left: the caller
  gets ``TimeoutError`` on time all the same;
- each step runs in a copy of the caller's context, as a task would run it: a plugin setting a context variable
  does not set the caller's;
- a ``BaseException`` the plugin raises (``SystemExit``, a cancellation of its own making) comes out as
  :class:`~pluginkit.runtime._loop.Escaped`, never as the real thing.

Deadlines are kept per loop with one timer, at the earliest (:class:`_Clock`): a timer per call (``call_later``,
then ``cancel``) cost ~2.4 us of the ~3.5 a call took, since every cancelled handle stays in the loop's heap until
the loop sweeps them.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import types
import weakref
from collections.abc import Coroutine, Generator
from typing import Any

from pluginkit.runtime._loop import Escaped

__all__ = ["run_inline"]


@types.coroutine
def _suspend(waiting: Any) -> Generator[Any, Any, Any]:
    """Hand what the plugin's coroutine waits on (a future, or ``None`` for a bare yield) to the caller's task."""
    return (yield waiting)


class _Deadline:
    """One call's deadline: when it passes, the caller's task is cancelled. It can only pass while the task waits
    inside the plugin: the call is all the task does until it ends, and it leaves the clock when it ends."""

    __slots__ = ("expired", "task")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.expired = False

    def __call__(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel()


class _Clock:
    """The deadlines of the calls running inline on one loop, and one timer, at the earliest of them."""

    __slots__ = ("__weakref__", "at", "loop", "pending", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: dict[_Deadline, float] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.at = math.inf

    def add(self, deadline: _Deadline, timeout: float) -> None:
        when = self.loop.time() + timeout
        self.pending[deadline] = when
        if when < self.at:  # calls of one limit come in deadline order: the timer is rarely moved
            if self.timer is not None:
                self.timer.cancel()
            self.at = when
            self.timer = self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self.timer, self.at = None, math.inf
        now = self.loop.time() + _RESOLUTION
        for deadline, when in list(self.pending.items()):
            if when <= now:
                del self.pending[deadline]
                deadline()
        if self.pending:
            self.at = min(self.pending.values())
            self.timer = self.loop.call_at(self.at, self._fire)


#: How early a deadline may be taken for due (the loop's timers fire within its clock's resolution).
_RESOLUTION = 1e-3
_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clock] = weakref.WeakKeyDictionary()


def _clock(loop: asyncio.AbstractEventLoop) -> _Clock:
    """The loop's clock: an attribute of the loop where it takes one (~50 ns; a weak mapping's lookup builds a
    weak reference each time, ~200 ns), else in a weak mapping (loops that take no attributes, such as uvloop's)."""
    clock: _Clock | None = getattr(loop, "_pluginkit_clock", None)
    if clock is None:
        clock = _clocks.get(loop)
        if clock is None:
            clock = _Clock(loop)
            try:
                loop._pluginkit_clock = clock  # type: ignore[attr-defined]
            except AttributeError:
                _clocks[loop] = clock
    return clock


async def run_inline(coro: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
    """``await coro`` in this task, for at most ``timeout`` seconds (``None``: no limit).

    Raises what the coroutine raises (an ``Exception``), :class:`Escaped` for a ``BaseException`` of the plugin's,
    ``TimeoutError`` past the limit, and ``CancelledError`` when this task itself is cancelled.
    """
    context = contextvars.copy_context()
    run = context.run
    send, throw = coro.send, coro.throw
    task = asyncio.current_task()
    deadline: _Deadline | None = None
    clock: _Clock | None = None
    if timeout is not None:
        deadline = _Deadline(task)
        clock = _clock(asyncio.get_running_loop())
        clock.add(deadline, timeout)
    value: Any = None
    thrown: BaseException | None = None
    #: Cancellations of the task already pending when the call began: a cancellation is this call's business only
    #: while the task has more (one that a nested call caught and withdrew, with ``uncancel``, is over).
    before = task.cancelling() if task is not None else 0
    try:
        while True:
            try:
                waiting = run(send, value) if thrown is None else run(throw, thrown)
            except StopIteration as stop:
                if thrown is not None and _pending(task, before):  # it finished despite the cancellation
                    _raise_cancelled(task, deadline)
                return stop.value
            except asyncio.CancelledError:
                if _pending(task, before):
                    _raise_cancelled(task, deadline)
                raise Escaped(asyncio.CancelledError()) from None  # a cancellation of the plugin's own making
            except Exception:
                raise
            except BaseException as exc:
                raise Escaped(exc) from None
            if thrown is not None and _pending(task, before):  # cancelled, and waiting again: it ignores the
                _abandon(coro)  # cancellation; leave it behind
                _raise_cancelled(task, deadline)
            thrown = None
            try:
                value = await _suspend(waiting)
            except BaseException as exc:  # the caller's task was cancelled: pass it to the plugin
                value, thrown = None, exc
    finally:
        if clock is not None:
            clock.pending.pop(deadline, None)  # type: ignore[arg-type]


def _pending(task: asyncio.Task[Any] | None, before: int) -> bool:
    return task is not None and task.cancelling() > before


def _raise_cancelled(task: asyncio.Task[Any] | None, deadline: _Deadline | None) -> None:
    """The plugin was cancelled: by the deadline (``TimeoutError``, the task's cancellation withdrawn) or by the
    caller's own cancellation (``CancelledError``, passed on)."""
    if deadline is not None and deadline.expired and task is not None and task.cancelling():
        task.uncancel()
        raise TimeoutError
    raise asyncio.CancelledError


def _abandon(coro: Coroutine[Any, Any, Any]) -> None:
    try:
        coro.close()
    except BaseException:  # it ignores GeneratorExit too: nothing more can be done with it
        return
