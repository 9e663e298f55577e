"""The host's side: every plugin's tools, listed, resolved and called safely (the seed's tool manager, in Python).

A :class:`ToolRegistry` sits on a :class:`~pluginkit.PluginManager`. It asks each tool plugin for its tools
(``tool.list``), resolves names — ``plugin_id.tool`` always reaches that plugin's tool; a bare name reaches the
highest-priority plugin offering it, and every such clash is reported instead of the seed's silent last-wins —
and calls them (``tool.call``): arguments are checked against the tool's schema before the tool runs, a deadline
really stops waiting (``async`` tools are cancelled; sync tools run in a worker thread when a deadline or an event
loop is involved), and whatever the tool does, the caller gets a result or a :class:`~pluginkit.PluginKitError`
with a catalogue code — never the tool's traceback.

Tools of a :class:`~pluginkit.tools.ToolSet` are called directly, without the generic hook dispatch: the set is
the plugin's own ``tool.call`` implementation, so the answer is the same, minus a few microseconds per call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable
from typing import Any, Self, cast

import attrs

from pluginkit import abi
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.runtime import InstalledPlugin, LoopThread, PluginManager, PluginRecord, PluginState
from pluginkit.tools._convert import arguments_object
from pluginkit.tools._names import Route, ToolConflict, ToolEntry, ToolPlugin, resolve, tool_problem, toolset_of
from pluginkit.tools._results import CallToolResult, FileContent, error_result
from pluginkit.tools._toolset import BoundTool, invalid_arguments
from pluginkit.tools._types import Tool, ToolCallRequest, ToolList
from pluginkit.tools._validate import Check, SchemaError, ValidationError, compile_schema

__all__ = ["DEFAULT_MAX_FILE_BYTES", "ToolConflict", "ToolEntry", "ToolPlugin", "ToolRegistry"]

log = logging.getLogger("pluginkit.tools")

#: Largest decoded file content a tool may return, unless the registry is given another limit.
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
#: Errors about reaching a tool, raised to the caller; every other failure is an ``isError`` result.
_RAISED = frozenset({"not_found", "plugin_unavailable", "timeout", "cancelled"})


@attrs.frozen
class _Snapshot:
    routes: dict[str, Route]
    entries: tuple[ToolEntry, ...]
    plugins: dict[str, ToolPlugin]
    records: dict[str, PluginRecord]
    conflicts: tuple[ToolConflict, ...]
    problems: tuple[str, ...]


class ToolRegistry:
    """Every loaded plugin's tools, and safe calls to them.

    ``manager`` is the host's :class:`~pluginkit.PluginManager`; without one the registry makes its own from
    ``config`` / ``search_path`` and shuts it down with itself. ``max_file_bytes`` bounds the decoded size of
    file content a tool may return. Safe to use from many threads and tasks: lookups read an immutable snapshot,
    rebuilt by :meth:`refresh` (and by :meth:`load` / :meth:`load_all`).
    """

    def __init__(
        self,
        manager: PluginManager | None = None,
        *,
        config: Any = None,
        search_path: list[str] | None = None,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self._owns_manager = manager is None
        self.manager = manager if manager is not None else PluginManager(config, search_path=search_path)
        self.max_file_bytes = max_file_bytes
        self._snap: _Snapshot | None = None
        self._routes: dict[str, Route] = {}
        self._lock = threading.RLock()
        self._loop = LoopThread()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    # -- discovery and loading (the seed's ScanPlugins / LoadPlugin / LoadAllPlugins) ------------------------
    def scan(self) -> list[InstalledPlugin]:
        """The installed plugins, found without importing any of them."""
        return list(self.manager.installed().plugins)

    def load(self, plugin_id: str) -> ToolPlugin:
        """Import and register one installed plugin (if it is not loaded yet) and return it with its tools.

        Loading one plugin means the host chose what to load: later calls do not load the others (use
        :meth:`load_all` for that). Raises ``not_found`` when no such plugin is installed or it offers no tools,
        ``plugin_unavailable`` when it failed to load (the reason says why).
        """
        self.manager.load_plugin(plugin_id)
        self.refresh()
        return self.get_plugin(plugin_id)

    def load_all(self) -> list[ToolPlugin]:
        """Load every selected installed plugin (a failure is recorded, the others load) and list the tool
        plugins."""
        self.manager.load()
        self.refresh()
        return self.list_plugins()

    def refresh(self) -> None:
        """Ask every active tool plugin for its tools again and rebuild the name table."""
        with self._lock:
            self._snap = self._build()
            self._routes = self._snap.routes

    def _snapshot(self) -> _Snapshot:
        snap = self._snap
        if snap is None:
            with self._lock:
                if self._snap is None:
                    self.manager.load()
                    self.refresh()
                snap = cast(_Snapshot, self._snap)
        return snap

    def _build(self) -> _Snapshot:
        manager = self.manager
        problems: list[str] = []
        plugins: dict[str, ToolPlugin] = {}
        records: dict[str, PluginRecord] = {}
        offered: list[tuple[PluginRecord, Tool, Check, BoundTool | None]] = []
        for info in manager.plugins():  # priority descending, then ID: the order names are resolved in
            if info.state is not PluginState.ACTIVE or "tool_list" not in info.hooks:
                continue
            if "tool_provider" not in info.capabilities:
                problems.append(f"{info.id}: implements tool.list without declaring tool_provider; not listed")
                continue
            try:
                listing = manager.call_plugin(info.id, "tool.list", t.Empty())
            except PluginKitError as exc:
                problems.append(f"{info.id}: tool.list failed: {exc}")
                continue
            record = manager.runtime.record(info.id)
            toolset = toolset_of(record)
            tools: list[Tool] = []
            for tool in cast(ToolList, listing).tools:
                problem = tool_problem(tool, tools)
                bound = toolset.get(tool.name) if toolset is not None and problem is None else None
                try:
                    validate = bound.validate if bound is not None else compile_schema(tool.input_schema or True)
                except SchemaError as exc:
                    problem = f"its input schema cannot be used: {exc}"
                if problem is not None:
                    problems.append(f"{info.id}: tool {tool.name!r} skipped: {problem}")
                    continue
                tools.append(tool)
                offered.append((record, tool, validate, bound))
            meta = info.metadata
            plugins[info.id] = ToolPlugin(
                id=info.id, name=meta.name, version=meta.version, author=meta.author,
                description=cast(ToolList, listing).description, state=info.state, tools=tuple(tools),
            )
            records[info.id] = record
        routes, entries, conflicts = resolve(offered)
        for conflict in conflicts:
            log.warning("%s", conflict)
        for problem in problems:
            log.warning("%s", problem)
        return _Snapshot(routes, entries, plugins, records, conflicts, tuple(problems))

    # -- lookups (the seed's GetPlugin / GetPluginByTool / ListPlugins / ListTools) -------------------------
    @property
    def conflicts(self) -> tuple[ToolConflict, ...]:
        """Tool names offered by more than one plugin, and who wins each."""
        return self._snapshot().conflicts

    @property
    def problems(self) -> tuple[str, ...]:
        """Tools or plugins left out of the table, and why (invalid names, schemas, failed listings)."""
        return self._snapshot().problems

    def get_plugin(self, plugin_id: str) -> ToolPlugin:
        """A tool plugin by ID; ``not_found`` when there is no such tool plugin, ``plugin_unavailable`` when it
        is not active (failed, fused, disabled, stopped)."""
        snap = self._snapshot()
        info = self.manager.plugin(plugin_id)
        if info.state is not PluginState.ACTIVE:
            reason = f": {info.reason}" if info.reason else ""
            raise PluginKitError("plugin_unavailable", f"plugin {plugin_id!r} is {info.state.value}{reason}")
        plugin = snap.plugins.get(plugin_id)
        if plugin is None:
            raise PluginKitError("not_found", f"plugin {plugin_id!r} offers no tools")
        return plugin

    def owner(self, tool_name: str) -> ToolPlugin:
        """The plugin a call of ``tool_name`` reaches (``not_found`` for an unknown tool)."""
        return self.get_plugin(self._route(tool_name).plugin_id)

    def tool(self, tool_name: str) -> ToolEntry:
        """The tool ``tool_name`` resolves to."""
        route = self._route(tool_name)
        return next(e for e in self._snapshot().entries if e.plugin_id == route.plugin_id and
                    e.tool.name == route.tool_name)

    def list_plugins(self) -> list[ToolPlugin]:
        """Every active tool plugin, in priority order."""
        snap = self._snapshot()
        return [
            p for p in snap.plugins.values() if snap.records[p.id].state is PluginState.ACTIVE
        ]

    def list_tools(self) -> list[ToolEntry]:
        """Every tool of every active tool plugin (duplicates included, each under the name that calls it)."""
        snap = self._snapshot()
        return [e for e in snap.entries if snap.records[e.plugin_id].state is PluginState.ACTIVE]

    def _route(self, name: str) -> Route:
        route = (self._routes if self._snap is not None else self._snapshot().routes).get(name)
        if route is None:
            raise PluginKitError("not_found", f"no tool named {name!r}")
        return route

    # -- calls (the seed's CallTool / CallToolWithStruct / CallToolWithContext) ------------------------------
    def call(
        self,
        name: str,
        arguments: Any = None,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> CallToolResult:
        """Call a tool and return its result.

        ``arguments`` is a mapping, JSON text, or a typed object (an attrs class or a dataclass, converted with
        cattrs). Arguments the schema refuses give an ``isError`` result naming the field and the rule, and the
        tool does not run; so does a tool that raises. ``timeout`` (seconds) and ``cancel`` (an event another
        thread may set) stop the wait: ``timeout`` / ``cancelled`` errors are raised, an ``async`` tool is
        cancelled, a sync tool (run in a worker thread when either is given) is abandoned. Without them a sync
        tool runs on the calling thread and an ``async`` one gets the ``tool.call`` time limit. Raises
        ``not_found`` for an unknown tool and ``plugin_unavailable`` when its plugin is not active.
        """
        route = self._routes.get(name) if self._snap is not None else None
        if route is None:
            route = self._route(name)
        args = cast(dict[str, Any], arguments) if arguments.__class__ is dict else arguments_object(arguments)
        try:
            route.validate(args)
        except ValidationError as exc:
            return invalid_arguments(route.tool_name, exc)
        bound = route.bound
        if bound is not None and timeout is None and cancel is None and not bound.is_async:
            record = route.record
            manager = self.manager
            if record.state is PluginState.ACTIVE:
                manager.runtime.begin("tool.call")
                try:
                    result = bound.run(args, record.ctx)
                finally:
                    manager.runtime.end()
                for item in result.content:
                    if item.__class__ is FileContent:
                        return self._checked(route, result)
                return result
        return self._call_waiting(route, args, timeout, cancel)

    def _call_waiting(
        self, route: Route, args: dict[str, Any], timeout: float | None, cancel: threading.Event | None
    ) -> CallToolResult:
        if cancel is not None and cancel.is_set():
            raise PluginKitError("cancelled", f"the call of tool {route.tool_name!r} was cancelled before it began")
        self._check_active(route)
        bound = route.bound
        if bound is None:
            request = ToolCallRequest(name=route.tool_name, arguments=args)
            if timeout is None and cancel is None:
                return self._checked(route, self._generic(route, request))
            future: concurrent.futures.Future[Any] = (
                self._submit_async(self._acall_generic(route, request)) if route.hook_async
                else self._submit(self._generic, route, request)
            )
            return self._checked(route, self._wait(future, route, timeout, cancel))
        manager = self.manager
        manager.runtime.begin("tool.call")
        try:
            ctx = route.record.ctx
            if bound.is_async:
                limit = self._default_timeout() if timeout is None else timeout
                future = self._submit_async(bound.run_async(args, ctx))
                return self._checked(route, self._wait(future, route, limit, cancel))
            future = self._submit(bound.run, args, ctx)
            return self._checked(route, self._wait(future, route, timeout, cancel))
        finally:
            manager.runtime.end()

    async def acall(self, name: str, arguments: Any = None, *, timeout: float | None = None) -> CallToolResult:
        """:meth:`call` for async hosts: ``async`` tools are awaited on the running loop, sync tools run in a
        worker thread so a slow one never blocks the loop; ``timeout`` (default: the ``tool.call`` time limit)
        stops the wait and cancels an ``async`` tool, and so does cancelling the calling task."""
        route = self._route(name)
        args = cast(dict[str, Any], arguments) if arguments.__class__ is dict else arguments_object(arguments)
        try:
            route.validate(args)
        except ValidationError as exc:
            return invalid_arguments(route.tool_name, exc)
        limit = self._default_timeout() if timeout is None else timeout
        self._check_active(route)
        bound = route.bound
        manager = self.manager
        if bound is None:
            request = ToolCallRequest(name=route.tool_name, arguments=args)
            work: Awaitable[CallToolResult] = (
                self._acall_generic(route, request) if route.hook_async
                else asyncio.to_thread(self._generic, route, request)
            )
            return self._checked(route, await self._await(work, route, limit))
        manager.runtime.begin("tool.call")
        try:
            ctx = route.record.ctx
            work = bound.run_async(args, ctx) if bound.is_async else asyncio.to_thread(bound.run, args, ctx)
            return self._checked(route, await self._await(work, route, limit))
        finally:
            manager.runtime.end()

    # -- pieces of a call -------------------------------------------------------------------------------------
    def _generic(self, route: Route, request: ToolCallRequest) -> CallToolResult:
        try:
            return cast(CallToolResult, self.manager.call_plugin(route.plugin_id, "tool.call", request))
        except PluginKitError as exc:
            return self._generic_error(route, exc)

    async def _acall_generic(self, route: Route, request: ToolCallRequest) -> CallToolResult:
        try:
            return cast(CallToolResult, await self.manager.acall_plugin(route.plugin_id, "tool.call", request))
        except PluginKitError as exc:
            return self._generic_error(route, exc)

    def _generic_error(self, route: Route, exc: PluginKitError) -> CallToolResult:
        """A plugin's ``tool.call`` failed: errors about reaching the tool are raised, the tool's own failure
        (``PluginError``, or ``plugin_error`` for a crash) becomes an ``isError`` result."""
        if exc.code in _RAISED:
            raise exc
        return error_result(exc.message, exc.code)

    def _check_active(self, route: Route) -> None:
        record = route.record
        if record.state is not PluginState.ACTIVE:
            reason = f": {record.reason}" if record.reason else ""
            raise PluginKitError(
                "plugin_unavailable",
                f"plugin {record.id!r}, which offers tool {route.tool_name!r}, is {record.state.value}{reason}",
            )

    def _checked(self, route: Route, result: Any) -> CallToolResult:
        """Refuse what must not reach the model: a non-result, file data that is not base64 or is too large."""
        if not isinstance(result, CallToolResult):
            return error_result(
                f"tool {route.tool_name!r} answered {type(result).__name__}, not a result", "plugin_error"
            )
        for item in result.content:
            if item.__class__ is FileContent:
                try:
                    item.check(self.max_file_bytes)
                except ValueError as exc:
                    log.warning("tool %r of plugin %r: %s", route.tool_name, route.plugin_id, exc)
                    return error_result(f"the result of tool {route.tool_name!r} was refused: {exc}", "invalid_result")
        return result

    def _default_timeout(self) -> float | None:
        return self.manager.config.timeouts.get("tool.call", abi.get("tool.call").timeout)

    def _submit(self, function: Any, *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``function`` in a worker thread with the caller's context variables (the request id logs carry)."""
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="pluginkit-tool")
                pool = self._pool
        return pool.submit(contextvars.copy_context().run, function, *args)

    def _submit_async(self, coro: Any) -> concurrent.futures.Future[Any]:
        """Run ``coro`` on the registry's event loop thread, with the caller's context variables."""
        loop = self._loop.loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise PluginKitError("internal_error", "a synchronous tool call was made from an async tool; use acall")
        return asyncio.run_coroutine_threadsafe(_with_context(contextvars.copy_context(), coro), loop)

    @staticmethod
    def _wait(
        future: concurrent.futures.Future[Any], route: Route, timeout: float | None, cancel: threading.Event | None
    ) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = remaining if cancel is None else (0.02 if remaining is None else min(remaining, 0.02))
            try:
                return future.result(step)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    raise PluginKitError("cancelled", f"the call of tool {route.tool_name!r} was cancelled") from None
                if deadline is not None and time.monotonic() >= deadline:
                    future.cancel()
                    raise _timeout(route, cast(float, timeout)) from None

    @staticmethod
    async def _await(work: Awaitable[CallToolResult], route: Route, limit: float | None) -> CallToolResult:
        try:
            return await asyncio.wait_for(work, limit)
        except TimeoutError:
            raise _timeout(route, cast(float, limit)) from None

    # -- lifecycle --------------------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the registry's worker threads and event loop; shut the manager down too when the registry made
        it. Sync tools still running in a worker thread are abandoned (Python cannot stop a thread)."""
        if self._owns_manager:
            self.manager.shutdown(timeout)
        self._loop.stop()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Self:
        self._snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


async def _with_context(context: contextvars.Context, coro: Any) -> Any:
    for var, value in context.items():
        var.set(value)
    return await coro


def _timeout(route: Route, seconds: float) -> PluginKitError:
    return PluginKitError("timeout", f"tool {route.tool_name!r} took longer than {seconds:g}s")


