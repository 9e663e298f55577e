"""Calling a provider's services: unary, streamed and bidirectional, in the modes its manifest allows, within
the service's time limit; and a service as the request pipeline's executor.

A call looks its *route* up — the service's plan, checked once per plan table (the mode against the manifest, the
hook against the plugin) — instead of checking again: ~2 us of a ~6 us call (``benchmarks``, ``providers``).
"""

from __future__ import annotations

import itertools
import json
import logging
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pluginkit.errors import PluginKitError
from pluginkit.providers import _types as p
from pluginkit.providers._errors import from_text
from pluginkit.providers._executor import ProviderExecutor
from pluginkit.providers._manifest import ServiceDef
from pluginkit.providers._provider import Provider, ProviderStatus
from pluginkit.providers._types import ServiceCall
from pluginkit.runtime import Plan, PluginStream, Runtime, run_async
from pluginkit.wire._payload import builder

if TYPE_CHECKING:
    from pluginkit.pipeline import Pipeline
    from pluginkit.runtime import PluginContext, PluginManager

__all__ = ["ServiceCalls", "incoming"]

log = logging.getLogger("pluginkit.providers")
_CONN_IDS = itertools.count(1)


class _Route:
    """A service's plan, the plan table it was derived from, and whether the runtime admitted calls then."""

    __slots__ = ("admits", "plan", "provider", "table")

    def __init__(self, provider: Provider, table: dict[str, Plan], plan: Plan | None, admits: bool) -> None:
        self.provider, self.table, self.admits = provider, table, admits
        self.plan: Plan = plan  # type: ignore[assignment]  # set before the route is used


def _begin(runtime: Runtime, route: _Route, method: str) -> int | None:
    """Count the call in flight: ``runtime.begin`` written out for a route derived from the current table while the
    runtime admitted calls (as the pipeline does; no Ctrl-C token, ~0.2 us)."""
    if route.admits:
        next(runtime.started)
        return None
    return runtime.begin(method)


#: ``ServiceCall(service_name, auth_info, request)``, positionally (~0.15 us less than the keywords).
_service_call = builder(ServiceCall, "service_name", "auth_info", "request")


_UNARY, _STREAM = "provider.invoke_service", "provider.invoke_service_stream"
#: Routes kept at most (provider × service × mode: few; the bound guards against unbounded names).
_MAX_ROUTES = 1024


