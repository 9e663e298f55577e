"""What a hookimpl receives beside its params: the plugin's own view of the host."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pluginkit import abi
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.runtime._host import host_error
from pluginkit.runtime._logging import PluginLogger, current_request_id

if TYPE_CHECKING:
    from pluginkit.runtime._host import HostServices

__all__ = ["PluginContext", "current_request_id"]


class PluginContext:
    """Passed to every hookimpl that names a ``ctx`` parameter.

    It carries the calling plugin's identity, its settings and its logger, and reaches the host callbacks of the
    ABI (``host.log``, ``host.http.*``, ``host.stream.*``) — so a hookimpl needs no module-level state and no
    import of the host to talk to it.
    """

    __slots__ = ("_host", "config", "log", "plugin_id")

    def __init__(self, plugin_id: str, config: Mapping[str, Any], host: HostServices) -> None:
        self.plugin_id = plugin_id
        #: The plugin's own settings (its table of the configuration, without the host keys).
        self.config = config
        #: ``pluginkit.plugin.<id>``, with ``request_id`` attached and secret-looking values masked.
        logger = logging.getLogger(f"pluginkit.plugin.{plugin_id}")
        self.log: PluginLogger = PluginLogger(logger, {"plugin_id": plugin_id})
        self._host = host

    def __repr__(self) -> str:
        return f"PluginContext(plugin_id={self.plugin_id!r})"

    def host(self, method: str, params: Any = None) -> Any:
        """Call a host callback by its ABI name, with typed params or a JSON-like dict; returns the typed result.

        Raises :class:`~pluginkit.PluginKitError` (``host_call_failed``, ``invalid_request``) on failure.
        """
        spec = abi.get(method)
        if spec.is_hook:
            raise abi_error(method)
        return self._host.handle(method, spec.parse_params(params), self.plugin_id)

    def service(self, name: str) -> Any:
        """A family's host-side service (``pluginkit.messages`` attaches ``"messages"``), for that family's
        plugin-side helpers; ``host_call_failed`` when this host has none."""
        return self._host.service(name)

    def http(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, list[str] | str] | None = None,
        body: bytes = b"",
    ) -> t.HTTPResponse:
        """``host.http.do``: an HTTP request made by the host, with its timeouts and proxy settings."""
        normal = {k: [v] if isinstance(v, str) else list(v) for k, v in (headers or {}).items()}
        return self._host.http_do(t.HostHTTPRequest(method=method, url=url, headers=normal, body=body))

    def emit(
        self, stream_id: str, payload: bytes, error: str = "", *, headers: Mapping[str, list[str]] | None = None
    ) -> None:
        """``host.stream.emit``: push one chunk into the executor stream ``stream_id``. Never blocks.

        ``headers`` (with the first chunk) are the upstream response's headers, for an executor that emits from
        inside its call: without them the headers the call returns arrive only when the stream is over.
        """
        if payload.__class__ is not bytes and not isinstance(payload, bytes):  # what the params type would refuse
            raise PluginKitError("invalid_request", f"payload: expected bytes, not {type(payload).__name__}")
        # the lookup inline, not HostServices.stream_emit: no params object and one call less per chunk
        stream = self._host.streams.get(stream_id)
        if stream is None:
            raise host_error(f"no open stream {stream_id!r}")
        stream.emit(payload, error, dict(headers) if headers else None)

    def close_stream(self, stream_id: str, error: str = "") -> None:
        """``host.stream.close``: end the executor stream, with an error when ``error`` is not empty."""
        self._host.stream_close(t.HostStreamClose(stream_id=stream_id, error=error))


def abi_error(method: str) -> Exception:
    return PluginKitError("host_call_failed", f"{method} is a plugin hook, not a host callback")
