"""Calling one plugin's hookimpl and settling what it did into an answer.

An answer is the typed result, :data:`~pluginkit.runtime._plan.EMPTY` (the plugin said ``None``) or
:class:`~pluginkit.runtime._plan.Failed`. Typed results pass; ``None`` is empty; a dict is read as wire JSON;
anything else, and any unexpected exception, is the plugin's bug: the runtime logs it and may fuse the plugin.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from pluginkit.errors import InvalidRequest, PluginKitError
from pluginkit.runtime._escapes import belongs_to_host
from pluginkit.runtime._inline import run_inline
from pluginkit.runtime._loop import CallAbandoned, DeadlinePassed, Escaped
from pluginkit.runtime._plan import EMPTY, Failed, Impl, P, Plan
from pluginkit.runtime._yields import PluginStream, decoded, is_iterator
from pluginkit.wire import WireError, check_text, to_wire

if TYPE_CHECKING:
    from pluginkit.runtime._runtime import Runtime

__all__ = ["call_async", "call_sync", "check_answer", "failure", "invalid_input", "settle_sync"]

log = logging.getLogger("pluginkit")


def call_sync(plan: Plan, impl: Impl, params: Any, runtime: Runtime) -> Any:
    """One plugin's answer to ``params``, from synchronous code (``async def`` hookimpls run on the runtime's
    loop thread, with the plan's time limit; an isolated plugin runs in its own threads, bounded the same way)."""
    if impl.record.isolated:
        return _call_isolated(plan, impl, params, runtime)
    try:
        value = impl.function(params) if impl.mode == P else impl.start(params)  # the common signature, one call less
    except BaseException as exc:  # anything a plugin raises is its answer (failure() lets the host's own through)
        return settle_sync(plan, impl, runtime, None, exc, params)
    if value.__class__ is plan.result_type:  # the common case: a typed answer, nothing more to check
        return value
    return settle_sync(plan, impl, runtime, value, None)


def _call_isolated(plan: Plan, impl: Impl, params: Any, runtime: Runtime) -> Any:
    try:
        value = impl.record.worker_threads().run(impl.start, params, plan.timeout)
    except BaseException as exc:
        return failure(plan, impl, runtime, exc, params)
    return settle_sync(plan, impl, runtime, value, None)


def settle_sync(
    plan: Plan, impl: Impl, runtime: Runtime, value: Any, error: BaseException | None, params: Any = None
) -> Any:
    """What a synchronous call of a hookimpl comes to, from the value it returned or the exception it raised: the
    answer, an awaited coroutine's answer, or :class:`Failed`. :func:`call_sync` and the solo runners (which call
    ``impl.function`` themselves) come here when the answer is not simply a typed result."""
    try:
        if error is not None:
            raise error
        if impl.is_async or inspect.iscoroutine(value):
            value = runtime.loop.run(value, plan.timeout)
    except BaseException as exc:
        return failure(plan, impl, runtime, exc, params)
    return check_answer(plan, impl, value, runtime)


async def call_async(plan: Plan, impl: Impl, params: Any, runtime: Runtime) -> Any:
    """One plugin's answer to ``params`` on the running loop: ``async def`` hookimpls are awaited in this task with
    the plan's time limit (:func:`~pluginkit.runtime._inline.run_inline`), isolated plugins run in their own threads
    (bounded the same way), plain ones inline."""
    try:
        if impl.is_async:  # in this task, no task of its own: ~1.5 us, where a task and asyncio.wait cost ~12 us
            value = await run_inline(impl.start(params), plan.timeout)
        elif impl.record.isolated:
            value = await impl.record.worker_threads().arun(impl.start, params, plan.timeout)
        else:
            value = impl.start(params)
        if inspect.iscoroutine(value):
            value = await run_inline(value, plan.timeout)
    except Escaped as escaped:
        return failure(plan, impl, runtime, escaped.original, params)
    except GeneratorExit:  # the caller's own coroutine is being closed (its plugin's was abandoned): not this one's
        raise
    except BaseException as exc:
        return failure(plan, impl, runtime, exc, params)
    return check_answer(plan, impl, value, runtime)


def check_answer(plan: Plan, impl: Impl, value: Any, runtime: Runtime) -> Any:
    """A returned value → the answer: typed results pass, ``None`` is :data:`EMPTY`, a dict is decoded, anything
    else crashes the plugin. A method that ``yields`` is answered by a stream (:mod:`~pluginkit.runtime._yields`)."""
    if value.__class__ is plan.result_type:
        return value
    if plan.method.yields:
        return stream_answer(plan, impl, value, runtime)
    if value is None:
        return EMPTY
    if isinstance(value, plan.result_type):
        return value
    try:
        return decoded(plan.result_type, plan.method.parse_result, value, "answered")
    except TypeError as wrong:
        return runtime.crash(plan, impl, wrong)


def stream_answer(plan: Plan, impl: Impl, value: Any, runtime: Runtime) -> Any:
    """What a streaming hookimpl's return value comes to: a :class:`PluginStream` (``None``: an empty one), or a
    crash when it is no iterator at all."""
    if value is None:
        value = ()
    if is_iterator(value):
        return PluginStream(plan, impl, runtime, value, failure)
    return runtime.crash(
        plan, impl,
        TypeError(f"answered {type(value).__name__}, expected an iterator of {plan.method.result.__name__}"),
    )


def failure(plan: Plan, impl: Impl, runtime: Runtime, exc: BaseException, params: Any = None) -> Failed:
    """What an exception from a plugin's call comes to: a ``PluginKitError`` is the plugin's answer (not its
    fault), a time-out is ``timeout``, anything else — ``BaseException`` included — is a crash (logged, the plugin
    fused by policy), unless the ``params`` it was given hold text no plugin could handle: then the input was
    bad, not the plugin, and the caller gets ``invalid_request`` (client input alone never fuses a plugin). A real
    Ctrl-C and the caller's own cancellation are the host's: they propagate."""
    if belongs_to_host(exc) or isinstance(exc, CallAbandoned):
        raise exc
    if isinstance(exc, PluginKitError):
        return Failed(exc)
    if isinstance(exc, DeadlinePassed):
        runtime.timed_out(plan, impl)
        return Failed(
            PluginKitError(
                "timeout", f"plugin {impl.record.id!r} took longer than {plan.timeout:g}s in {plan.method.name}"
            )
        )
    if params is not None and (bad := invalid_input(params)) is not None:
        log.warning(
            "plugin %r could not take the input of %s (%s): %s", impl.record.id, plan.method.name, bad,
            type(exc).__name__,
        )
        return Failed(InvalidRequest(message=bad))
    return runtime.crash(plan, impl, exc)


def invalid_input(params: Any) -> str | None:
    """Why typed ``params`` are input no plugin can be blamed for failing on (text that is not valid Unicode,
    absurd nesting), naming the field; ``None`` when they are fine. Asked only after a plugin crashed."""
    try:
        check_text(to_wire(params))
    except WireError as exc:
        return str(exc)
    except Exception:  # what the wire cannot even write is not the plugin's fault either
        return "params that cannot be written as JSON"
    return None
