"""The runtime's interface to the families built on it: the pipeline, the scheduler, tools, sessions.

A :class:`Runtime` belongs to one :class:`~pluginkit.PluginManager` (``manager.runtime``). Families ask it for a
method's plan, count their calls in flight, report a plugin's crash, find the owner of a provider, and run a
coroutine on its loop — through these named calls, never through the manager's private attributes.
"""

from __future__ import annotations

import enum
import itertools
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from pluginkit import abi
from pluginkit.errors import PluginKitError
from pluginkit.redaction import redact_text
from pluginkit.runtime import _escapes
from pluginkit.runtime._logging import describe, log_failure
from pluginkit.runtime._loop import LoopThread
from pluginkit.runtime._plan import Failed, Impl, Plan
from pluginkit.runtime._plugin import PluginRecord, PluginState
from pluginkit.runtime._registration import route_key
from pluginkit.runtime._runners import prepare
from pluginkit.runtime._threads import Watchdog

if TYPE_CHECKING:
    from pluginkit.runtime._host import HostServices
    from pluginkit.runtime._manager import PluginManager

__all__ = ["Runtime"]

log = logging.getLogger("pluginkit")
#: Bound of a plan's owner cache (distinct provider keys remembered per plan).
MAX_OWNER_KEYS = 256
#: Methods the manager calls itself, when a plugin loads, is reconfigured or stops: not callable through ``call``
#: or ``invoke`` (a client could otherwise re-register every plugin with settings of its own).
LIFECYCLE = frozenset({"plugin.register", "plugin.reconfigure", "plugin.shutdown"})


class Default(enum.Enum):
    """The type of :data:`DEFAULT`."""

    TOKEN = enum.auto()


#: "The method's own time limit" (as configured), where ``None`` would mean "no limit".
DEFAULT = Default.TOKEN


