"""Translator, normaliser, interceptor and thinking payloads."""

from __future__ import annotations

from attrs import Factory

from pluginkit.types._common import Headers, Metadata, callback_id_field
from pluginkit.types._models import ModelInfo
from pluginkit.wire._payload import payload

__all__ = [
    "BodyResult",
    "InterceptResult",
    "RequestInterceptRequest",
    "RequestTranslateRequest",
    "ResponseInterceptRequest",
    "ResponseTranslateRequest",
    "StreamChunkInterceptRequest",
    "StreamChunkInterceptResult",
    "ThinkingApplyRequest",
    "ThinkingConfig",
]


@payload
class RequestTranslateRequest:
    """Params of ``request.translate`` and ``request.normalize``: a request body in ``from_format`` to be
    rewritten for ``to_format``."""

    from_format: str = ""
    to_format: str = ""
    model: str = ""
    stream: bool = False
    body: bytes = b""


@payload
class ResponseTranslateRequest:
    """Params of ``response.translate``, ``response.normalize_before`` and ``response.normalize_after``."""

    from_format: str = ""
    to_format: str = ""
    model: str = ""
    stream: bool = False
    original_request: bytes = b""
    translated_request: bytes = b""
    body: bytes = b""


@payload
class BodyResult:
    """A rewritten body. An empty ``body`` means "no change" (chains) or "not mine" (first success)."""

    body: bytes = b""


@payload
class RequestInterceptRequest:
    """Params of ``request.intercept_before``: the client's request before a credential is picked."""

    source_format: str = ""
    model: str = ""
    requested_model: str = ""
    stream: bool = False
    headers: Headers = Factory(dict)
    body: bytes = b""
    metadata: Metadata = Factory(dict)


@payload
class ResponseInterceptRequest:
    """Params of ``response.intercept_after``: a whole response, in the client's format."""

    source_format: str = ""
    model: str = ""
    requested_model: str = ""
    stream: bool = False
    request_headers: Headers = Factory(dict)
    response_headers: Headers = Factory(dict)
    original_request: bytes = b""
    request_body: bytes = b""
    body: bytes = b""
    status_code: int = 0
    metadata: Metadata = Factory(dict)


@payload
class InterceptResult:
    """How an interceptor changes a message: headers named in ``clear_headers`` are removed, then each key of
    ``headers`` replaces all values of that header; a non-empty ``body`` replaces the body."""

    headers: Headers = Factory(dict)
    body: bytes = b""
    clear_headers: list[str] = Factory(list)


@payload
class StreamChunkInterceptRequest:
    """Params of ``response.intercept_stream_chunk``.

    ``chunk_index`` is -1 for the header call made before the first chunk (``body`` empty), then 0, 1, 2, …
    counting dropped chunks too. ``history_chunks`` holds chunks already delivered (bounded to 64 / 1 MiB).
    """

    source_format: str = ""
    model: str = ""
    requested_model: str = ""
    request_headers: Headers = Factory(dict)
    response_headers: Headers = Factory(dict)
    original_request: bytes = b""
    request_body: bytes = b""
    body: bytes = b""
    history_chunks: list[bytes] = Factory(list)
    chunk_index: int = 0
    metadata: Metadata = Factory(dict)


@payload
class StreamChunkInterceptResult:
    """As :class:`InterceptResult`; ``drop_chunk=True`` removes the chunk and ends the chain for it."""

    headers: Headers = Factory(dict)
    body: bytes = b""
    clear_headers: list[str] = Factory(list)
    drop_chunk: bool = False


#: Values of :attr:`ThinkingConfig.mode`.
THINKING_MODES = ("budget", "level", "none", "auto")


@payload
class ThinkingConfig:
    mode: str = ""
    budget: int = 0
    level: str = ""


@payload
class ThinkingApplyRequest:
    """Params of ``thinking.apply``: put a reasoning configuration into a provider-format body."""

    provider: str = ""
    model: ModelInfo = Factory(ModelInfo)
    config: ThinkingConfig = Factory(ThinkingConfig)
    body: bytes = b""
    host_callback_id: str = callback_id_field()
