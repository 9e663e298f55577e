"""Running one ABI method across the plugins that implement it.

Each combination rule of the table is written once, as a generator that yields ``(impl, params)`` "please call
this plugin" requests and receives each plugin's outcome. Two drivers run the generators: a synchronous one (async
hookimpls run on the manager's background event loop) and an asynchronous one (sync hookimpls run inline, or in a
worker thread for plugins configured ``threaded``). That is how plain and ``async def`` hookimpls mix on one hook —
pluggy alone would take a coroutine for a first result — while pluggy still validates the hookimpls, and its
``wrapper`` / ``hookwrapper`` impls wrap the whole call as they would in pluggy.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable, Generator
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from pluginkit import abi
from pluginkit.errors import PluginKitError
from pluginkit.runtime._plugin import PluginRecord
from pluginkit.wire._payload import copier, zero_test

if TYPE_CHECKING:
    from pluginkit.runtime._manager import PluginManager

__all__ = ["Impl", "NoteSink", "Plan", "run_async", "run_sync", "settle_sync"]

log = logging.getLogger("pluginkit")

# How a hookimpl takes its arguments.
_NONE, _P, _C, _PC, _CP = range(5)
_MODES = {(): _NONE, ("params",): _P, ("ctx",): _C, ("params", "ctx"): _PC, ("ctx", "params"): _CP}


class NoteSink(Protocol):
    """Where dispatch records what each plugin did, as ``(plugin_id, outcome)`` pairs in call order.

    A list does; so does a request's trace, whose entry list takes a stage's notes just before the stage's own
    entry (so the request path needs no list of its own per stage).
    """

    def append(self, note: tuple[str, str], /) -> None: ...


class Failed:
    """A plugin's call did not produce an answer; ``error`` says why (already logged, maybe fused)."""

    __slots__ = ("error",)

    def __init__(self, error: PluginKitError) -> None:
        self.error = error


#: A plugin answered ``None``: "nothing to say" (an empty answer).
EMPTY: Any = object()


class Impl:
    """One plugin's hookimpl for one method, ready to call."""

    __slots__ = ("function", "is_async", "kind", "mode", "record")

    def __init__(self, record: PluginRecord, hookimpl: pluggy.HookImpl) -> None:
        self.record = record
        self.function = hookimpl.function
        self.mode = _MODES.get(tuple(hookimpl.argnames), -1)
        if self.mode == -1:
            raise PluginKitError("plugin_error", f"{record.id}: hook arguments must be params and/or ctx")
        self.is_async = inspect.iscoroutinefunction(hookimpl.function)
        opts = hookimpl.opts
        self.kind = "wrapper" if opts.get("wrapper") else "hookwrapper" if opts.get("hookwrapper") else ""

    def start(self, params: Any) -> Any:
        """Call the function: its answer, or a coroutine for ``async def`` hookimpls."""
        mode = self.mode
        if mode == _P:
            return self.function(params)
        if mode == _PC:
            return self.function(params, self.record.ctx)
        if mode == _NONE:
            return self.function()
        if mode == _C:
            return self.function(self.record.ctx)
        return self.function(self.record.ctx, params)


class Plan:
    """Everything needed to run one method: its ordered impls and the pieces its rule uses."""

    __slots__ = (
        "all_sync", "copy", "fuse", "impls", "inline", "is_zero", "isolate", "method", "owners", "pinned",
        "result_type", "rule", "runner", "timeout", "wrappers",
    )

    def __init__(self, method: abi.Method, impls: list[Impl], timeout: float | None, fuse: bool) -> None:
        self.method = method
        self.impls = tuple(i for i in impls if not i.kind)
        self.wrappers = tuple(i for i in impls if i.kind)
        self.timeout = timeout
        self.fuse = fuse
        self.result_type = method.result
        self.is_zero = zero_test(method.result)
        self.copy: Callable[[Any], Any] = copier(method.params)
        # A lone plugin may get the caller's object; several plugins each get their own copy.
        self.isolate = len(self.impls) > 1
        self.rule = _RULES[method.combine]
        #: Set for ``call_plugin``: the one plugin in ``impls`` answers whatever the method's owner rule.
        self.pinned = False
        self.all_sync = not any(i.is_async for i in self.impls)
        #: Whether async callers may run the plan inline, without awaiting (all sync, no wrappers, not threaded).
        self.inline = self.all_sync and not self.wrappers and not any(i.record.threaded for i in self.impls)
        self.runner = self._pick_runner(method.combine)
        #: Owner key (a provider) → the impl that owns it, filled by ``PluginManager._owner``. A plan is replaced,
        #: never edited, when plugins change, so its answers cannot go stale.
        self.owners: dict[str, Impl | None] = {}

    def _pick_runner(self, combine: abi.Combine) -> Callable[..., Any]:
        """The synchronous runner: for one plain sync plugin its solo runner, else a plain-loop twin of the rule
        when every hookimpl is sync (the fast path), else the generator rule driven with async hookimpls on the
        manager's loop thread."""
        from pluginkit.runtime._fastrules import SYNC_RULES, solo

        fast = SYNC_RULES.get(combine)
        if fast is not None and self.all_sync and not self.wrappers:
            return solo(self) or fast
        return _generic_sync

    def pin(self) -> None:
        """Make the plan's single plugin answer whatever the method's rule (``PluginManager.call_plugin``)."""
        self.rule, self.pinned = _single_owner, True
        self.runner = self._pick_runner(abi.Combine.SINGLE_OWNER)


