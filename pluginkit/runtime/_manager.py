"""The host's entry point: find, load, order and call plugins, and keep serving when one misbehaves."""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import importlib_metadata
import pluggy

from pluginkit import abi
from pluginkit import types as t
from pluginkit.abi._hookspecs import PROJECT, hookspecs
from pluginkit.errors import PluginKitError
from pluginkit.redaction import redact_text
from pluginkit.runtime._config import ManagerConfig, load_config
from pluginkit.runtime._context import PluginContext
from pluginkit.runtime._discovery import (
    ENTRY_POINT_GROUP,
    PLUGIN_ID,
    Conflict,
    InstalledPlugin,
    Scan,
    default_cache_dir,
    scan,
)
from pluginkit.runtime._escapes import belongs_to_host, watch_sigint
from pluginkit.runtime._host import HostServices
from pluginkit.runtime._logging import describe, log_failure
from pluginkit.runtime._loop import Escaped
from pluginkit.runtime._plan import Impl, NoteSink, Plan
from pluginkit.runtime._plugin import PluginInfo, PluginRecord, PluginState
from pluginkit.runtime._registration import reconfigure_plugin, register_plugin
from pluginkit.runtime._runners import run_async
from pluginkit.runtime._runtime import DEFAULT, Default, Runtime
from pluginkit.wire import Envelope

__all__ = ["PluginManager"]

log = logging.getLogger("pluginkit")


