"""``openai-http``: relay OpenAI Chat Completions requests to an OpenAI-compatible server.

Settings (``[plugins.openai-http]``):

* ``base_url`` (required) — the API root, e.g. ``https://api.openai.com/v1``; requests go to
  ``{base_url}/chat/completions``;
* ``api_key`` — sent as ``Authorization: Bearer <api_key>`` (no header without it, for local servers);
* ``provider`` — the provider key this executor serves, default ``openai-compatible``.

Requests go through the host's HTTP client (``host.http.do`` / ``host.http.do_stream``), so the host's timeouts
and proxy apply. A streamed answer is cut into SSE events and each is pushed to the host as one chunk, as soon as
it is complete. An HTTP error status becomes ``PluginError("upstream_error", …)`` carrying the status, retryable
for 429 and 5xx, with the upstream's ``Retry-After`` as ``retry_after`` (so the pipeline cools the credential
down for that long); an unreachable upstream is a retryable 502.

The executor hooks are ``async``: the host's HTTP client blocks, so each call runs in a worker thread and an
event-loop host keeps serving other requests meanwhile — and, for streams, delivers the events already pushed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pluginkit import ABI_VERSION, PluginContext, PluginError, PluginKitError, hookimpl, sse
from pluginkit import types as t
from pluginkit.formats import dump, error_message, load_object
from pluginkit.redaction import redact_text
from pluginkit_executors.streaming import deliver

__all__ = ["DEFAULT_PROVIDER", "PLUGINKIT_ABI"]

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"

DEFAULT_PROVIDER = "openai-compatible"
FORMAT = "openai"
#: Upstream headers that describe the upstream connection, not the answer: never relayed.
_NOT_RELAYED = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
    "upgrade", "content-length", "content-encoding", "date", "server", "set-cookie",
})


def _base_url(config: Mapping[str, Any]) -> str:
    base_url = str(config.get("base_url") or "").strip()
    if not base_url.lower().startswith(("http://", "https://")):
        raise PluginError("invalid_config", f"openai-http needs base_url = an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")


def _request(config: Mapping[str, Any], params: t.ExecutorRequest, *, stream: bool) -> t.HostHTTPRequest:
    """The upstream request: the payload with ``stream`` set for the call made (and the model when missing)."""
    body = load_object(params.payload, "the OpenAI request")
    body["stream"] = stream
    if not body.get("model") and params.model:
        body["model"] = params.model
    headers = {
        "Content-Type": ["application/json"],
        "Accept": ["text/event-stream" if stream else "application/json"],
    }
    api_key = str(config.get("api_key") or "").strip()
    if api_key:
        headers["Authorization"] = [f"Bearer {api_key}"]
    url = f"{_base_url(config)}/chat/completions"
    return t.HostHTTPRequest(method="POST", url=url, headers=headers, body=dump(body))


def _relayed(headers: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {name: list(values) for name, values in headers.items() if name.lower() not in _NOT_RELAYED}


def _retry_after(headers: Mapping[str, list[str]]) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); 0 when absent or unreadable."""
    value = next((v[0].strip() for k, v in headers.items() if k.lower() == "retry-after" and v), "")
    if not value:
        return 0.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _upstream_error(status: int, headers: Mapping[str, list[str]], body: bytes) -> PluginError:
    """The error for an HTTP error status, with the upstream's own message when it sent one."""
    detail = error_message(body)
    message = redact_text(f"upstream answered HTTP {status}: {detail[:500] or 'no body'}")
    retryable = status == 429 or status >= 500
    return PluginError(
        "upstream_error", message, retryable=retryable, http_status=status,
        retry_after=_retry_after(headers) if retryable else 0.0,
    )


def _unreachable(exc: PluginKitError) -> PluginError:
    """The host could not reach the upstream at all (refused, timed out, bad address): retryable, like a 502."""
    return PluginError("upstream_error", exc.message, retryable=True, http_status=502)


def _read(ctx: PluginContext, stream_id: str) -> Generator[bytes, None, None]:
    """The pieces of an upstream body as the host reads them; the upstream stream is closed however this ends."""
    ref = t.HostStreamRef(stream_id=stream_id)
    try:
        while True:
            read: t.HostStreamRead = ctx.host("host.http.stream_read", ref)
            if read.error:
                broke = f"upstream stream broke: {read.error}"
                raise PluginError("upstream_error", broke, retryable=True, http_status=502)
            if read.payload:
                yield read.payload
            if read.done:
                return
    finally:
        ctx.host("host.http.stream_close", ref)


def _events(pieces: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
    splitter = sse.Splitter()
    with contextlib.closing(pieces):
        for piece in pieces:
            yield from splitter.feed(piece)
    yield from splitter.flush()


@hookimpl
def plugin_register(params: t.LifecycleRequest) -> t.Registration:
    _base_url(params.config)  # refuse to load without a usable base_url, rather than fail every request
    # Declared settings and formats (an executor must name them); name, version, author and repository come from
    # pyproject.toml.
    return t.Registration(
        metadata=t.PluginMetadata(
            config_fields=[
                t.ConfigField(name="base_url", type="string", description="API root; requests go to /chat/completions"),
                t.ConfigField(name="api_key", type="string", description="Sent as Authorization: Bearer <api_key>"),
                t.ConfigField(name="provider", type="string", description=f"Provider key (default {DEFAULT_PROVIDER})"),
            ],
        ),
        capabilities=t.Capabilities(executor=True, executor_input_formats=[FORMAT], executor_output_formats=[FORMAT]),
    )


@hookimpl
def executor_identifier(ctx: PluginContext) -> t.Identifier:
    return t.Identifier(identifier=str(ctx.config.get("provider") or DEFAULT_PROVIDER))


def _execute(params: t.ExecutorRequest, ctx: PluginContext) -> t.ExecutorResponse:
    request = _request(ctx.config, params, stream=False)
    try:
        response = ctx.http(request.method, request.url, headers=request.headers, body=request.body)
    except PluginKitError as exc:
        raise _unreachable(exc) from None
    status = response.status_code or 200
    if status >= 400:
        raise _upstream_error(status, response.headers, response.body)
    return t.ExecutorResponse(payload=response.body, headers=_relayed(response.headers))


def _execute_stream(params: t.ExecutorRequest, ctx: PluginContext) -> t.ExecutorStreamResult:
    request = _request(ctx.config, params, stream=True)
    try:
        opened: t.HostHTTPStream = ctx.host("host.http.do_stream", request)
    except PluginKitError as exc:
        raise _unreachable(exc) from None
    status = opened.status_code or 200
    if status >= 400:
        raise _upstream_error(status, opened.headers, b"".join(_read(ctx, opened.stream_id)))
    return deliver(ctx, params.stream_id, _events(_read(ctx, opened.stream_id)), headers=_relayed(opened.headers))


@hookimpl
async def executor_execute(params: t.ExecutorRequest, ctx: PluginContext) -> t.ExecutorResponse:
    return await asyncio.to_thread(_execute, params, ctx)


@hookimpl
async def executor_execute_stream(params: t.ExecutorRequest, ctx: PluginContext) -> t.ExecutorStreamResult:
    return await asyncio.to_thread(_execute_stream, params, ctx)
