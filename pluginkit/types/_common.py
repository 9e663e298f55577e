"""Types shared by several ABI families."""

from __future__ import annotations

from typing import Any, TypeAlias

from attrs import Factory

from pluginkit.wire._payload import payload, wire_field

__all__ = ["Empty", "HTTPResponse", "Headers", "Metadata", "Query", "callback_id_field"]


def callback_id_field() -> Any:
    """The ``host_callback_id`` of a call whose plugin may call the host back: a string, as in the seed host
    (CLIProxyAPI ``callback_contexts.go``), set by the manager for each call and empty otherwise."""
    return wire_field(
        default="", name="host_callback_id",
        doc="Set by the host for each call; pass it back in host.log / host.http.do to tie them to this call.",
    )

#: HTTP headers as the seed sends them: ``{"Content-Type": ["application/json"]}``.
Headers: TypeAlias = dict[str, list[str]]
#: URL query values, same shape as headers.
Query: TypeAlias = dict[str, list[str]]
#: Free-form metadata. Values that are not JSON are dropped on the wire instead of failing the call.
Metadata: TypeAlias = dict[str, Any]


@payload
class Empty:
    """No fields: the params of ``plugin.shutdown`` and the identifier methods, the result of fire-and-forget
    methods (``usage.handle``, ``host.log``, ``host.stream.*``). Its wire form is ``{}``."""


@payload
class HTTPResponse:
    """An HTTP answer (``executor.http_request``, ``management.handle``, ``host.http.do``).

    A ``status_code`` of 0 means 200, as in the seed.
    """

    status_code: int = 0
    headers: Headers = Factory(dict)
    body: bytes = b""
