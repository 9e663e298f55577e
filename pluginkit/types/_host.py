"""Payloads of the host callbacks (``host.*``): calls a plugin makes back into the host."""

from __future__ import annotations

from typing import Any

from attrs import Factory

from pluginkit.types._common import Headers
from pluginkit.wire._payload import payload, wire_field

__all__ = [
    "LOG_LEVELS",
    "HostHTTPRequest",
    "HostHTTPStream",
    "HostLog",
    "HostStreamClose",
    "HostStreamEmit",
    "HostStreamRead",
    "HostStreamRef",
]

#: Levels accepted by ``host.log`` (``warning`` is read as ``warn``; the default is ``debug``).
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error")


@payload(case="snake", unwrap="request")
class HostHTTPRequest:
    """Params of ``host.http.do`` / ``host.http.do_stream``: an HTTP request the host performs with its own
    timeouts and proxy settings. Accepted flat or wrapped in ``{"request": {...}}``."""

    http_client_id: str = ""
    host_callback_id: str = wire_field(default="", name="host_callback_id", doc="The calling hook's ID, if any.")
    method: str = ""
    url: str = ""
    headers: Headers = Factory(dict)
    body: bytes = b""


@payload(case="snake")
class HostHTTPStream:
    """Result of ``host.http.do_stream``: read the body with ``host.http.stream_read``."""

    status_code: int = 0
    headers: Headers = Factory(dict)
    stream_id: str = ""


@payload(case="snake")
class HostStreamRef:
    """Params of ``host.http.stream_read`` and ``host.http.stream_close``."""

    stream_id: str = ""


@payload(case="snake")
class HostStreamRead:
    """Up to 32 KiB of a streamed HTTP body; an ``error`` implies ``done``."""

    payload: bytes = b""
    error: str = ""
    done: bool = False


@payload(case="snake")
class HostStreamEmit:
    """Params of ``host.stream.emit``: push one chunk into an executor stream.

    ``headers`` is pluginkit's addition for an executor that emits from inside its call: the upstream response's
    headers, known before the first chunk, which the call would otherwise return only when the stream is over.
    Given with the first chunk they are the stream's headers from the start, as the seed host has the headers its
    executors return before it reads a chunk. A seed plugin never sends the field; empty means no change.
    """

    stream_id: str = ""
    payload: bytes = b""
    error: str = ""
    headers: Headers = Factory(dict)


@payload(case="snake")
class HostStreamClose:
    """Params of ``host.stream.close``: end an executor stream, with an error when ``error`` is not empty."""

    stream_id: str = ""
    error: str = ""


@payload(case="snake")
class HostLog:
    """Params of ``host.log``."""

    host_callback_id: str = wire_field(default="", name="host_callback_id", doc="The calling hook's ID, if any.")
    level: str = ""
    message: str = ""
    fields: dict[str, Any] = Factory(dict)