# --------------------------------------------------------------------------------------------------------------
# The rules. Each yields (impl, params) and receives the answer (a typed result, EMPTY or Failed).
# --------------------------------------------------------------------------------------------------------------

Rule = Generator[tuple[Impl, Any], Any, Any]


def _first_success(plan: Plan, params: Any, manager: PluginManager) -> Rule:
    first_error: Failed | None = None
    for impl in plan.impls:
        answer = yield impl, (plan.copy(params) if plan.isolate else params)
        if answer.__class__ is Failed:
            first_error = first_error or answer
        elif answer is not EMPTY and not plan.is_zero(answer):
            return answer
    if first_error is not None:
        raise first_error.error
    return _fallback(plan, params, "no plugin answered")


def _chain(plan: Plan, params: Any, manager: PluginManager) -> Rule:
    body = params.body
    for impl in plan.impls:
        step = plan.copy(params) if plan.isolate else params
        step.body = body
        answer = yield impl, step
        if answer.__class__ is not Failed and answer is not EMPTY and answer.body:
            body = answer.body
    return plan.result_type(body=body)


def headers_field(params: Any) -> str:
    """The headers an interceptor chain changes: the response's for response interceptors, else the request's."""
    return "response_headers" if hasattr(params, "response_headers") else "headers"


def compose_changes(
    headers: dict[str, list[str]], clear: list[str], answer: Any
) -> tuple[dict[str, list[str]], list[str]]:
    """Compose two header change sets (``clear_headers`` then ``headers``): the earlier one, then ``answer``'s.

    Applying the result to a message equals applying both in turn; header names compare case-insensitively.
    """
    dropped = {k.lower() for k in answer.clear_headers} | {k.lower() for k in answer.headers}
    merged = {k: v for k, v in headers.items() if k.lower() not in dropped}
    merged.update((k, list(v)) for k, v in answer.headers.items())
    known = {k.lower() for k in clear}
    return merged, [*clear, *(k for k in answer.clear_headers if k.lower() not in known)]


def _header_chain(plan: Plan, params: Any, manager: PluginManager) -> Rule:
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
        answer = yield impl, step
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


