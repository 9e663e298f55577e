"""``executor.*`` payloads."""

from __future__ import annotations

from attrs import Factory

from pluginkit.types._common import Headers, Metadata, Query, callback_id_field
from pluginkit.wire._payload import payload, wire_field

__all__ = [
    "ExecutorHTTPRequest",
    "ExecutorRequest",
    "ExecutorResponse",
    "ExecutorStreamResult",
    "StreamChunk",
]


@payload
class ExecutorRequest:
    """Params of ``executor.execute``, ``executor.execute_stream`` and ``executor.count_tokens``.

    ``payload`` is the body already translated to ``source_format``, one of the executor's declared input
    formats; ``format`` is the output format the host expects back. ``original_request`` is the client's raw body.
    """

    auth_id: str = ""
    auth_provider: str = ""
    model: str = ""
    format: str = ""
    stream: bool = False
    alt: str = ""
    headers: Headers = Factory(dict)
    query: Query = Factory(dict)
    original_request: bytes = b""
    source_format: str = ""
    payload: bytes = b""
    metadata: Metadata = Factory(dict)
    storage_json: bytes = b""
    auth_metadata: Metadata = Factory(dict)
    auth_attributes: dict[str, str] = Factory(dict)
    #: Set for ``executor.execute_stream``: where ``host.stream.emit`` pushes chunks.
    stream_id: str = wire_field(default="", name="stream_id")
    host_callback_id: str = callback_id_field()


@payload
class ExecutorResponse:
    """Result of ``executor.execute`` and ``executor.count_tokens``."""

    payload: bytes = b""
    headers: Headers = Factory(dict)
    metadata: Metadata = Factory(dict)


@payload
class StreamChunk:
    """One piece of a streamed answer; a non-empty ``err`` ends the stream with that error."""

    payload: bytes = b""
    err: str = ""


@payload(case="snake")
class ExecutorStreamResult:
    """Result of ``executor.execute_stream``.

    Non-empty ``chunks`` are the whole stream; empty ``chunks`` mean the plugin pushes chunks with
    ``host.stream.emit`` and ends with ``host.stream.close``.
    """

    headers: Headers = Factory(dict)
    chunks: list[StreamChunk] = Factory(list)


@payload
class ExecutorHTTPRequest:
    """Params of ``executor.http_request``: a raw HTTP call made with a credential's authentication."""

    auth_id: str = ""
    auth_provider: str = ""
    method: str = ""
    url: str = ""
    headers: Headers = Factory(dict)
    body: bytes = b""
    storage_json: bytes = b""
    metadata: Metadata = Factory(dict)
    attributes: dict[str, str] = Factory(dict)
    host_callback_id: str = callback_id_field()
