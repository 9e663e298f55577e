"""A plan: everything needed to run one ABI method across the plugins that implement it, worked out once.

The runtime builds a :class:`Plan` per method (and per pinned plugin) when it is first called and keeps it until a
plugin is registered, fused or reconfigured; then the whole table of plans is replaced, never edited, which is
what lets callers hold a plan (or test a table's identity) without locks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

import pluggy

from pluginkit import abi
from pluginkit.errors import PluginKitError
from pluginkit.runtime._plugin import PluginRecord
from pluginkit.runtime._yields import PluginStream
from pluginkit.wire._payload import copier, sealer, zero_test

__all__ = ["EMPTY", "Failed", "Impl", "NoteSink", "Plan", "note", "set_field", "shared"]

# How a hookimpl takes its arguments.
NONE, P, C, PC, CP = range(5)
_MODES = {(): NONE, ("params",): P, ("ctx",): C, ("params", "ctx"): PC, ("ctx", "params"): CP}


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
        if mode == P:
            return self.function(params)
        if mode == PC:
            return self.function(params, self.record.ctx)
        if mode == NONE:
            return self.function()
        if mode == C:
            return self.function(self.record.ctx)
        return self.function(self.record.ctx, params)


class Plan:
    """One method's ordered hookimpls, the pieces its rule uses, and how to run it.

    ``rule`` and ``arule`` are the method's combination rule (sync and async forms, :mod:`pluginkit.runtime._rules`);
    ``runner`` is what synchronous callers and inline plans call: ``runner(plan, params, runtime, notes)``. They are
    set by :func:`pluginkit.runtime._runners.prepare`.
    """

    __slots__ = (
        "all_sync", "arule", "copy", "filled_runner", "fuse", "impls", "inline", "is_zero", "isolate", "lone",
        "method", "owners", "pinned", "result_type", "rule", "runner", "seal", "timeout", "wrappers",
    )

    rule: Callable[..., Any]
    arule: Callable[..., Any]
    runner: Callable[..., Any]
    #: ``runner`` for a caller that fills the params' ``host_callback_id`` with its request's ID itself (the
    #: pipeline): without the wrapper that would check it (a Python call per stage). ``runner`` for other methods.
    filled_runner: Callable[..., Any]

    def __init__(self, method: abi.Method, impls: list[Impl], timeout: float | None, fuse: bool) -> None:
        self.method = method
        self.impls = tuple(i for i in impls if not i.kind)
        self.wrappers = tuple(i for i in impls if i.kind)
        self.timeout = timeout
        self.fuse = fuse
        #: What a typed answer is an instance of: the method's result, or for a method that ``yields``, the stream
        #: (no answer a hookimpl returns is one, so each goes to ``check_answer``, which makes it one).
        self.result_type = PluginStream if method.yields else method.result
        self.is_zero = zero_test(method.result)
        self.copy: Callable[[Any], Any] = copier(method.params)
        # Several plugins each get their own copy; a lone plugin gets the object the call was made with, which
        # the manager's entry points copy when it is the caller's own (``lone``).
        self.isolate = len(self.impls) > 1
        self.lone = len(self.impls) == 1
        #: For several plugins and a params class of immutable fields only: one read-only copy they all share
        #: (see :func:`~pluginkit.wire._payload.sealer`), instead of a copy each.
        self.seal: Callable[[Any], Any] | None = sealer(method.params) if self.isolate else None
        #: Set for ``call_plugin``: the one plugin in ``impls`` answers whatever the method's owner rule.
        self.pinned = False
        self.all_sync = not any(i.is_async for i in self.impls)
        #: Whether async callers may run the plan inline, without awaiting (all sync, no wrappers, none isolated in
        #: threads of its own).
        self.inline = self.all_sync and not self.wrappers and not any(i.record.isolated for i in self.impls)
        #: Owner key (a provider) → the impl that owns it, filled by ``Runtime.owner``. A plan is replaced, never
        #: edited, when plugins change, so its answers cannot go stale.
        self.owners: dict[str, Impl | None] = {}


def shared(plan: Plan, params: Any) -> Any:
    """What every plugin of one call can be handed: the params themselves for one plugin (the manager's entry
    points copied them), one read-only copy for several when the class allows it, or ``None``: a copy each."""
    if not plan.isolate:
        return params
    seal = plan.seal
    return None if seal is None else seal(params)


#: Sets a field of a read-only (or any slotted) params object: how the host moves a chain's body along.
set_field = object.__setattr__


def note(notes: NoteSink, impl: Impl, answer: Any, plan: Plan) -> None:
    """Record who answered what, for traces: ``answered``, ``empty`` or ``error:<code>``."""
    if answer.__class__ is Failed:
        outcome = f"error:{answer.error.code}"
    elif answer is EMPTY or (answer.__class__ is plan.result_type and plan.is_zero(answer)):
        outcome = "empty"
    else:
        outcome = "answered"
    notes.append((impl.record.id, outcome))
