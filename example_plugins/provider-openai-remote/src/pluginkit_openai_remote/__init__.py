"""``openai-remote``: a remote AI-service provider (seed 003) for an OpenAI-compatible HTTP API.

A *remote* provider has no engine to install or start: the host reaches its services as soon as the plugin is
loaded, and the plugin's work is to authenticate and relay. This one serves two services, named with their
endpoints in ``plugin.yaml`` (the manifest the host reads without importing this module):

* ``chat`` — ``POST {base_url}/v1/chat/completions``, unary or streamed (one :class:`ServiceChunk` per SSE event,
  the SSE framing kept, so a request pipeline passes OpenAI's stream through as it is);
* ``embed`` — ``POST {base_url}/v1/embeddings``, unary.

Setting (``[plugins.openai-remote]``): ``base_url``, the API root without ``/v1`` (default
``https://api.openai.com``).

Credentials come through ``provider.set_auth`` (``api_key``, or ``api_key_file`` naming a file that holds the key,
so a key rotated on disk is picked up by ``provider.refresh_auth``). A caller may also give a key per call
(``ServiceCall.auth_info``: what ``ProviderHost.serve`` passes from the credential the pipeline's scheduler picked);
it wins over the stored one. The key never reaches a log line, an error message or a ``repr``: the upstream's own
words about a rejected key are dropped (OpenAI's quote the key), and any other upstream text has the key masked.

HTTP goes through the host (``ctx.http``, ``host.http.do_stream``), so the host's timeouts and proxy apply. The
host's HTTP client blocks, so every hook is ``async`` and runs its requests in a worker thread: the host's event
loop keeps serving other calls meanwhile.

One module, one set of credentials: a process serves one ``openai-remote`` provider, as the seed runs one plugin
process per provider. ``plugin.register`` starts from no credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pluginkit import ABI_VERSION, PluginContext, PluginError, PluginKitError, hookimpl, sse
from pluginkit import types as t
from pluginkit.formats import error_message
from pluginkit.providers import (
    AuthRequest,
    AuthResult,
    OperateStatus,
    ProviderError,
    ProviderManifest,
    ServiceCall,
    ServiceChunk,
    ServiceDef,
    ServiceResponse,
    load_manifest,
)
from pluginkit.redaction import REDACTED, redact_text

__all__ = ["DEFAULT_BASE_URL", "PLUGINKIT_ABI"]

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"

DEFAULT_BASE_URL = "https://api.openai.com"
#: Where ``provider.validate_auth`` checks a key: the cheapest authenticated GET the API has.
MODELS_PATH = "/v1/models"
#: The auth types this provider understands (the manifest's services say ``apikey``).
AUTH_TYPES = ("apikey",)
#: The SDK adapters' status numbers (``provider.get_operate_status``): 0 stopped, 1 running, 2 error.
RUNNING = 1
_SSE_METADATA = {"content-type": "text/event-stream"}


@dataclass
class _State:
    """What the plugin keeps between calls: the key in use, where it came from, the host's status number.

    ``repr=False`` on the key: a traceback printed with its locals, or a debugger's view, shows the rest."""

    key: str = field(default="", repr=False)
    key_file: Path | None = None
    operate_status: int = RUNNING  # nothing to start: a remote provider runs once it is loaded


_state = _State()


# -- the manifest and the settings -------------------------------------------------------------------------------
@functools.cache
def manifest() -> ProviderManifest:
    """This plugin's ``plugin.yaml``: the one place the services' endpoints and default models are written."""
    return load_manifest(Path(__file__).parent)


def _service(name: str) -> ServiceDef:
    service = manifest().service(name)
    if service is None:  # the host checks the name first; this is for direct calls
        raise ProviderError(4000, f"openai-remote offers no service {name!r}")
    return service


def _base_url(config: Mapping[str, Any]) -> str:
    base_url = str(config.get("base_url") or DEFAULT_BASE_URL).strip()
    if not base_url.lower().startswith(("http://", "https://")):
        raise PluginError("invalid_config", f"openai-remote needs base_url = an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")


# -- credentials ---------------------------------------------------------------------------------------------------
def _read_key_file(path: Path) -> str:
    """The key a file holds (surrounding whitespace dropped). Errors name the file, never its content. A key
    file is a few bytes: read inline, with no worker thread."""
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ProviderError(2, f"api_key_file {str(path)!r} cannot be read", reason) from None
    if not key:
        raise ProviderError(2, f"api_key_file {str(path)!r} is empty")
    return key


def _key_for(auth_info: str) -> str:
    """The key for one call: the caller's (``auth_info``: the key, or a JSON object with ``api_key``), else the
    stored one."""
    given = auth_info.strip()
    if given.startswith("{"):
        try:
            given = str(json.loads(given).get("api_key") or "").strip()
        except (ValueError, AttributeError):
            raise ProviderError(2, "auth_info is neither an API key nor a JSON object with api_key") from None
    key = given or _state.key
    if not key:
        raise ProviderError(14, "no API key: call provider.set_auth first, or pass auth_info")
    return key


