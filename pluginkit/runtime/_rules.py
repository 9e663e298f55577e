"""The seed's combination rules: how the answers of the plugins implementing one method make its result.

Each rule is written once, as a plain loop over the plan's plugins, in two forms side by side: ``rule(plan,
params, runtime, notes)`` for synchronous callers and ``arule(...)``, the same loop awaiting each plugin on the
running event loop. The two bodies differ only in ``async``/``await`` and in how one plugin is called;
``tests/runtime/test_rules_equivalence.py`` reads both sources and fails if they ever differ in anything else.

The sync form takes the plugin call as ``call`` (by default :func:`~pluginkit.runtime._calls.call_sync`) so a
plan's solo runner, having already called its one plugin, can hand the answer it got to the same loop instead of
restating how the rule ends (see :mod:`pluginkit.runtime._runners`).

Every rule receives each plugin's settled answer: a typed result, :data:`EMPTY` or :class:`Failed`; ``notes``
(``None``, or a list or a request's trace) gets ``(plugin_id, outcome)`` per plugin asked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pluginkit import abi
from pluginkit.errors import PluginKitError
from pluginkit.runtime._calls import call_async, call_sync
from pluginkit.runtime._headers import compose_changes, copy_headers, headers_field, merge_headers
from pluginkit.runtime._plan import EMPTY, Failed, Impl, NoteSink, Plan, note, set_field, shared

if TYPE_CHECKING:
    from pluginkit.runtime._runtime import Runtime

__all__ = ["ASYNC_RULES", "SYNC_RULES", "Call", "fallback"]

#: How a sync rule asks one plugin: ``call(plan, impl, params, runtime) -> answer``.
Call = Callable[[Plan, Impl, Any, "Runtime"], Any]


def fallback(plan: Plan, body: Any, why: str) -> Any:
    """What the method answers when no plugin handled it (the table's ``fallback``); ``body`` is the params' body
    as it was before any plugin saw it (a plugin may have changed the object it was given)."""
    rule = plan.method.fallback
    if rule is abi.Fallback.ZERO:
        return plan.result_type()
    if rule is abi.Fallback.PASS_THROUGH:
        return plan.result_type(body=body)
    raise PluginKitError("not_handled", f"{plan.method.name}: {why}")


# -- first success: the first non-empty answer wins; errors are remembered, the first one raised if none won ------


def first_success(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    first_error: Failed | None = None
    body = getattr(params, "body", None)
    common = shared(plan, params)
    for impl in plan.impls:
        answer = call(plan, impl, plan.copy(params) if common is None else common, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is Failed:
            first_error = first_error or answer
        elif answer is not EMPTY and not plan.is_zero(answer):
            return answer
    if first_error is not None:
        raise first_error.error
    return fallback(plan, body, "no plugin answered")


async def afirst_success(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    first_error: Failed | None = None
    body = getattr(params, "body", None)
    common = shared(plan, params)
    for impl in plan.impls:
        answer = await call_async(plan, impl, plan.copy(params) if common is None else common, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is Failed:
            first_error = first_error or answer
        elif answer is not EMPTY and not plan.is_zero(answer):
            return answer
    if first_error is not None:
        raise first_error.error
    return fallback(plan, body, "no plugin answered")


# -- chain: each plugin gets the previous one's body; an error or an empty body keeps it -------------------------


def chain(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    body = params.body
    common = shared(plan, params)
    for impl in plan.impls:
        step = plan.copy(params) if common is None else common
        if step.body is not body:
            set_field(step, "body", body)
        answer = call(plan, impl, step, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.body:
            body = answer.body
    return plan.result_type(body=body)


async def achain(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    body = params.body
    common = shared(plan, params)
    for impl in plan.impls:
        step = plan.copy(params) if common is None else common
        if step.body is not body:
            set_field(step, "body", body)
        answer = await call_async(plan, impl, step, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.body:
            body = answer.body
    return plan.result_type(body=body)


# -- header chain: interceptors; header changes compose, a body replaces, drop_chunk ends the chain -------------


def header_chain(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    field = headers_field(params)
    current: dict[str, list[str]] = getattr(params, field)
    body = params.body
    changes: dict[str, list[str]] = {}
    clear: list[str] = []
    dropped = False
    for impl in plan.impls:
        if plan.isolate:
            step = plan.copy(params)
            setattr(step, field, copy_headers(current))
        else:
            step = params
        step.body = body
        answer = call(plan, impl, step, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is Failed or answer is EMPTY:
            continue
        changes, clear = compose_changes(changes, clear, answer)
        current = merge_headers(current, answer.clear_headers, answer.headers)
        if answer.body:
            body = answer.body
        if getattr(answer, "drop_chunk", False):
            dropped = True
            break
    result = plan.result_type(headers=changes, body=body, clear_headers=clear)
    if dropped:
        result.drop_chunk = True
    return result


async def aheader_chain(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    field = headers_field(params)
    current: dict[str, list[str]] = getattr(params, field)
    body = params.body
    changes: dict[str, list[str]] = {}
    clear: list[str] = []
    dropped = False
    for impl in plan.impls:
        if plan.isolate:
            step = plan.copy(params)
            setattr(step, field, copy_headers(current))
        else:
            step = params
        step.body = body
        answer = await call_async(plan, impl, step, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is Failed or answer is EMPTY:
            continue
        changes, clear = compose_changes(changes, clear, answer)
        current = merge_headers(current, answer.clear_headers, answer.headers)
        if answer.body:
            body = answer.body
        if getattr(answer, "drop_chunk", False):
            dropped = True
            break
    result = plan.result_type(headers=changes, body=body, clear_headers=clear)
    if dropped:
        result.drop_chunk = True
    return result


# -- single owner: the owner the method's owner rule selects answers alone; its error is the call's -----------


def single_owner(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    owner = runtime.owner(plan, params)
    body = getattr(params, "body", None)
    if owner is None:
        return fallback(plan, body, runtime.owner_miss(plan, params))
    answer = call(plan, owner, params, runtime)
    if notes is not None:
        note(notes, owner, answer, plan)
    if answer.__class__ is Failed:
        raise answer.error
    if answer is EMPTY or (plan.method.fallback is abi.Fallback.PASS_THROUGH and plan.is_zero(answer)):
        return fallback(plan, body, f"plugin {owner.record.id!r} gave no answer")  # an empty body keeps the body
    return answer


async def asingle_owner(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    owner = runtime.owner(plan, params)
    body = getattr(params, "body", None)
    if owner is None:
        return fallback(plan, body, runtime.owner_miss(plan, params))
    answer = await call_async(plan, owner, params, runtime)
    if notes is not None:
        note(notes, owner, answer, plan)
    if answer.__class__ is Failed:
        raise answer.error
    if answer is EMPTY or (plan.method.fallback is abi.Fallback.PASS_THROUGH and plan.is_zero(answer)):
        return fallback(plan, body, f"plugin {owner.record.id!r} gave no answer")  # an empty body keeps the body
    return answer


# -- fan out: every plugin is asked; answers keyed by plugin ID (failures left out) -----------------------------


def fan_out(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    answers: dict[str, Any] = {}
    common = shared(plan, params)
    for impl in plan.impls:
        answer = call(plan, impl, plan.copy(params) if common is None else common, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed:
            answers[impl.record.id] = plan.result_type() if answer is EMPTY else answer
    return answers


async def afan_out(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    answers: dict[str, Any] = {}
    common = shared(plan, params)
    for impl in plan.impls:
        answer = await call_async(plan, impl, plan.copy(params) if common is None else common, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed:
            answers[impl.record.id] = plan.result_type() if answer is EMPTY else answer
    return answers


# -- any accepts: authenticators in order until one accepts; errors count as "no" -----------------------------


def any_accepts(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    common = shared(plan, params)
    for impl in plan.impls:
        answer = call(plan, impl, plan.copy(params) if common is None else common, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.authenticated:
            return answer
    return plan.result_type()


async def aany_accepts(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    common = shared(plan, params)
    for impl in plan.impls:
        answer = await call_async(plan, impl, plan.copy(params) if common is None else common, runtime)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.authenticated:
            return answer
    return plan.result_type()


# -- host callbacks: the host answers ----------------------------------------------------------------------------


def host(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None, call: Call = call_sync) -> Any:
    return runtime.host.handle(plan.method.name, params)


async def ahost(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    return runtime.host.handle(plan.method.name, params)


SyncRule = Callable[..., Any]
AsyncRule = Callable[..., Any]

#: Each rule's synchronous form.
SYNC_RULES: dict[abi.Combine, SyncRule] = {
    abi.Combine.FIRST_SUCCESS: first_success,
    abi.Combine.CHAIN: chain,
    abi.Combine.HEADER_CHAIN: header_chain,
    abi.Combine.SINGLE_OWNER: single_owner,
    abi.Combine.FAN_OUT: fan_out,
    abi.Combine.ANY_ACCEPTS: any_accepts,
    abi.Combine.HOST: host,
}
#: Each rule's asynchronous form, the same loop awaiting each plugin.
ASYNC_RULES: dict[abi.Combine, AsyncRule] = {
    abi.Combine.FIRST_SUCCESS: afirst_success,
    abi.Combine.CHAIN: achain,
    abi.Combine.HEADER_CHAIN: aheader_chain,
    abi.Combine.SINGLE_OWNER: asingle_owner,
    abi.Combine.FAN_OUT: afan_out,
    abi.Combine.ANY_ACCEPTS: aany_accepts,
    abi.Combine.HOST: ahost,
}
