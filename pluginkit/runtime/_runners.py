"""How a plan is run: its runner for synchronous callers, and :func:`run_async` for the event loop.

:func:`prepare` gives a plan its rule (:mod:`pluginkit.runtime._rules`) and its ``runner``:

- with pluggy wrappers, a runner that wraps the rule as pluggy would (new-style ``wrapper`` and old-style
  ``hookwrapper``);
- with one plain synchronous plugin (most plans on the request path), a **solo runner**: it calls the hookimpl
  directly and returns a typed answer the rule would keep as it is; any other outcome goes to the rule itself,
  with the answer it already has (:data:`~pluginkit.runtime._rules.Call`), so how a rule ends is written once;
- otherwise the rule's synchronous form (``async def`` hookimpls then run on the runtime's loop thread).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

import attrs
import pluggy

from pluginkit import abi
from pluginkit.errors import PluginKitError
from pluginkit.runtime._calls import failure, settle_sync
from pluginkit.runtime._logging import current_request_id
from pluginkit.runtime._plan import Impl, NoteSink, P, Plan, note, set_field
from pluginkit.runtime._rules import ASYNC_RULES, SYNC_RULES

if TYPE_CHECKING:
    from pluginkit.runtime._runtime import Runtime

__all__ = ["prepare", "run_async", "solo"]

#: Which typed answers each rule returns exactly as one plugin gave them: ``body`` (a non-empty body),
#: ``authenticated``, ``nonzero`` (not the zero value) or ``typed`` (any); fan-out wraps its answer in a mapping.
_KEEPS = {
    abi.Combine.FIRST_SUCCESS: "nonzero",
    abi.Combine.CHAIN: "body",
    abi.Combine.HEADER_CHAIN: "body",
    abi.Combine.SINGLE_OWNER: "typed",
    abi.Combine.ANY_ACCEPTS: "authenticated",
    abi.Combine.FAN_OUT: "each",
}


def prepare(plan: Plan, *, pinned: bool = False) -> Plan:
    """Give ``plan`` its rule and runner; ``pinned``: its one plugin answers whatever the method's owner rule
    (``PluginManager.call_plugin``)."""
    combine = abi.Combine.SINGLE_OWNER if pinned else plan.method.combine
    plan.pinned = pinned
    plan.rule, plan.arule = SYNC_RULES[combine], ASYNC_RULES[combine]
    if plan.wrappers:
        plan.runner = _wrapped
    else:
        plan.runner = solo(plan) or chained(plan) or plan.rule
    plan.filled_runner = plan.runner
    if "host_callback_id" in attrs.fields_dict(plan.method.params):
        _give_callback_ids(plan)
    return plan


def _give_callback_ids(plan: Plan) -> None:
    """Wrap the runner and async rule of a method whose params carry ``host_callback_id``: each call's ID is the
    request it serves (the seed host opens a context per call so that host callbacks find their request; the
    request's ID is that context here, found without a registry). The caller's value is restored; params that
    already carry it (the pipeline's own) pass straight through."""
    runner, arule = plan.runner, plan.arule

    def run(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
        request_id = current_request_id.get()
        previous = params.host_callback_id
        if previous == request_id:
            return runner(plan, params, runtime, notes)
        params.host_callback_id = request_id
        try:
            return runner(plan, params, runtime, notes)
        finally:
            params.host_callback_id = previous

    async def arun(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
        request_id = current_request_id.get()
        previous = params.host_callback_id
        if previous == request_id:
            return await arule(plan, params, runtime, notes)
        params.host_callback_id = request_id
        try:
            return await arule(plan, params, runtime, notes)
        finally:
            params.host_callback_id = previous

    plan.runner, plan.arule = run, arun


async def run_async(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None = None) -> Any:
    """Run a plan on the running event loop: the combined result, or raise :class:`PluginKitError`.

    A plan whose hookimpls are all synchronous runs inline, without awaiting anything.
    """
    if plan.inline:
        return plan.runner(plan, params, runtime, notes)
    if plan.wrappers:
        gens = _enter_wrappers(plan, params, runtime)
        try:
            result = await plan.arule(plan, params, runtime, notes)
        except BaseException as exc:
            return _exit_wrappers(plan, runtime, gens, None, exc)
        return _exit_wrappers(plan, runtime, gens, result, None)
    return await plan.arule(plan, params, runtime, notes)


# -- solo runners --------------------------------------------------------------------------------------------------


def solo(plan: Plan) -> Callable[..., Any] | None:
    """The runner of a plan with one plain synchronous plugin, or ``None`` when the plan needs its rule's loop.

    For such a plan every rule comes down to: call the plugin; if it answered a typed result the rule keeps as it
    is, note it and return it. This runner does just that with everything bound in advance, and hands every other
    outcome (an exception, an untyped, empty or zero answer) to the rule, replaying the settled answer.
    """
    if len(plan.impls) != 1 or not plan.inline:
        return None
    combine = abi.Combine.SINGLE_OWNER if plan.pinned else plan.method.combine
    if combine is abi.Combine.SINGLE_OWNER and not plan.pinned and plan.method.owner != "priority":
        return None  # the owner depends on the params (provider, flag, route): the rule decides
    keeps = _KEEPS.get(combine)
    if keeps is None:
        return None
    if keeps == "typed" and plan.method.fallback is abi.Fallback.PASS_THROUGH:
        keeps = "body"  # a single owner's empty body passes the body through (thinking.apply), as the rule says
    if keeps == "nonzero" and [field.name for field in attrs.fields(plan.result_type)] == ["body"]:
        keeps = "body"  # not zero is a non-empty body (BodyResult): read it without the zero test's call
    rule = plan.rule
    impl = plan.impls[0]
    # The rule's ending reads the params' body (chains, pass-through fallbacks): kept as it was before the call and
    # put back before the rule runs, so a plugin that changed the object it was given changes no answer.
    keeps_body = (
        combine in (abi.Combine.CHAIN, abi.Combine.HEADER_CHAIN) or plan.method.fallback is abi.Fallback.PASS_THROUGH
    )
    call = impl.function if impl.mode == P else impl.start
    result_type: Any = plan.result_type
    is_zero, answered, empty = plan.is_zero, (impl.record.id, "answered"), (impl.record.id, "empty")
    by_body, by_auth, by_type = keeps == "body", keeps == "authenticated", keeps == "typed"

    def replay(settled: Any) -> Callable[..., Any]:
        return lambda plan, impl, params, runtime: settled

    if keeps == "each":  # a runner of its own: only fan-out wraps its answer, and run_solo's path must not test that
        plugin_id = impl.record.id

        def run_solo_each(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
            value: Any
            try:
                value = call(params)
            except BaseException as exc:  # settled below: only the host's own interrupts propagate
                return rule(plan, params, runtime, notes, replay(settle_sync(plan, impl, runtime, None, exc, params)))
            if value.__class__ is not result_type:
                return rule(plan, params, runtime, notes, replay(settle_sync(plan, impl, runtime, value, None)))
            if notes is not None:
                notes.append(empty if is_zero(value) else answered)
            return {plugin_id: value}

        return run_solo_each

    def run_solo(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
        value: Any
        body = params.body if keeps_body else None
        try:
            value = call(params)
        except BaseException as exc:  # settled below: only the host's own interrupts propagate
            if keeps_body:
                params.body = body
            return rule(plan, params, runtime, notes, replay(settle_sync(plan, impl, runtime, None, exc, params)))
        if value.__class__ is result_type:
            if by_type:
                if notes is not None:
                    notes.append(empty if is_zero(value) else answered)
                return value
            if value.body if by_body else value.authenticated if by_auth else not is_zero(value):
                if notes is not None:
                    notes.append(answered)
                return value
        if keeps_body:
            params.body = body
        return rule(plan, params, runtime, notes, replay(settle_sync(plan, impl, runtime, value, None)))

    return run_solo


def chained(plan: Plan) -> Callable[..., Any] | None:
    """The runner of a chain (``request.normalize`` …) of several plain synchronous plugins sharing read-only
    params, or ``None``: the rule's loop with the plugin call written out. Per plugin it costs ~90 ns where the
    rule's, calling :func:`~pluginkit.runtime._calls.call_sync`, costs ~250 (``benchmarks``, ``manager``, a
    chain of 100 plugins). Any answer but a typed one is settled as the rule settles it."""
    if plan.method.combine is not abi.Combine.CHAIN or plan.pinned or not plan.inline or plan.seal is None:
        return None
    if any(impl.mode != P for impl in plan.impls):
        return None
    seal, result_type = plan.seal, cast(Any, plan.result_type)
    steps: tuple[tuple[Impl, Callable[[Any], Any]], ...] = tuple((impl, impl.function) for impl in plan.impls)

    def run_chain(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
        body = params.body
        step: Any = seal(params)
        for impl, function in steps:
            answer: Any
            try:
                answer = function(step)
            except BaseException as exc:  # settled: only the host's own interrupts propagate
                answer = settle_sync(plan, impl, runtime, None, exc, step)
            else:
                if answer.__class__ is not result_type:
                    answer = settle_sync(plan, impl, runtime, answer, None)
            if notes is not None:
                note(notes, impl, answer, plan)
            if answer.__class__ is result_type:
                new = answer.body
                if new and new is not body:
                    body = new
                    set_field(step, "body", new)
        return result_type(body=body)

    return run_chain


# -- pluggy wrappers -------------------------------------------------------------------------------------------------


def _wrapped(plan: Plan, params: Any, runtime: Runtime, notes: NoteSink | None) -> Any:
    """The rule, inside the plan's wrappers (outermost first), as pluggy runs ``wrapper``/``hookwrapper`` impls."""
    gens = _enter_wrappers(plan, params, runtime)
    try:
        result = plan.rule(plan, params, runtime, notes)
    except BaseException as exc:
        return _exit_wrappers(plan, runtime, gens, None, exc)
    return _exit_wrappers(plan, runtime, gens, result, None)


def _enter_wrappers(plan: Plan, params: Any, runtime: Runtime) -> list[tuple[Impl, Generator[Any, Any, Any]]]:
    """Run each wrapper to its ``yield``. A wrapper that raises (anything) or does not yield is a crash of its
    plugin: the wrappers already entered are closed and the call fails with ``plugin_error``."""
    gens: list[tuple[Impl, Generator[Any, Any, Any]]] = []
    for impl in plan.wrappers:
        try:
            if impl.is_async:
                raise TypeError("wrappers must be plain generators")
            gen = impl.start(params)
            next(gen)
        except BaseException as exc:
            for _, entered in reversed(gens):
                entered.close()
            raise failure(plan, impl, runtime, exc).error from None
        gens.append((impl, gen))
    return gens


def _exit_wrappers(
    plan: Plan, runtime: Runtime, gens: list[tuple[Impl, Generator[Any, Any, Any]]], result: Any,
    exc: BaseException | None,
) -> Any:
    """Unwind wrappers innermost first, as pluggy does: new-style wrappers get the result (or the exception
    thrown in) and may replace it; old-style hookwrappers get a ``pluggy.Result``. An exception a wrapper raises
    (other than the one thrown into it, or a ``PluginKitError`` answer) is a crash of its plugin."""
    culprit: Impl | None = None
    for impl, gen in reversed(gens):
        try:
            if impl.kind == "hookwrapper":
                outcome = pluggy.Result(result, exc)
                try:
                    gen.send(outcome)
                except StopIteration:
                    pass
                else:
                    raise RuntimeError(f"hookwrapper of {impl.record.id!r} yielded twice")
                result, exc = outcome._result, outcome._exception
            elif exc is not None:
                result, exc = gen.throw(exc), None  # a wrapper that swallows the exception yields again
                raise RuntimeError(f"wrapper of {impl.record.id!r} yielded twice")
            else:
                gen.send(result)
                raise RuntimeError(f"wrapper of {impl.record.id!r} yielded twice")
        except StopIteration as stop:
            result, exc = stop.value, None
        except BaseException as raised:
            if raised is not exc:
                culprit = impl
            result, exc = None, raised
    if exc is not None:
        if culprit is not None and not isinstance(exc, PluginKitError):
            raise failure(plan, culprit, runtime, exc).error from None
        raise exc
    return result
