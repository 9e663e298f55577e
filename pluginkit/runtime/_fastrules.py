"""Plain-loop twins of the hot combination rules, for plans whose hookimpls are all synchronous.

The rules in :mod:`pluginkit.runtime._dispatch` are generators so that one definition serves both drivers. On Python
3.11 driving a generator (create, ``send``, ``StopIteration``) costs ~400 ns — more than a raw pluggy call — so the
rules on the request path (first success, chain, header chain, single owner, any accepts for authenticators, fan
out for usage records) also exist here as loops.
``tests/test_rules_equivalence.py`` runs every rule both ways on generated plugin behaviours and requires the same
answers, so the twins cannot drift.

Each runner takes ``notes``: ``None`` (no trace, the fast case) or a sink (a list, a request's trace) receiving
``(plugin_id, outcome)``. Where the rule has already seen that an answer carries something (a body,
``authenticated``, a non-zero result), its note is ``answered`` without asking :func:`~pluginkit.runtime._dispatch.note`
(whose zero test, per stage of a traced request, costs more than the rest of the note); every other outcome goes
through ``note`` as before.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pluginkit import abi
from pluginkit.runtime._dispatch import (
    _P,
    EMPTY,
    Failed,
    Impl,
    NoteSink,
    Plan,
    _call_sync,
    _fallback,
    compose_changes,
    copy_headers,
    headers_field,
    merge_headers,
    note,
    settle_sync,
)

if TYPE_CHECKING:
    from pluginkit.runtime._manager import PluginManager

__all__ = ["SYNC_RULES", "own_code", "solo"]

F = TypeVar("F", bound=Callable[..., Any])

SyncRule = Callable[[Plan, Any, "PluginManager", "NoteSink | None"], Any]


def first_success(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    first_error: Failed | None = None
    isolate = plan.isolate
    for impl in plan.impls:
        answer = _call_sync(plan, impl, plan.copy(params) if isolate else params, manager)
        if answer.__class__ is Failed:
            if notes is not None:
                note(notes, impl, answer, plan)
            first_error = first_error or answer
        elif answer is not EMPTY and not plan.is_zero(answer):
            if notes is not None:
                notes.append((impl.record.id, "answered"))
            return answer
        elif notes is not None:
            note(notes, impl, answer, plan)
    if first_error is not None:
        raise first_error.error
    return _fallback(plan, params, "no plugin answered")


def chain(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    body = params.body
    if len(plan.impls) == 1:  # a lone plugin's answer is the result: no copy, no new object
        impl = plan.impls[0]
        return _chain_alone(plan, params, manager, notes, impl, _call_sync(plan, impl, params, manager))
    for impl in plan.impls:
        step = plan.copy(params)
        step.body = body
        answer = _call_sync(plan, impl, step, manager)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.body:
            body = answer.body
    return plan.result_type(body=body)


def header_chain(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    body = params.body
    if len(plan.impls) == 1:  # a lone interceptor's change set is the combined one (the per-chunk hot path)
        impl = plan.impls[0]
        return _header_chain_alone(plan, params, manager, notes, impl, _call_sync(plan, impl, params, manager))
    field = headers_field(params)
    current: dict[str, list[str]] = getattr(params, field)
    changes: dict[str, list[str]] = {}
    clear: list[str] = []
    dropped = False
    for impl in plan.impls:
        step = plan.copy(params)
        setattr(step, field, copy_headers(current))
        step.body = body
        answer = _call_sync(plan, impl, step, manager)
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


def single_owner(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    impls = plan.impls
    # what manager._owner answers for the priority rule and for pinned plans, without the call
    owner = (impls[0] if impls else None) if plan.pinned or plan.method.owner == "priority" else manager._owner(
        plan, params
    )
    if owner is None:
        return _fallback(plan, params, manager._owner_miss(plan, params))
    return _owner_answered(plan, params, manager, notes, owner, _call_sync(plan, owner, params, manager))


# -- one plugin ------------------------------------------------------------------------------------------------
# How each rule ends when exactly one plugin was asked, given its settled answer (typed result, EMPTY or Failed).
# The loops above end this way for a lone plugin, and so does a plan's solo runner (below) whenever the answer is
# not simply one the rule keeps as it is.


def _first_success_alone(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None, impl: Impl, answer: Any
) -> Any:
    if answer.__class__ is not Failed and answer is not EMPTY and not plan.is_zero(answer):
        if notes is not None:
            notes.append((impl.record.id, "answered"))
        return answer
    if notes is not None:
        note(notes, impl, answer, plan)
    if answer.__class__ is Failed:
        raise answer.error
    return _fallback(plan, params, "no plugin answered")


def _chain_alone(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None, impl: Impl, answer: Any
) -> Any:
    if answer.__class__ is Failed or answer is EMPTY or not answer.body:
        if notes is not None:
            note(notes, impl, answer, plan)
        return plan.result_type(body=params.body)  # never mutate the plugin's answer: it may be a shared constant
    if notes is not None:
        notes.append((impl.record.id, "answered"))  # it has a body: not a zero answer
    return answer


def _header_chain_alone(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None, impl: Impl, answer: Any
) -> Any:
    if answer.__class__ is not Failed and answer is not EMPTY and answer.body:
        if notes is not None:
            notes.append((impl.record.id, "answered"))  # it has a body: not a zero answer
        return answer
    if notes is not None:
        note(notes, impl, answer, plan)
    if answer.__class__ is Failed or answer is EMPTY:
        return plan.result_type(body=params.body)
    result = plan.result_type(headers=answer.headers, body=params.body, clear_headers=answer.clear_headers)
    if getattr(answer, "drop_chunk", False):
        result.drop_chunk = True
    return result


def _owner_answered(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None, owner: Impl, answer: Any
) -> Any:
    if notes is not None:
        if answer.__class__ is plan.result_type and not plan.is_zero(answer):
            notes.append((owner.record.id, "answered"))
        else:
            note(notes, owner, answer, plan)
    if answer.__class__ is Failed:
        raise answer.error
    if answer is EMPTY:
        return _fallback(plan, params, f"plugin {owner.record.id!r} gave no answer")
    return answer


def any_accepts(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    isolate = plan.isolate
    for impl in plan.impls:
        answer = _call_sync(plan, impl, plan.copy(params) if isolate else params, manager)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.authenticated:
            if notes is not None:
                notes.append((impl.record.id, "answered"))  # authenticated: not a zero answer
            return answer
        if notes is not None:
            note(notes, impl, answer, plan)
    return plan.result_type()


def fan_out(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    answers: dict[str, Any] = {}
    isolate = plan.isolate
    for impl in plan.impls:
        answer = _call_sync(plan, impl, plan.copy(params) if isolate else params, manager)
        if notes is not None:
            note(notes, impl, answer, plan)
        if answer.__class__ is not Failed:
            answers[impl.record.id] = plan.result_type() if answer is EMPTY else answer
    return answers


def _any_accepts_alone(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None, impl: Impl, answer: Any
) -> Any:
    if answer.__class__ is not Failed and answer is not EMPTY and answer.authenticated:
        if notes is not None:
            notes.append((impl.record.id, "answered"))  # authenticated: not a zero answer
        return answer
    if notes is not None:
        note(notes, impl, answer, plan)
    return plan.result_type()


def _fan_out_alone(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None, impl: Impl, answer: Any
) -> Any:
    if notes is not None:
        note(notes, impl, answer, plan)
    if answer.__class__ is Failed:
        return {}
    return {impl.record.id: plan.result_type() if answer is EMPTY else answer}


Ending = Callable[[Plan, Any, "PluginManager", "NoteSink | None", Impl, Any], Any]
#: Each rule's ending for one plugin, and which typed answers it returns exactly as the plugin gave them: ``body``
#: (a non-empty body), ``authenticated``, ``nonzero`` (not the zero value) or ``typed`` (any: noted ``empty``
#: when zero); ``each`` keeps any typed answer too, under the plugin's ID (fan-out answers are a mapping).
ALONE: dict[abi.Combine, tuple[Ending, str]] = {
    abi.Combine.FIRST_SUCCESS: (_first_success_alone, "nonzero"),
    abi.Combine.CHAIN: (_chain_alone, "body"),
    abi.Combine.HEADER_CHAIN: (_header_chain_alone, "body"),
    abi.Combine.SINGLE_OWNER: (_owner_answered, "typed"),
    abi.Combine.ANY_ACCEPTS: (_any_accepts_alone, "authenticated"),
    abi.Combine.FAN_OUT: (_fan_out_alone, "each"),
}


def solo(plan: Plan) -> SyncRule | None:
    """The runner of a plan with one plugin, or ``None`` when the plan needs its rule's loop.

    Most plans on the request path have exactly one plugin, and for a plain synchronous one every rule comes down
    to: call it; if it answered a typed result the rule keeps as it is, note it and return it. This runner does
    just that with everything bound in advance — no rule loop, no per-call dispatch — and hands every other
    outcome (an exception, an untyped or zero answer) to the rule's ending for one plugin, after settling it as
    :func:`~pluginkit.runtime._dispatch._call_sync` would. ``tests/test_rules_equivalence.py`` holds it to the rules.
    """
    if len(plan.impls) != 1 or not plan.inline:
        return None
    combine = abi.Combine.SINGLE_OWNER if plan.pinned else plan.method.combine
    if combine is abi.Combine.SINGLE_OWNER and not plan.pinned and plan.method.owner != "priority":
        return None  # the owner depends on the params (provider, flag, route): the rule decides
    if combine not in ALONE:
        return None
    ending, keeps = ALONE[combine]
    impl = plan.impls[0]
    call = impl.function if impl.mode == _P else impl.start
    result_type: Any = plan.result_type
    is_zero, answered, empty = plan.is_zero, (impl.record.id, "answered"), (impl.record.id, "empty")
    by_body, by_auth, by_type = keeps == "body", keeps == "authenticated", keeps == "typed"
    if keeps == "each":  # a runner of its own: only fan-out wraps its answer, and run_solo's path must not test that
        plugin_id = impl.record.id

        def run_solo_each(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
            value: Any
            try:
                value = call(params)
            except Exception as exc:
                return ending(plan, params, manager, notes, impl, settle_sync(plan, impl, manager, None, exc))
            if value.__class__ is not result_type:
                return ending(plan, params, manager, notes, impl, settle_sync(plan, impl, manager, value, None))
            if notes is not None:
                notes.append(empty if is_zero(value) else answered)
            return {plugin_id: value}

        return own_code(run_solo_each)

    def run_solo(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
        value: Any
        try:
            value = call(params)
        except Exception as exc:
            return ending(plan, params, manager, notes, impl, settle_sync(plan, impl, manager, None, exc))
        if value.__class__ is result_type:
            if by_type:
                if notes is not None:
                    notes.append(empty if is_zero(value) else answered)
                return value
            if value.body if by_body else value.authenticated if by_auth else not is_zero(value):
                if notes is not None:
                    notes.append(answered)
                return value
        return ending(plan, params, manager, notes, impl, settle_sync(plan, impl, manager, value, None))

    return own_code(run_solo)


def own_code(function: F) -> F:
    """``function`` with a code object of its own (same bytecode, closure, globals and names).

    CPython 3.11+ specialises bytecode in place, per code object: every closure made by one ``def`` shares one
    code object, so its call and attribute sites see every plan's hookimpl and result class and stay generic. A
    runner made per plan with its own code keeps those sites specialised for its one plugin: in a request through
    ten solo stages this is worth about 1 µs (``benchmarks``, ``pipeline``).
    """
    copy = types.FunctionType(
        function.__code__.replace(), function.__globals__, function.__name__, function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    return cast(F, functools.update_wrapper(copy, function))  # names, docs, annotations; __wrapped__


SYNC_RULES: dict[abi.Combine, SyncRule] = {
    abi.Combine.FIRST_SUCCESS: first_success,
    abi.Combine.CHAIN: chain,
    abi.Combine.HEADER_CHAIN: header_chain,
    abi.Combine.SINGLE_OWNER: single_owner,
    abi.Combine.ANY_ACCEPTS: any_accepts,
    abi.Combine.FAN_OUT: fan_out,
}