def _bearer(key: str) -> dict[str, list[str]]:
    return {"Authorization": [f"Bearer {key}"]}


# -- HTTP through the host -----------------------------------------------------------------------------------------
def _request(config: Mapping[str, Any], method: str, path: str, key: str, body: bytes = b"") -> t.HostHTTPRequest:
    headers = {"Accept": ["application/json"], **(_bearer(key) if key else {})}
    if body:
        headers["Content-Type"] = ["application/json"]
    return t.HostHTTPRequest(method=method, url=_base_url(config) + path, headers=headers, body=body)


def _unreachable(request: t.HostHTTPRequest, exc: PluginKitError) -> ProviderError:
    """The host could not reach the API at all (refused, timed out, bad address): unavailable, retryable."""
    return ProviderError(4001, f"service unavailable: cannot reach {request.url}", redact_text(exc.message))


def _send(ctx: PluginContext, request: t.HostHTTPRequest) -> t.HTTPResponse:
    """``host.http.do`` (blocking: call it in a worker thread)."""
    try:
        return ctx.http(request.method, request.url, headers=request.headers, body=request.body)
    except PluginKitError as exc:
        raise _unreachable(request, exc) from None


def _upstream_error(status: int, body: bytes, key: str) -> ProviderError:
    """The seed's number for an upstream HTTP error. The upstream's own message is kept (key masked) except for
    401/403, whose words may quote the rejected key."""
    if status == 401:
        return ProviderError(14, "authentication failed: the API rejected the key (HTTP 401)")
    if status == 403:
        return ProviderError(5, "permission denied: the key may not use this (HTTP 403)")
    if status == 404:
        number, what = 3000, "model not found"
    elif status == 429:
        number, what = 6, "rate limited or out of quota"
    elif status >= 500:
        number, what = 4001, "service unavailable"
    else:
        number, what = 4003, "invalid request"
    return ProviderError(number, f"{what} (upstream HTTP {status})", _detail(body, key))


def _detail(body: bytes, key: str) -> str:
    """The upstream's ``error.message`` (else its body), with the key and anything secret-looking masked."""
    text = error_message(body)
    if key:
        text = text.replace(key, REDACTED)
    return redact_text(text)[:300]