class Runtime:
    """Plans, call accounting, crash reports, owners and the loop thread of one manager."""

    __slots__ = ("__weakref__", "_manager", "finished", "host", "loop", "plans", "started", "watchdog")

    def __init__(self, manager: PluginManager, host: HostServices) -> None:
        self._manager = manager
        #: The host callbacks (``host.*``) plugins reach through their context.
        self.host = host
        #: Where synchronous callers run ``async def`` hookimpls.
        self.loop = LoopThread()
        #: The current table of plans, method (or ``method@plugin``) → :class:`Plan`. It is replaced by a new dict
        #: whenever a plugin is registered, loaded, fused or reconfigured, and never edited in place except to add a
        #: plan: so ``table is runtime.plans`` tells a family whether what it derived from a table is current.
        self.plans: dict[str, Plan] = {}
        #: Calls started and finished, advanced by :meth:`begin` and :meth:`end`. A family that read
        #: :attr:`serving` for the current plan table may count with ``next(runtime.started)`` and
        #: ``next(runtime.finished)`` itself: C calls, where the two Python calls were ~0.8 us of a pipeline request.
        self.started = itertools.count()
        self.finished = itertools.count()
        #: Notices sync hooks running past their time limit (see :meth:`overran`).
        self.watchdog = Watchdog(self.overran)

    # -- plans -----------------------------------------------------------------------------------------------------
    def plan(self, method: str, only: str | None = None, *, timeout: float | Default | None = DEFAULT) -> Plan:
        """The plan of ``method`` (``only``: calling just that plugin, whatever the method's rule, or
        ``not_found``). Built on first use and kept until the plugins change. ``timeout`` replaces the time limit
        of the method and its configuration (``None``: no limit) — for a family whose limits are per call, as
        seed 003's are per service; each distinct limit is a plan of its own."""
        key = method if only is None else f"{method}@{only}"
        if timeout is not DEFAULT:
            key = f"{key}~{timeout}"
        plan = self.plans.get(key)
        if plan is not None:
            return plan
        if method in LIFECYCLE:
            raise PluginKitError(
                "invalid_method",
                f"{method} is a lifecycle method: the manager calls it when a plugin loads, is reconfigured or stops"
                " (hosts use PluginManager.load, reconfigure and shutdown)",
            )
        spec = abi.get(method)
        manager = self._manager
        with manager._lock:
            impls: list[tuple[tuple[int, int, str], Impl]] = []
            if spec.is_hook:
                for hookimpl in getattr(manager._pluggy.hook, spec.hook_name).get_hookimpls():
                    record = manager._records.get(hookimpl.plugin_name)
                    if record is None or record.state is not PluginState.ACTIVE:
                        continue
                    if only is not None and record.id != only:
                        continue
                    if spec.capability and spec.capability not in record.capabilities:
                        continue  # undeclared hooks are not called (reported at registration)
                    tier = 0 if hookimpl.tryfirst else 2 if hookimpl.trylast else 1
                    impls.append(((-record.priority, tier, record.id), Impl(record, hookimpl)))
            impls.sort(key=lambda pair: pair[0])
            config = manager.config
            limit = config.timeouts.get(method, spec.timeout) if timeout is DEFAULT else timeout
            plan = Plan(spec, [impl for _, impl in impls], limit, config.fuse.get(method, True))
            if only is not None and not plan.impls:
                raise PluginKitError("not_found", f"plugin {only!r} is not active or does not implement {method}")
            prepare(plan, pinned=only is not None)  # pinned: exactly that plugin answers
            self.watchdog.watch(plan)
            self.plans = {**self.plans, key: plan}
            return plan

    def invalidate(self) -> None:
        """Drop every plan (plugins changed): the next call of each method builds its plan again."""
        self.plans = {}

    def renew(self) -> None:
        """A new table holding the same plans: what families derived from the old one is derived again, for a
        change that is not the plugins' (the manager starts shutting down: :attr:`serving`)."""
        self.plans = dict(self.plans)

    def records(self) -> list[PluginRecord]:
        """Every plugin record, in call order (priority descending, then ID)."""
        manager = self._manager
        with manager._lock:
            return sorted(manager._records.values(), key=lambda r: (-r.priority, r.id))

    def record(self, plugin_id: str) -> PluginRecord:
        """One plugin's record; ``not_found`` when the manager does not know it."""
        record = self._manager._records.get(plugin_id)
        if record is None:
            raise PluginKitError("not_found", f"no plugin {plugin_id!r}")
        return record

    # -- calls in flight -------------------------------------------------------------------------------------------
    def begin(self, method: str) -> int:
        """Count one call of ``method`` in flight: refused (``plugin_unavailable``) while the manager shuts down;
        the first call of an unloaded manager loads it. A family running several plans for one request (the
        pipeline) counts the request once and then runs the plans directly. Returns the token :meth:`end` takes."""
        manager = self._manager
        if manager._closing or not manager._loaded:
            if manager._closing:
                raise PluginKitError("plugin_unavailable", f"the plugin manager is shutting down; {method} refused")
            manager.load()
        next(self.started)
        return _escapes.sigint_count

    def end(self, token: int | None = None) -> None:
        """The call counted by :meth:`begin` finished. With :meth:`begin`'s token, a real Ctrl-C that arrived
        during the call and that a plugin swallowed is raised again here."""
        next(self.finished)
        if token is not None and token != _escapes.sigint_count:
            _escapes.interrupted_since(token)

    @property
    def in_flight(self) -> int:
        """Calls currently running (approximate while calls start and finish)."""
        return _count(self.started) - _count(self.finished)

    @property
    def serving(self) -> bool:
        """Whether :meth:`begin` admits a call as it is: the manager is loaded and not shutting down. Every change
        of it replaces the plan table, so what a family read of it holds as long as the table it read with."""
        manager = self._manager
        return manager._loaded and not manager._closing

    # -- failures ----------------------------------------------------------------------------------------------------
    def crash(self, plan: Plan, impl: Impl, exc: BaseException) -> Failed:
        """An unexpected exception (or garbage answer) from a plugin: log it, fuse the plugin if the method's
        policy says so, and answer ``plugin_error`` naming the plugin and method."""
        record = impl.record
        method = plan.method.name
        log_failure(log, exc, "plugin %r failed in %s", record.id, method)
        if plan.fuse and record.state is PluginState.ACTIVE:
            with self._manager._lock:
                record.state = PluginState.FUSED
                record.reason = redact_text(f"{type(exc).__name__} in {method}: {exc}")[:500]
                self.plans = {}
        # the reason, not only the exception's type: "answered str, expected SchedulerPickResult" is what the
        # plugin's author needs, and the caller may be all they see (masked as a log line is, cut at 300 characters)
        return Failed(PluginKitError("plugin_error", f"plugin {record.id!r} failed in {method}: {describe(exc)[:300]}"))

    def overran(self, impl: Impl, plan: Plan, seconds: float) -> None:
        """The watchdog caught ``impl`` running ``seconds`` into a call past its time limit. That call cannot be
        interrupted; from now on the plugin's calls run in threads of its own, each bounded by its limit, so it
        neither blocks its callers past the limit nor stalls an event loop. It counts as a time-out."""
        record = impl.record
        log.error(
            "plugin %r has run %s for %.1fs, past its %gs limit: its calls now run in threads of their own",
            record.id, plan.method.name, seconds, plan.timeout or 0,
        )
        with self._manager._lock:
            record.overran = True
            record.update_isolation()
            self.plans = {}
        self.timed_out(plan, impl)

    def timed_out(self, plan: Plan, impl: Impl) -> None:
        """A plugin's call ran past its time limit: quarantine the plugin when that happened
        ``quarantine_timeouts`` times within ``quarantine_window`` seconds (``pluginkit.quarantine``), so that a
        plugin that keeps hanging stops costing every caller its whole time limit."""
        config = self._manager.config
        limit, record = config.quarantine_timeouts, impl.record
        if limit <= 0:
            return
        now = time.monotonic()
        with self._manager._lock:
            recent = [at for at in record.timeouts if now - at < config.quarantine_window]
            recent.append(now)
            record.timeouts = recent[-limit:]
            if len(recent) >= limit and record.state is PluginState.ACTIVE:
                record.state = PluginState.QUARANTINED
                record.reason = (
                    f"timed out {len(recent)} times within {config.quarantine_window:g}s (last in {plan.method.name})"
                )
                self.plans = {}
                log.error("plugin %r quarantined: %s", record.id, record.reason)

    # -- owners (the single-owner rule) ----------------------------------------------------------------------------
    def owner(self, plan: Plan, params: Any) -> Impl | None:
        """The plugin that answers ``params`` alone, by the method's owner rule (``priority``, ``provider``,
        ``flag``, ``route``); ``None`` when none does."""
        rule = plan.method.owner
        if rule == "priority" or plan.pinned:
            return plan.impls[0] if plan.impls else None
        if rule == "provider":
            key = getattr(params, "auth_provider", "") or getattr(params, "provider", "")
            try:
                return plan.owners[key]  # providers are few and repeat: one lookup per call after the first
            except KeyError:
                owner = self.provider_owner(plan, key.strip().lower())
                if len(plan.owners) < MAX_OWNER_KEYS:
                    plan.owners[key] = owner
                return owner
        if rule == "flag":
            wanted = set(params.triggered_flags)
            return next((i for i in plan.impls if wanted & i.record.flags), None)
        if rule == "route":
            route = route_key(params.method, params.path)
            return next((i for i in plan.impls if route in i.record.routes), None)
        raise PluginKitError("internal_error", f"unknown owner rule {rule!r}")

    @staticmethod
    def provider_owner(plan: Plan, key: str) -> Impl | None:
        """The first of ``plan``'s plugins whose ``<family>.identifier`` is the provider ``key``."""
        family = plan.method.family
        for impl in plan.impls:
            identifiers = impl.record.identifiers
            if identifiers.get(family) == key or (family == "model" and key in identifiers.values()):
                return impl
        return None

    @staticmethod
    def owner_miss(plan: Plan, params: Any) -> str:
        """Why no owner answered, for the ``not_handled`` message."""
        if plan.method.owner == "provider":
            key = getattr(params, "auth_provider", "") or getattr(params, "provider", "")
            return f"no plugin serves provider {key!r}"
        return "no plugin implements it"

    # -- the loop thread ---------------------------------------------------------------------------------------------
    def run_coroutine(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coro`` on the runtime's loop thread and wait for it (sync facades over async code)."""
        return self.loop.run(coro, timeout)


def _count(counter: itertools.count[int]) -> int:
    # itertools.count's repr is the only side-effect-free way to read it: "count(N)".
    return int(repr(counter)[6:-1])