class PluginManager:
    """Discovers plugins, registers them, and runs ABI methods across them.

    >>> with PluginManager(entry_points=False) as manager:
    ...     manager.invoke("request.normalize", {"Body": "aGk="}).to_json()
    b'{"ok":true,"result":{"Body":"aGk="}}'

    ``config`` is a mapping or a path to a ``pluginkit.toml`` (see :mod:`pluginkit.runtime._config`); ``search_path``
    replaces ``sys.path`` for discovery; ``entry_points=False`` loads only plugins registered in code.
    Usable from many threads and asyncio tasks at once: the call path reads immutable snapshots.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        search_path: Sequence[str] | None = None,
        entry_points: bool = True,
        cache: bool = True,
        host: HostServices | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config: ManagerConfig = load_config(config, environ=environ)
        self.host = host or HostServices()
        #: What the families built on the manager (pipeline, scheduler, tools, sessions) use of it.
        self.runtime = Runtime(self, self.host)
        watch_sigint()  # a real Ctrl-C must stop the host even inside a plugin; a plugin's own must not
        self._search_path = list(search_path) if search_path is not None else None
        #: Whether :meth:`load` loads the installed plugins (entry points); ``False``: only those registered in code.
        self.entry_points = entry_points
        self._cache_dir = default_cache_dir() if cache else None
        self._pluggy = pluggy.PluginManager(PROJECT)
        self._pluggy.add_hookspecs(hookspecs())
        self._records: dict[str, PluginRecord] = {}
        self._lock = threading.RLock()
        self._closing = False
        self._loaded = False
        self.conflicts: tuple[Conflict, ...] = ()
        self._excluded: dict[str, str] = {}
        self.invalid_entry_points: tuple[tuple[str, str, str], ...] = ()

    # -- discovery and loading ------------------------------------------------------------------------------
    def installed(self) -> Scan:
        """The plugins installed on the search path, without importing any of them."""
        return scan(self._search_path, cache_dir=self._cache_dir)

    def load(self) -> Self:
        """Import and register every selected installed plugin (idempotent). A plugin that fails to import or
        register is recorded with the reason; every other plugin loads."""
        with self._lock:
            if self.entry_points:
                found = self.installed()
                self.conflicts, self.invalid_entry_points = found.conflicts, found.invalid
                for conflict in found.conflicts:
                    log.warning(
                        "plugin ID %r is offered by %s and %s; using %s (first on the search path)",
                        conflict.id, conflict.winner.distribution, conflict.loser.distribution,
                        conflict.winner.distribution,
                    )
                for installed in found.plugins:
                    if installed.id not in self._records:
                        self._load_entry_point(installed)
            self._loaded = True
            self.runtime.invalidate()
        return self

    def load_plugin(self, plugin_id: str) -> PluginInfo:
        """Import and register one installed plugin — selection, ABI check and failure isolation as in
        :meth:`load` — without loading the others: the host chose what to load, so later calls do not load the
        rest. Raises ``not_found`` when no installed plugin has that ID."""
        with self._lock:
            if plugin_id not in self._records:
                found = next((p for p in self.installed().plugins if p.id == plugin_id), None)
                if found is None:
                    raise PluginKitError("not_found", f"no installed plugin {plugin_id!r}")
                self._load_entry_point(found)
                self._loaded = True
                self.runtime.invalidate()
            return self._records[plugin_id].snapshot()

    def refuse(self, plugin_id: str, reason: str, *, source: str = "code", location: str = "") -> PluginInfo:
        """Record a plugin the host found but could not load (a native library refused, say): it is listed,
        ``failed`` with ``reason``, and never called."""
        with self._lock:
            if plugin_id in self._records and self._records[plugin_id].state is not PluginState.STOPPED:
                raise PluginKitError("invalid_request", f"a plugin with ID {plugin_id!r} is already registered")
            record = PluginRecord(id=plugin_id, source=source, entry_point=location)
            self._records[plugin_id] = record
            self._fail(record, "plugin_unavailable", reason)
            self.runtime.invalidate()
            return record.snapshot()

    def exclude(self, plugin_id: str, reason: str) -> None:
        """Leave the installed plugin ``plugin_id`` out, for ``reason``: :meth:`load` does not import it, and if it
        is active already it stops being called. Its state is ``failed`` with the reason, as for a plugin that
        failed to load. For families that judge an installed plugin by what it ships before it is imported (two
        providers of one name, seed 003)."""
        with self._lock:
            self._excluded[plugin_id] = reason
            record = self._records.get(plugin_id)
            if record is not None and record.state is PluginState.ACTIVE:
                self._fail(record, "plugin_unavailable", reason)
                self.runtime.invalidate()

    def _load_entry_point(self, installed: InstalledPlugin) -> None:
        settings = self.config.for_plugin(installed.id)
        record = PluginRecord(
            id=installed.id, source="entry-point", distribution=installed.distribution, version=installed.version,
            entry_point=installed.value, priority=settings.priority, threaded=settings.threaded,
            settings=dict(settings.settings),
        )
        self._records[record.id] = record
        selected, why = self.config.selected(record.id)
        if not selected:
            record.state, record.reason = PluginState.DISABLED, why
            return
        excluded = self._excluded.get(record.id)
        if excluded is not None:
            self._fail(record, "plugin_unavailable", excluded)
            return
        started = time.perf_counter()
        try:
            obj = importlib_metadata.EntryPoint(installed.id, installed.value, ENTRY_POINT_GROUP).load()
        except BaseException as exc:  # a plugin's import must never take the host down
            if belongs_to_host(exc):
                raise
            record.import_seconds = time.perf_counter() - started
            self._fail(record, "plugin_error", f"import failed: {describe(exc)}", exc)
            return
        record.import_seconds = time.perf_counter() - started
        self._admit(record, obj, declared_abi=getattr(obj, "PLUGINKIT_ABI", None), require_abi=True)

    def register(
        self,
        obj: Any,
        plugin_id: str | None = None,
        *,
        priority: int | None = None,
        settings: Mapping[str, Any] | None = None,
        threaded: bool = False,
        source: str = "code",
        location: str = "",
    ) -> PluginInfo:
        """Register a module or object holding hookimpls, from code. ``plugin_id`` defaults to the object's
        ``PLUGINKIT_ID`` or ``__name__``. Returns the plugin's state (check ``.state`` / ``.reason``). A family that
        loads plugins of its own kind says so with ``source`` (``"native"``) and ``location`` (its file), which
        ``pluginkit list`` shows."""
        plugin_id = plugin_id or getattr(obj, "PLUGINKIT_ID", None) or getattr(obj, "__name__", None)
        if not isinstance(plugin_id, str) or not PLUGIN_ID.match(plugin_id):
            raise PluginKitError("invalid_request", f"plugin ID {plugin_id!r} must match {PLUGIN_ID.pattern}")
        with self._lock:
            if plugin_id in self._records and self._records[plugin_id].state is not PluginState.STOPPED:
                raise PluginKitError("invalid_request", f"a plugin with ID {plugin_id!r} is already registered")
            configured = self.config.for_plugin(plugin_id)
            record = PluginRecord(
                id=plugin_id, source=source, priority=configured.priority if priority is None else priority,
                threaded=threaded or configured.threaded, entry_point=location,
                settings=dict(configured.settings if settings is None else settings),
            )
            self._records[plugin_id] = record
            selected, why = self.config.selected(plugin_id, installed=False)
            if not selected:
                record.state, record.reason = PluginState.DISABLED, why
                record.obj = obj  # kept: a reconfigure that enables it admits it then
            else:
                self._admit(record, obj, declared_abi=getattr(obj, "PLUGINKIT_ABI", abi.ABI_VERSION), require_abi=False)
            self.runtime.invalidate()
            return record.snapshot()

    def _admit(self, record: PluginRecord, obj: Any, *, declared_abi: Any, require_abi: bool) -> None:
        """ABI check, pluggy registration, ``plugin.register`` and its validation."""
        record.obj = obj
        major = _abi_major(declared_abi)
        record.abi_version = "" if declared_abi is None else str(declared_abi)
        origin = f"{record.distribution} {record.version}".strip() if record.distribution else "registered in code"
        if major is None:
            self._fail(
                record, "abi_mismatch",
                f"plugin {record.id!r} ({origin}) does not declare "
                f"PLUGINKIT_ABI; this host speaks ABI {abi.ABI_VERSION}",
            )
            return
        if major != abi.ABI_VERSION:
            self._fail(
                record, "abi_mismatch",
                f"plugin {record.id!r} ({origin}) was written for ABI "
                f"{declared_abi}; this host speaks ABI {abi.ABI_VERSION}",
            )
            return
        record.ctx = PluginContext(record.id, record.settings, self.host)
        try:
            self._pluggy.register(obj, name=record.id)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self._fail(record, "plugin_error", f"invalid hookimpls: {exc}")
            return
        record.hooks = frozenset(caller.name for caller in self._pluggy.get_hookcallers(obj) or ())
        unknown = [name for name in record.hooks if abi.METHODS.by_hook(name) is None]
        if unknown:
            named = ", ".join(map(_guess, sorted(unknown)))
            record.problems.append(f"implements hooks the ABI does not define: {named}")
        try:
            register_plugin(self, record)
        except PluginKitError as exc:
            self._pluggy.unregister(obj)
            if exc.code == "invalid_config" and not record.settings:
                # installed but not configured yet (no settings at all): a state to show, not an error to print on
                # every command; settings that are given and wrong stay a failure
                record.state, record.reason = PluginState.DISABLED, redact_text(f"not configured: {exc.message}")
                log.info("plugin %r is not configured: %s", record.id, exc.message)
                return
            self._fail(record, exc.code, exc.message)
            return
        except Exception as exc:
            self._pluggy.unregister(obj)
            self._fail(record, "plugin_error", f"plugin.register raised {describe(exc)}", exc)
            return
        record.state, record.reason = PluginState.ACTIVE, ""
        for problem in record.problems:  # loaded, but something is probably not what its author meant
            log.warning("plugin %r: %s", record.id, problem)

    def _fail(self, record: PluginRecord, code: str, message: str, exc: BaseException | None = None) -> None:
        message = redact_text(message)
        record.state, record.reason = PluginState.FAILED, f"{code}: {message}"
        if exc is None:
            log.error("plugin %r not loaded: %s", record.id, message)
        else:
            log_failure(log, exc, "plugin %r not loaded: %s", record.id, message)

    def call_hook(self, record: PluginRecord, hook: str, params: Any) -> Any:
        """Call one plugin's hookimpl directly (registration-time calls); async hookimpls are awaited on the
        manager's loop. Raises what the plugin raised; a ``BaseException`` that is not the host's own (see
        :mod:`pluginkit.runtime._escapes`) arrives wrapped in an ``Exception`` (``Escaped``), so callers contain it."""
        impl = next(
            (Impl(record, hi) for hi in getattr(self._pluggy.hook, hook).get_hookimpls() if hi.plugin is record.obj),
            None,
        )
        if impl is None:
            raise PluginKitError("not_handled", f"plugin {record.id!r} does not implement {hook}")
        try:
            value = impl.start(params)
            if impl.is_async or asyncio.iscoroutine(value):
                method = abi.METHODS.by_hook(hook)
                value = self.runtime.run_coroutine(value, method.timeout if method else None)
        except Exception:
            raise
        except BaseException as exc:
            if belongs_to_host(exc):
                raise
            raise Escaped(exc) from exc
        return value

    # -- listing --------------------------------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        """Every plugin the manager knows, in call order (priority descending, then ID)."""
        with self._lock:
            records = sorted(self._records.values(), key=lambda r: (-r.priority, r.id))
            return [r.snapshot() for r in records]

    def plugin(self, plugin_id: str) -> PluginInfo:
        record = self._records.get(plugin_id)
        if record is None:
            raise PluginKitError("not_found", f"no plugin {plugin_id!r}")
        return record.snapshot()

    # -- calling --------------------------------------------------------------------------------------------
    def call(self, method: str, params: Any = None, *, notes: NoteSink | None = None) -> Any:
        """Run ``method`` and return its typed result; failures raise :class:`~pluginkit.PluginKitError`.

        ``params`` is the typed params object, a JSON-like dict or JSON text. ``notes``, when given, receives
        ``(plugin_id, outcome)`` for every plugin asked (what traces are built from).
        """
        runtime = self.runtime
        token = runtime.begin(method)
        try:
            plan = runtime.plans.get(method) or runtime.plan(method)
            if params.__class__ is not plan.method.params:
                params = plan.method.parse_params(params)
            elif plan.lone:  # a lone plugin gets the object itself: give it a copy, not the caller's
                params = plan.copy(params)
            return plan.runner(plan, params, runtime, notes)
        finally:
            runtime.end(token)

    async def acall(self, method: str, params: Any = None, *, notes: NoteSink | None = None) -> Any:
        """:meth:`call` on the running event loop: async hookimpls are awaited with their time limit."""
        runtime = self.runtime
        token = runtime.begin(method)
        try:
            plan = runtime.plans.get(method) or runtime.plan(method)
            if params.__class__ is not plan.method.params:
                params = plan.method.parse_params(params)
            elif plan.lone:  # as in call: the caller's object is never handed to a plugin
                params = plan.copy(params)
            if plan.inline:  # what run_async would do first, without creating its coroutine
                return plan.runner(plan, params, runtime, notes)
            return await run_async(plan, params, runtime, notes)
        finally:
            runtime.end(token)

    def call_plugin(
        self, plugin_id: str, method: str, params: Any = None, *, timeout: float | Default | None = DEFAULT
    ) -> Any:
        """Run ``method`` on one plugin only — its error is the answer, time limits and fusing apply as usual.

        For families that route to a plugin themselves (a tool's owner, a chosen session store). Raises
        ``not_found`` when the plugin is not active or does not implement the method. ``timeout`` replaces the
        method's time limit for this call (``None``: none).
        """
        runtime = self.runtime
        token = runtime.begin(method)
        try:
            plan = runtime.plan(method, plugin_id, timeout=timeout)
            return plan.runner(plan, _own(plan, params), runtime, None)
        finally:
            runtime.end(token)

    async def acall_plugin(
        self, plugin_id: str, method: str, params: Any = None, *, timeout: float | Default | None = DEFAULT
    ) -> Any:
        """:meth:`call_plugin` on the running event loop."""
        runtime = self.runtime
        token = runtime.begin(method)
        try:
            plan = runtime.plan(method, plugin_id, timeout=timeout)
            return await run_async(plan, _own(plan, params), runtime)
        finally:
            runtime.end(token)

    def invoke(self, method: str, params: Any = None) -> Envelope[Any]:
        """Run any ABI method by its dotted name; the answer is always an :class:`~pluginkit.Envelope`.

        A method name that is not a non-empty string answers ``invalid_method``; so do the lifecycle methods
        (``plugin.register``, ``plugin.reconfigure``, ``plugin.shutdown``), which only the manager calls.
        """
        if method.__class__ is not str or not method:
            return _invalid_method(method)
        try:
            return Envelope.success(self.call(method, params))
        except PluginKitError as exc:
            return Envelope.from_exception(exc)
        except Exception as exc:  # a bug in pluginkit itself must still answer with an envelope
            log.exception("pluginkit failed inside %s", method)
            return Envelope.failure("internal_error", f"{type(exc).__name__} inside {method!r}")

    async def ainvoke(self, method: str, params: Any = None) -> Envelope[Any]:
        """:meth:`invoke` on the running event loop."""
        if method.__class__ is not str or not method:
            return _invalid_method(method)
        try:
            return Envelope.success(await self.acall(method, params))
        except PluginKitError as exc:
            return Envelope.from_exception(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("pluginkit failed inside %s", method)
            return Envelope.failure("internal_error", f"{type(exc).__name__} inside {method!r}")

    def invoke_json(self, method: str, params: bytes | str) -> bytes:
        """JSON in, JSON envelope out (what ``pluginkit invoke`` prints)."""
        return self.invoke(method, params).to_json()

    # -- lifecycle ------------------------------------------------------------------------------------------
    def reconfigure(self, config: Mapping[str, Any] | str | os.PathLike[str] | None) -> list[PluginInfo]:
        """Apply a new configuration: priorities and settings change, ``plugin.reconfigure`` is called for
        active plugins, newly disabled plugins stop being called, newly enabled ones are loaded."""
        new = load_config(config)
        with self._lock:
            self.config = new
            for record in list(self._records.values()):  # a disabled entry-point plugin is dropped, to load anew
                configured = new.for_plugin(record.id)
                record.priority, record.threaded = configured.priority, configured.threaded
                record.update_isolation()
                selected, why = new.selected(record.id, installed=record.source == "entry-point")
                if record.state is PluginState.ACTIVE and not selected:
                    record.state, record.reason = PluginState.DISABLED, why
                    continue
                if record.state is PluginState.DISABLED and selected and record.obj is not None:
                    if self._pluggy.is_registered(record.obj):  # disabled by an earlier reconfigure: back in
                        record.state, record.reason = PluginState.ACTIVE, ""
                    elif record.source == "code":  # registered from code while disabled: admitted now
                        record.settings = dict(configured.settings)
                        declared = getattr(record.obj, "PLUGINKIT_ABI", abi.ABI_VERSION)
                        self._admit(record, record.obj, declared_abi=declared, require_abi=False)
                        continue
                if record.state is PluginState.ACTIVE:
                    record.settings = dict(configured.settings)
                    record.ctx = PluginContext(record.id, record.settings, self.host)
                    try:
                        reconfigure_plugin(self, record)
                    except PluginKitError as exc:
                        if exc.code == "invalid_registration":  # the seed host leaves the plugin out
                            self._fail(record, exc.code, exc.message)
                        else:
                            record.problems.append(f"plugin.reconfigure failed: {describe(exc)}")
                    except Exception as exc:
                        log_failure(log, exc, "plugin %r failed in plugin.reconfigure", record.id)
                        record.state, record.reason = PluginState.FUSED, f"{type(exc).__name__} in plugin.reconfigure"
                elif record.state is PluginState.DISABLED and selected and record.source == "entry-point":
                    del self._records[record.id]
            self.runtime.invalidate()
        if self.entry_points:
            self.load()
        return self.plugins()

    @property
    def in_flight(self) -> int:
        """Calls currently running (approximate while calls start and finish)."""
        return self.runtime.in_flight

    def shutdown(self, timeout: float = 10.0) -> None:
        """Refuse new calls, wait up to ``timeout`` seconds for in-flight calls, then call ``plugin.shutdown``
        on every active plugin (each with its own time limit) and close host resources. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self.runtime.renew()  # what families derived while the manager served (Runtime.serving) is stale
        deadline = time.monotonic() + timeout
        while self.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        if self.in_flight > 0:
            log.warning("shutting down with %d call(s) still running", self.in_flight)
        for record in self._records.values():
            if record.state is not PluginState.ACTIVE:
                continue
            if "plugin_shutdown" in record.hooks:
                try:
                    self.call_hook(record, "plugin_shutdown", t.Empty())
                except Exception as exc:
                    log_failure(log, exc, "plugin %r failed in plugin.shutdown", record.id)
            record.state, record.reason = PluginState.STOPPED, "manager shut down"
        self.host.close()
        self.runtime.watchdog.stop()
        for record in self._records.values():
            record.stop_threads()
        self.runtime.loop.stop()

    def __enter__(self) -> Self:
        return self.load()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.load)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.shutdown)


def _own(plan: Plan, params: Any) -> Any:
    """Params a plugin may change: parsed afresh from JSON-like input, or a copy of the caller's typed object."""
    if params.__class__ is plan.method.params:
        return plan.copy(params)
    return plan.method.parse_params(params)


def _invalid_method(method: object) -> Envelope[Any]:
    what = "empty" if method == "" else f"a {type(method).__name__}, not a string"
    return Envelope.failure("invalid_method", f"the method name is {what}")


def _abi_major(declared: Any) -> int | None:
    if isinstance(declared, bool):
        return None
    if isinstance(declared, int):
        return declared
    if isinstance(declared, str):
        head = declared.strip().split(".", 1)[0]
        return int(head) if head.isdigit() else None
    return None


def _guess(hook: str) -> str:
    """``hook``, with the ABI hook it most likely meant to be (a misspelling: ``scheduler_pik``)."""
    close = difflib.get_close_matches(hook, [m.hook_name for m in abi.METHODS.values() if m.is_hook], n=1, cutoff=0.75)
    return f"{hook} (did you mean {close[0]}?)" if close else hook