class ServiceCalls:
    """The service calls of :class:`~pluginkit.providers.ProviderHost` (a part of it, kept in a module of its own)."""

    manager: PluginManager
    _routes: dict[tuple[str, str, str], _Route]
    _connections: dict[str, _Connection]

    if TYPE_CHECKING:

        def provider(self, name: str) -> Provider: ...

        async def start(self, name: str, mode: str | None = None) -> Provider: ...

        def _implements(self, provider: Provider, method: str) -> bool: ...

        async def _call(self, provider: Provider, method: str, params: Any = None, **limit: Any) -> Any: ...

    def _service(self, provider: Provider, service: str) -> ServiceDef:
        definition = provider.manifest.service(service)
        if definition is None:
            raise PluginKitError(
                "service_not_found",
                f"provider {provider.name!r} offers no service {service!r} "
                f"(it offers {', '.join(provider.manifest.service_names())})",
            )
        return definition

    async def invoke(
        self, name: str, service: str, request: bytes | str | Mapping[str, Any] = b"", *, auth_info: str = ""
    ) -> bytes:
        """Call ``service`` of provider ``name`` with ``request`` (bytes, text, or a dict sent as JSON); the
        response body. The provider starts first if it is not running."""
        route = self._routed(name, service, _UNARY) or await self._route(name, service, _UNARY)
        params = _service_call(service, auth_info, _body(request))
        runtime = self.manager.runtime
        token = _begin(runtime, route, _UNARY)
        try:
            answer: p.ServiceResponse = await run_async(route.plan, params, runtime)
        finally:
            runtime.end(token)
        return answer.response

    async def invoke_stream(
        self, name: str, service: str, request: bytes | str | Mapping[str, Any] = b"", *, auth_info: str = ""
    ) -> PluginStream:
        """Open a streamed call of ``service``: ``async for chunk in await host.invoke_stream(...)`` reads its
        :class:`ServiceChunk`\\ s. The stream ends after a chunk with ``is_final``; a chunk with ``error`` ends it
        with that error (coded by its words, as the seed host does)."""
        route = self._routed(name, service, _STREAM) or await self._route(name, service, _STREAM)
        params = _service_call(service, auth_info, _body(request))
        runtime = self.manager.runtime
        token = _begin(runtime, route, _STREAM)
        try:
            stream: PluginStream = await run_async(route.plan, params, runtime)
        finally:
            runtime.end(token)
        stream.ends_at = _chunk_ends
        return stream

    def _routed(self, name: str, service: str, method: str) -> _Route | None:
        """The plan of a route checked already, for a provider running; ``None``: :meth:`_route` (a coroutine the
        common call does without, ~0.25 us)."""
        route = self._routes.get((name, service, method))
        if (
            route is not None and route.table is self.manager.runtime.plans
            and route.provider.status is ProviderStatus.RUNNING
        ):
            return route
        return None

    async def _route(self, name: str, service: str, method: str) -> _Route:
        """How ``method`` reaches ``service`` of provider ``name``: checked once per plan table (the mode against the
        manifest, the hook against the plugin), the provider started if it is not running. A call looks it up
        instead of checking again (~2 us of a ~5 us call)."""
        runtime = self.manager.runtime
        route = self._routes.get((name, service, method))
        if route is None or route.table is not runtime.plans:
            provider = self.provider(name)
            definition = self._service(provider, service)
            streaming = method == "provider.invoke_service_stream"
            if streaming:
                self._check_streams(provider, definition)
            route = _Route(provider, runtime.plans, None, runtime.serving)
        provider = route.provider
        if provider.status is not ProviderStatus.RUNNING:
            await self.start(name)
        if route.plan is None or route.table is not runtime.plans:
            definition = self._service(provider, service)
            limit = definition.time_limit(streaming=method == "provider.invoke_service_stream")
            route.plan = runtime.plan(method, provider.plugin_id, timeout=limit)  # not_found: no such hook
            route.table, route.admits = runtime.plans, runtime.serving
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            self._routes[(name, service, method)] = route
        return route

    def _check_streams(self, provider: Provider, definition: ServiceDef) -> None:
        service = definition.service_name
        if not definition.supports_streaming():
            raise PluginKitError(
                "streaming_not_supported", f"service {service} does not support streaming response ({provider.name})"
            )
        if not self._implements(provider, "provider.invoke_service_stream"):
            raise PluginKitError(
                "streaming_not_supported",
                f"plugin {provider.plugin_id!r} does not implement provider.invoke_service_stream, "
                f"but its manifest declares that {service} streams",
            )

    async def invoke_bidirectional(
        self,
        name: str,
        service: str,
        messages: AsyncIterable[p.BidiMessage] | Iterable[p.BidiMessage],
        *,
        auth_info: str = "",
        ws_conn_id: str = "",
    ) -> PluginStream:
        """Open a bidirectional call of ``service``: the plugin reads ``messages`` (each given ``ws_conn_id`` in
        its metadata) and what it sends back is read with ``async for``. ``ws_conn_id`` names the connection
        (one is made up when empty). A message with ``error`` ends the call with that error."""
        provider = self.provider(name)
        definition = self._service(provider, service)
        if not definition.supports_bidirectional():
            raise PluginKitError(
                "bidirectional_not_supported", f"service {service} does not support bidirectional streaming ({name})"
            )
        if not self._implements(provider, "provider.invoke_service_bidirectional"):
            raise PluginKitError(
                "bidirectional_not_supported",
                f"plugin {provider.plugin_id!r} does not implement provider.invoke_service_bidirectional",
            )
        if provider.status is not ProviderStatus.RUNNING:
            await self.start(name)
        conn_id = ws_conn_id or f"ws-{next(_CONN_IDS)}"
        if conn_id in self._connections:
            raise PluginKitError("already_exists", f"connection {conn_id!r} is open already")
        self._connections[conn_id] = _Connection(provider.plugin_id, conn_id, messages)
        try:
            stream: PluginStream = await self._call(
                provider, "provider.invoke_service_bidirectional",
                p.BidiCall(service_name=service, ws_conn_id=conn_id, auth_info=auth_info),
                timeout=definition.time_limit(streaming=True) if definition.timeout else None,
            )
        except BaseException:
            self._connections.pop(conn_id, None)
            raise
        stream.ends_at = _message_ends
        stream.on_close = lambda: self._connections.pop(conn_id, None)
        # a consumer that leaves without closing the stream (a bare `async for` it breaks out of) must not keep
        # the connection ID taken: it is released when the stream goes
        weakref.finalize(stream, self._connections.pop, conn_id, None)
        return stream

    def connection(self, plugin_id: str, ws_conn_id: str) -> AsyncIterator[p.BidiMessage]:
        """The incoming messages of connection ``ws_conn_id``, for the plugin serving it."""
        connection = self._connections.get(ws_conn_id)
        if connection is None or connection.plugin_id != plugin_id:
            raise PluginKitError("not_found", f"no open connection {ws_conn_id!r} for plugin {plugin_id!r}")
        return connection.messages()

    # -- the request pipeline -------------------------------------------------------------------------------------
    def serve(
        self,
        pipeline: Pipeline,
        name: str,
        *,
        key: str | None = None,
        service: str = "chat",
        formats: tuple[str, ...] = ("openai",),
    ) -> None:
        """Make ``service`` of provider ``name`` the executor for pipeline provider key ``key`` (default: the
        provider's name); its bodies are in ``formats`` (OpenAI chat completions by default)."""
        self._service(self.provider(name), service)
        executor = ProviderExecutor(self, name, service)
        pipeline.add_executor(key or name, executor, input_formats=formats, output_formats=formats)


