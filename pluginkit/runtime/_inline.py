"""Awaiting a plugin's coroutine in the caller's own task, within its time limit, containing whatever it does.

A task per call (``asyncio.wait`` on it, so that a coroutine ignoring its cancellation can be left behind) cost
~12 us over the ~2 us of awaiting a one-step coroutine directly; :func:`run_inline` costs ~1.5 us (``benchmarks``,
``providers``). :func:`drive` steps the plugin's coroutine itself, handing each future it waits on to the caller's
task as ``await`` would, so it keeps what the task bought:

- the deadline cancels the caller's task while it waits inside the plugin; the cancellation is thrown into the
  plugin's coroutine, and a coroutine that goes on waiting instead is closed and left: the caller gets
  :class:`~pluginkit.runtime._loop.DeadlinePassed` on time all the same. A cancellation is the call's business only
  while the task has more pending than when the call began: one the plugin raised and withdrew itself (its own
  ``asyncio.timeout``, a helper task it cancelled and awaited, a nested call's deadline) is the plugin's affair;
- each step runs in a context of the plugin's own (a copy of the caller's, as a task would run it): a plugin
  setting a context variable does not set the caller's;
- a ``BaseException`` the plugin raises (``SystemExit``, a cancellation of its own making) comes out as
  :class:`~pluginkit.runtime._loop.Escaped`, never as the real thing; what it yields that is not a future of this
  loop is thrown back into it (``RuntimeError``), never handed to the task, which it could wedge.

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

from pluginkit.runtime._loop import DeadlinePassed, Escaped

__all__ = ["drive", "run_inline"]

_Future = asyncio.Future
#: ``drive``'s ``waiting`` when the coroutine has not been started.
NOT_STARTED: Any = object()


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
    """The deadlines of the calls running inline on one loop, and one timer, at the earliest of them. It holds its
    loop weakly: a clock kept in the weak mapping must not keep its loop alive."""

    __slots__ = ("__weakref__", "_loop", "at", "pending", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        self.pending: dict[_Deadline, float] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.at = math.inf

    def add(self, deadline: _Deadline, timeout: float, loop: asyncio.AbstractEventLoop) -> None:
        when = loop.time() + timeout
        self.pending[deadline] = when
        if when < self.at:  # calls of one limit come in deadline order: the timer is rarely moved
            if self.timer is not None:
                self.timer.cancel()
            self.at = when
            self.timer = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        loop = self._loop()
        self.timer, self.at = None, math.inf
        if loop is None:
            return
        now = loop.time() + _RESOLUTION
        for deadline, when in list(self.pending.items()):
            if when <= now:
                del self.pending[deadline]
                deadline()
        if self.pending:
            self.at = min(self.pending.values())
            self.timer = loop.call_at(self.at, self._fire)


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


def run_inline(coro: Coroutine[Any, Any, Any], timeout: float | None) -> Coroutine[Any, Any, Any]:
    """``await run_inline(coro, timeout)``: ``await coro`` in this task, for at most ``timeout`` seconds (``None``:
    no limit), in a copy of this context. Raises what the coroutine raises (an ``Exception``), :class:`Escaped` for
    a ``BaseException`` of the plugin's, :class:`DeadlinePassed` past the limit, and ``CancelledError`` when this
    task itself is cancelled. (A function returning :func:`drive`'s coroutine: a coroutine of its own around it
    was ~0.3 us a call.)"""
    return drive(coro, contextvars.copy_context(), timeout)


def _call(function: Any, argument: Any) -> Any:
    return function(argument)


async def drive(
    coro: Any, context: contextvars.Context | None, timeout: float | None, waiting: Any = NOT_STARTED
) -> Any:
    """:func:`run_inline` for a coroutine (or an awaitable's iterator: an async generator's ``asend``) that may
    already have been started — ``waiting`` is then what its first step yielded — in ``context`` (``None``: the
    current one, as a stream's steps run)."""
    run = _call if context is None else context.run
    send, throw = coro.send, coro.throw
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline: _Deadline | None = None
    clock: _Clock | None = None
    if timeout is not None:
        deadline = _Deadline(task)
        clock = _clock(loop)
        clock.add(deadline, timeout, loop)
    value: Any = None
    thrown: BaseException | None = None
    #: Cancellations of the task already pending when the call began: a cancellation is this call's business only
    #: while the task has more (one that a nested call caught and withdrew, with ``uncancel``, is over).
    before = task.cancelling() if task is not None else 0
    started = waiting is not NOT_STARTED
    try:
        while True:
            if started:  # hand what it waits on to the task, and its outcome back
                bad = None
                if waiting is not None and (waiting.__class__ is not _Future or waiting.get_loop() is not loop):
                    bad = _bad_yield(waiting, loop)
                if bad is not None:  # thrown back in, without the task: the plugin's own doing
                    value, thrown = None, bad
                else:
                    try:
                        value = await _suspend(waiting)
                        thrown = None
                    except GeneratorExit:  # the caller's coroutine is being closed: so is the plugin's
                        _abandon(coro)
                        raise
                    except BaseException as exc:  # the caller's task was cancelled: pass it to the plugin
                        value, thrown = None, exc
            started = True
            try:
                waiting = run(send, value) if thrown is None else run(throw, thrown)
            except StopIteration as stop:
                if thrown is not None and _pending(task, before):  # it finished despite the cancellation
                    _raise_cancelled(task, deadline, before)
                return stop.value
            except asyncio.CancelledError:
                if _pending(task, before):
                    _raise_cancelled(task, deadline, before)
                raise Escaped(asyncio.CancelledError()) from None  # a cancellation of the plugin's own making
            except Exception:
                raise
            except BaseException as exc:
                raise Escaped(exc) from None
            if thrown is not None and _pending(task, before):  # cancelled, and waiting again: it ignores the
                _abandon(coro)  # cancellation; leave it behind
                _raise_cancelled(task, deadline, before)
    finally:
        if clock is not None:
            clock.pending.pop(deadline, None)  # type: ignore[arg-type]


def _bad_yield(waiting: Any, loop: asyncio.AbstractEventLoop) -> RuntimeError | None:
    """Why what a plugin yielded cannot go to the task (``None``: it can: a future of this loop, of a subclass)."""
    try:
        if isinstance(waiting, _Future) and waiting.get_loop() is loop:
            return None
    except Exception:  # a future of the plugin's own making whose get_loop raises
        pass
    return RuntimeError(f"a plugin's coroutine yielded {type(waiting).__name__}, not a future of this loop")


def _pending(task: asyncio.Task[Any] | None, before: int) -> bool:
    return task is not None and task.cancelling() > before


def _raise_cancelled(task: asyncio.Task[Any] | None, deadline: _Deadline | None, before: int) -> None:
    """The plugin was cancelled: by the deadline (:class:`DeadlinePassed`, the deadline's cancellation withdrawn)
    unless the caller was cancelled too, or by the caller's own cancellation (``CancelledError``, passed on)."""
    if deadline is not None and deadline.expired and task is not None and task.uncancel() <= before:
        raise DeadlinePassed
    raise asyncio.CancelledError


def _abandon(coro: Any) -> None:
    try:
        coro.close()
    except (KeyboardInterrupt, SystemExit):  # the host's own (a real Ctrl-C during the plugin's cleanup)
        raise
    except BaseException:  # it ignores GeneratorExit too: nothing more can be done with it
        return