def copy_headers(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    """A copy of a header mapping that shares no list with it (a plain loop: on Python 3.11 a comprehension
    is a function call of its own, and headers are copied several times per request)."""
    copied = {}
    for name, values in headers.items():
        copied[name] = [*values]
    return copied


def merge_headers(
    headers: dict[str, list[str]], clear: list[str], replace: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The seed's merge: delete ``clear``, then each key of ``replace`` replaces all values of that header.
    Header names compare case-insensitively. Returns a new mapping; the inputs are not touched."""
    merged = dict(headers)
    for name in [*clear, *replace]:
        lowered = name.lower()
        for key in [k for k in merged if k.lower() == lowered]:
            del merged[key]
    for name, values in replace.items():
        merged[name] = list(values)
    return merged


def _single_owner(plan: Plan, params: Any, manager: PluginManager) -> Rule:
    owner = manager._owner(plan, params)
    if owner is None:
        return _fallback(plan, params, manager._owner_miss(plan, params))
    answer = yield owner, params
    if answer.__class__ is Failed:
        raise answer.error
    if answer is EMPTY:
        return _fallback(plan, params, f"plugin {owner.record.id!r} gave no answer")
    return answer


def _fan_out(plan: Plan, params: Any, manager: PluginManager) -> Rule:
    answers: dict[str, Any] = {}
    for impl in plan.impls:
        answer = yield impl, (plan.copy(params) if plan.isolate else params)
        if answer.__class__ is not Failed:
            answers[impl.record.id] = plan.result_type() if answer is EMPTY else answer
    return answers


def _any_accepts(plan: Plan, params: Any, manager: PluginManager) -> Rule:
    for impl in plan.impls:
        answer = yield impl, (plan.copy(params) if plan.isolate else params)
        if answer.__class__ is not Failed and answer is not EMPTY and answer.authenticated:
            return answer
    return plan.result_type()


def _host_rule(plan: Plan, params: Any, manager: PluginManager) -> Rule:
    return manager.host.handle(plan.method.name, params)
    yield  # pragma: no cover - makes this a generator like the others


def _fallback(plan: Plan, params: Any, why: str) -> Any:
    fallback = plan.method.fallback
    if fallback is abi.Fallback.ZERO:
        return plan.result_type()
    if fallback is abi.Fallback.PASS_THROUGH:
        return plan.result_type(body=params.body)
    raise PluginKitError("not_handled", f"{plan.method.name}: {why}")


_RULES: dict[abi.Combine, Callable[[Plan, Any, PluginManager], Rule]] = {
    abi.Combine.FIRST_SUCCESS: _first_success,
    abi.Combine.CHAIN: _chain,
    abi.Combine.HEADER_CHAIN: _header_chain,
    abi.Combine.SINGLE_OWNER: _single_owner,
    abi.Combine.FAN_OUT: _fan_out,
    abi.Combine.ANY_ACCEPTS: _any_accepts,
    abi.Combine.HOST: _host_rule,
}


# --------------------------------------------------------------------------------------------------------------
# Answers: typed results pass; None is empty; dicts are read as wire JSON; anything else is a plugin bug.
# --------------------------------------------------------------------------------------------------------------


def check_answer(plan: Plan, impl: Impl, value: Any, manager: PluginManager) -> Any:
    if value.__class__ is plan.result_type:
        return value
    if value is None:
        return EMPTY
    if isinstance(value, plan.result_type):
        return value
    if isinstance(value, dict):
        try:
            return plan.method.parse_result(value)
        except PluginKitError as exc:
            wrong = TypeError(f"answered a dict that is not a {plan.result_type.__name__}: {exc.message}")
            return manager._crash(plan, impl, wrong)
    return manager._crash(
        plan, impl, TypeError(f"answered {type(value).__name__}, expected {plan.result_type.__name__}")
    )


def _timeout_error(plan: Plan, impl: Impl) -> Failed:
    return Failed(
        PluginKitError("timeout", f"plugin {impl.record.id!r} took longer than {plan.timeout:g}s in {plan.method.name}")
    )


# --------------------------------------------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------------------------------------------


class LoopThread:
    """A private event loop on a daemon thread, where synchronous callers run ``async def`` hookimpls."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="pluginkit-async", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Any, timeout: float | None) -> Any:
        if self._thread is threading.current_thread():
            coro.close()
            raise PluginKitError(
                "internal_error", "a synchronous pluginkit call was made from an async hook; use ainvoke/acall"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self.loop())
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError from None

    def stop(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()


def note(notes: NoteSink, impl: Impl, answer: Any, plan: Plan) -> None:
    """Record who answered what, for traces: ``answered``, ``empty`` or ``error:<code>``."""
    if answer.__class__ is Failed:
        outcome = f"error:{answer.error.code}"
    elif answer is EMPTY or (answer.__class__ is plan.result_type and plan.is_zero(answer)):
        outcome = "empty"
    else:
        outcome = "answered"
    notes.append((impl.record.id, outcome))


def _call_sync(plan: Plan, impl: Impl, params: Any, manager: PluginManager) -> Any:
    try:
        value = impl.function(params) if impl.mode == _P else impl.start(params)  # the common signature, one call less
    except Exception as exc:
        return settle_sync(plan, impl, manager, None, exc)
    if value.__class__ is plan.result_type:  # the common case: a typed answer, nothing more to check
        return value
    return settle_sync(plan, impl, manager, value, None)


def settle_sync(plan: Plan, impl: Impl, manager: PluginManager, value: Any, error: Exception | None) -> Any:
    """What a synchronous call of a hookimpl comes to, from the value it returned or the exception it raised: the
    answer, an awaited coroutine's answer, or :class:`Failed`. :func:`_call_sync` and the hot loops that call
    ``impl.function`` themselves (one call less per chunk) come here when the answer is not simply a typed
    result."""
    try:
        if error is not None:
            raise error
        if impl.is_async or inspect.iscoroutine(value):
            value = manager._loop_thread.run(value, plan.timeout)
    except PluginKitError as exc:
        return Failed(exc)
    except TimeoutError:
        return _timeout_error(plan, impl)
    except Exception as exc:
        return manager._crash(plan, impl, exc)
    return check_answer(plan, impl, value, manager)


async def _call_async(plan: Plan, impl: Impl, params: Any, manager: PluginManager) -> Any:
    try:
        if impl.is_async:
            value = await asyncio.wait_for(impl.start(params), plan.timeout)
        elif impl.record.threaded:
            value = await asyncio.wait_for(asyncio.to_thread(impl.start, params), plan.timeout)
        else:
            value = impl.start(params)
        if inspect.iscoroutine(value):
            value = await asyncio.wait_for(value, plan.timeout)
    except PluginKitError as exc:
        return Failed(exc)
    except TimeoutError:
        return _timeout_error(plan, impl)
    except Exception as exc:
        return manager._crash(plan, impl, exc)
    return check_answer(plan, impl, value, manager)


def run_sync(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None = None) -> Any:
    """Run a method synchronously: the combined result, or raise :class:`PluginKitError`."""
    return plan.runner(plan, params, manager, notes)


def _generic_sync(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None) -> Any:
    if plan.wrappers:
        return _wrapped(plan, params, manager, lambda: _drive_sync(plan, params, manager, notes))
    return _drive_sync(plan, params, manager, notes)


def _drive_sync(plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None = None) -> Any:
    rule = plan.rule(plan, params, manager)
    try:
        impl, step = next(rule)
        while True:
            answer = _call_sync(plan, impl, step, manager)
            if notes is not None:
                note(notes, impl, answer, plan)
            impl, step = rule.send(answer)
    except StopIteration as done:
        return done.value


async def run_async(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None = None
) -> Any:
    """Run a method on the running event loop: the combined result, or raise :class:`PluginKitError`.

    A plan whose hookimpls are all synchronous runs on the sync fast path without awaiting anything.
    """
    if plan.inline:
        return plan.runner(plan, params, manager, notes)
    if plan.wrappers:
        gens = _enter_wrappers(plan, params)
        try:
            result = await _drive_async(plan, params, manager, notes)
        except BaseException as exc:
            return _exit_wrappers(gens, None, exc)
        return _exit_wrappers(gens, result, None)
    return await _drive_async(plan, params, manager, notes)


async def _drive_async(
    plan: Plan, params: Any, manager: PluginManager, notes: NoteSink | None = None
) -> Any:
    rule = plan.rule(plan, params, manager)
    try:
        impl, step = next(rule)
        while True:
            answer = await _call_async(plan, impl, step, manager)
            if notes is not None:
                note(notes, impl, answer, plan)
            impl, step = rule.send(answer)
    except StopIteration as done:
        return done.value


def _wrapped(plan: Plan, params: Any, manager: PluginManager, inner: Callable[[], Any]) -> Any:
    gens = _enter_wrappers(plan, params)
    try:
        result = inner()
    except BaseException as exc:
        return _exit_wrappers(gens, None, exc)
    return _exit_wrappers(gens, result, None)


def _enter_wrappers(plan: Plan, params: Any) -> list[tuple[Impl, Generator[Any, Any, Any]]]:
    gens = []
    for impl in plan.wrappers:
        if impl.is_async:
            raise PluginKitError("plugin_error", f"plugin {impl.record.id!r}: wrappers must be plain generators")
        gen = impl.start(params)
        next(gen)
        gens.append((impl, gen))
    return gens


def _exit_wrappers(gens: list[tuple[Impl, Generator[Any, Any, Any]]], result: Any, exc: BaseException | None) -> Any:
    """Unwind wrappers innermost first, as pluggy does: new-style wrappers get the result (or the exception
    thrown in) and may replace it; old-style hookwrappers get a ``pluggy.Result``."""
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
            result, exc = None, raised
    if exc is not None:
        raise exc
    return result