def _body(raw: bytes, service: ServiceDef, *, stream: bool) -> bytes:
    """The body to send: the caller's JSON object, with the service's default model when it names none, and
    ``stream`` as the call is made (a unary call cannot take an event stream back)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ProviderError(4003, f"the {service.service_name} request is not JSON") from None
    if not isinstance(body, dict):
        raise ProviderError(4003, f"the {service.service_name} request must be a JSON object")
    if not body.get("model") and service.default_model:
        body["model"] = service.default_model
    if stream:
        body["stream"] = True
    elif body.get("stream"):
        body["stream"] = False
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def _check(ctx: PluginContext, key: str) -> None:
    """``GET /v1/models`` with ``key``: returns when the API accepts it."""
    response = await asyncio.to_thread(_send, ctx, _request(ctx.config, "GET", MODELS_PATH, key))
    status = response.status_code or 200
    if status >= 400:
        raise _upstream_error(status, response.body, key)


# -- hooks: registration and status --------------------------------------------------------------------------------
@hookimpl
def plugin_register(params: t.LifecycleRequest) -> t.Registration:
    global _state
    _base_url(params.config)  # refuse to load with an unusable base_url, rather than fail every call
    manifest()  # and with an unreadable manifest
    _state = _State()
    return t.Registration(
        metadata=t.PluginMetadata(config_fields=[
            t.ConfigField(
                name="base_url", type="string", description=f"API root without /v1 (default {DEFAULT_BASE_URL})"
            ),
        ]),
        capabilities=t.Capabilities(ai_provider=True),
    )


@hookimpl
def provider_get_operate_status() -> OperateStatus:
    return OperateStatus(status=_state.operate_status)


@hookimpl
def provider_set_operate_status(params: OperateStatus) -> t.Empty:
    _state.operate_status = params.status
    return t.Empty()


@hookimpl
async def provider_health_check(ctx: PluginContext) -> t.Empty:
    """Healthy when the API answers at all below 500: a 401 still proves it is up (keys are validate_auth's)."""
    request = _request(ctx.config, "GET", MODELS_PATH, _state.key)
    status = (await asyncio.to_thread(_send, ctx, request)).status_code or 200
    if status >= 500:
        raise ProviderError(4001, f"service unavailable: {request.url} answered HTTP {status}")
    return t.Empty()


# -- hooks: auth ---------------------------------------------------------------------------------------------------
@hookimpl
def provider_set_auth(params: AuthRequest, ctx: PluginContext) -> AuthResult:
    """Keep the key (``api_key``, or ``api_key_file``) and answer the header that authenticates a request."""
    if (params.auth_type or "apikey") not in AUTH_TYPES:
        raise ProviderError(2, f"auth type {params.auth_type!r} is not supported (supported: {', '.join(AUTH_TYPES)})")
    credentials = params.credentials
    key_file = credentials.get("api_key_file", "").strip()
    if key_file:
        path = Path(key_file).expanduser()
        _state.key, _state.key_file = _read_key_file(path), path
        ctx.log.info("API key set from api_key_file %s", path)
    elif credentials.get("api_key", "").strip():
        _state.key, _state.key_file = credentials["api_key"].strip(), None
        ctx.log.info("API key set")
    else:
        raise ProviderError(2, "apikey auth needs credentials api_key or api_key_file")
    return AuthResult(headers=_bearer(_state.key))


@hookimpl
async def provider_validate_auth(ctx: PluginContext) -> t.Empty:
    if not _state.key:
        raise ProviderError(14, "no API key: call provider.set_auth first")
    await _check(ctx, _state.key)
    return t.Empty()


@hookimpl
async def provider_refresh_auth(ctx: PluginContext) -> t.Empty:
    """A key kept in a file is read again (a rotated key is picked up); a key given as is can only be checked."""
    if _state.key_file is not None:
        _state.key = _read_key_file(_state.key_file)
        ctx.log.info("API key re-read from %s", _state.key_file)
        return t.Empty()
    if not _state.key:
        raise ProviderError(14, "no API key: call provider.set_auth first")
    await _check(ctx, _state.key)
    return t.Empty()


# -- hooks: services -----------------------------------------------------------------------------------------------
@hookimpl
async def provider_invoke_service(params: ServiceCall, ctx: PluginContext) -> ServiceResponse:
    service, key = _service(params.service_name), _key_for(params.auth_info)
    body = _body(params.request, service, stream=False)
    response = await asyncio.to_thread(_send, ctx, _request(ctx.config, "POST", service.endpoint, key, body))
    status = response.status_code or 200
    if status >= 400:
        raise _upstream_error(status, response.body, key)
    return ServiceResponse(response=response.body)


@hookimpl
async def provider_invoke_service_stream(params: ServiceCall, ctx: PluginContext) -> AsyncIterator[ServiceChunk]:
    """One chunk per SSE event, framing kept (``data: {...}\\n\\n``); ``data: [DONE]`` is the final chunk.
    Comment-only events (keep-alives) are dropped. Leaving early closes the upstream response."""
    service, key = _service(params.service_name), _key_for(params.auth_info)
    request = _request(ctx.config, "POST", service.endpoint, key, _body(params.request, service, stream=True))
    request.headers["Accept"] = ["text/event-stream"]
    try:
        opened: t.HostHTTPStream = await asyncio.to_thread(ctx.host, "host.http.do_stream", request)
    except PluginKitError as exc:
        raise _unreachable(request, exc) from None
    ref = t.HostStreamRef(stream_id=opened.stream_id)
    try:
        async with contextlib.aclosing(_pieces(ctx, ref)) as pieces:
            status = opened.status_code or 200
            if status >= 400:
                raise _upstream_error(status, b"".join([piece async for piece in pieces]), key)
            splitter = sse.Splitter()
            async for piece in pieces:
                for event in splitter.feed(piece):
                    chunk = _chunk(event)
                    if chunk is not None:
                        yield chunk
                        if chunk.is_final:
                            return
            for event in splitter.flush():  # a server that closes without the last blank line
                chunk = _chunk(event)
                if chunk is not None:
                    yield chunk
    finally:
        ctx.host("host.http.stream_close", ref)  # closing does not block: no worker thread needed


async def _pieces(ctx: PluginContext, ref: t.HostStreamRef) -> AsyncGenerator[bytes, None]:
    """The upstream body as the host reads it, each read in a worker thread."""
    while True:
        read: t.HostStreamRead = await asyncio.to_thread(ctx.host, "host.http.stream_read", ref)
        if read.error:
            raise ProviderError(4001, "service unavailable: the upstream stream broke", redact_text(read.error))
        if read.payload:
            yield read.payload
        if read.done:
            return


def _chunk(event: bytes) -> ServiceChunk | None:
    """The chunk for one SSE event (``None`` for a comment-only event): the event itself, final at ``[DONE]``."""
    [parsed] = sse.parse(event)
    if not parsed.has_data:
        return None
    return ServiceChunk(data=event, is_final=parsed.data.strip() == "[DONE]", metadata=dict(_SSE_METADATA))