def _body(request: bytes | str | Mapping[str, Any]) -> bytes:
    if isinstance(request, bytes | bytearray | memoryview):
        return bytes(request)
    if isinstance(request, str):
        return request.encode()
    return json.dumps(request, separators=(",", ":")).encode()


def _chunk_ends(chunk: p.ServiceChunk) -> bool:
    """Whether a service chunk is the last: ``is_final`` (kept), or ``error`` (raised, coded by its words)."""
    if chunk.error:
        raise from_text(chunk.error)
    return chunk.is_final


def _message_ends(message: p.BidiMessage) -> bool:
    if message.error:
        raise from_text(message.error)
    return False


class _Connection:
    """A bidirectional call's incoming side: the caller's messages, each a copy stamped with the connection ID.

    The caller's source is the client's: what it raises (a dropped connection) ends the incoming messages, as a
    closed socket does, and is kept in :attr:`error` — it is not the plugin's failure, and fuses nothing.
    """

    __slots__ = ("conn_id", "error", "plugin_id", "source")

    def __init__(
        self, plugin_id: str, conn_id: str, source: AsyncIterable[p.BidiMessage] | Iterable[p.BidiMessage]
    ) -> None:
        self.plugin_id, self.conn_id, self.source = plugin_id, conn_id, source
        self.error: Exception | None = None

    async def messages(self) -> AsyncIterator[p.BidiMessage]:
        source = self.source
        try:
            if isinstance(source, AsyncIterable):
                async for message in source:
                    yield self._stamped(message)
            else:
                for message in source:
                    yield self._stamped(message)
        except Exception as exc:  # the client's side failed: its messages end here
            self.error = exc
            log.info("connection %s: the client's messages ended with %s", self.conn_id, type(exc).__name__)

    def _stamped(self, message: p.BidiMessage) -> p.BidiMessage:
        return p.BidiMessage(
            data=message.data, message_type=message.message_type,
            metadata={**message.metadata, "ws_conn_id": self.conn_id}, error=message.error,
        )


def incoming(ctx: PluginContext, params: p.BidiCall) -> AsyncIterator[p.BidiMessage]:
    """Inside ``provider.invoke_service_bidirectional``: the messages the client sends (the seed's ``inStream``),
    read with ``async for``; it ends when the client is done."""
    host: ServiceCalls = ctx.service("providers")
    return host.connection(ctx.plugin_id, params.ws_conn_id)
