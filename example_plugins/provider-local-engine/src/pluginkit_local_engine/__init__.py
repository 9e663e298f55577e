"""``local-engine``: a local AI-service provider (seed 003's ``LocalPluginProvider``) — a plugin that runs an engine
of its own, as a separate process, and serves ``chat``, ``embed`` and ``chat-ws`` through it.

How the pieces fit:

- ``plugin.yaml``, beside this file, is the manifest. The host reads it without importing this module: the
  provider's name, that it is ``local``, its services and how each may be called (``chat`` streams, ``embed`` does
  not, ``chat-ws`` talks both ways), and the engine to run on each platform.
- ``engine.py`` is the engine: a small HTTP server in a process of its own, on 127.0.0.1 and a port it picks. It
  never outlives the host (it calls ``pluginkit.providers.exit_with_host``). Its models are files, pulled from a
  source directory into a store directory.
- This module is the plugin: the ``provider.*`` hooks the host calls. The host starts the provider on first use —
  ``check_engine``, ``install_engine`` if need be, ``init_env``, then ``start_engine`` and ``health_check`` until it
  passes — and calls the service and model hooks, which talk to the engine over HTTP.

Settings (``[plugins.local-engine]``): ``models_dir``, the model store, and ``source_dir``, where models are pulled
from (defaults: ``models`` and ``source`` under ``$XDG_DATA_HOME/pluginkit-local-engine``).

The hooks that talk to the engine are ``async def`` and make their blocking HTTP requests (``urllib``, no extra
dependency) in a worker thread: a hook runs on the host's event loop, which must not wait on a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from datetime import datetime
from http.client import HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pluginkit import ABI_VERSION, PluginContext, PluginKitError, hookimpl
from pluginkit import types as t
from pluginkit.providers import (
    BidiCall,
    BidiMessage,
    EngineConfig,
    EngineInstalled,
    EngineModel,
    EngineProcess,
    EngineStart,
    EngineVersion,
    ModelDetails,
    ModelList,
    ModelRef,
    OperateStatus,
    ProgressResponse,
    ProviderError,
    PullModelRequest,
    ServiceCall,
    ServiceChunk,
    ServiceResponse,
    UnloadModelRequest,
    incoming,
    load_manifest,
    platform_key,
    report_progress,
)

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"

HERE = Path(__file__).resolve().parent
#: The manifest the host reads too: the services' endpoints and default models come from it.
MANIFEST = load_manifest(HERE)
MODES = ("cpu", "gpu", "auto")
#: The status numbers of ``provider.get_operate_status`` (the seed SDK's adapters use these).
STOPPED, RUNNING = 0, 1
#: The engine is on this machine: never reach it through the user's HTTP proxy (urllib honours ``http_proxy``).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
#: The engine's HTTP errors as the seed's numbers; any other status is 11 (internal).
_ERRORS = {400: 2, 404: 3000}


class Engine:
    """The plugin's engine process and its status number. One per process: the host imports a plugin once."""

    def __init__(self) -> None:
        self.process: EngineProcess | None = None
        self.mode = "auto"
        self.operate_status = STOPPED

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    @property
    def url(self) -> str:
        """The engine's base URL; 2006 (engine health check failed) when it is not running."""
        if self.process is None or not self.process.running:
            raise ProviderError(2006, "engine not running")
        return self.process.url

    def stop(self) -> None:
        """End the engine. Also for one that died: that releases its process and the pipes to it."""
        process, self.process = self.process, None
        if process is not None:
            process.stop()
        self.operate_status = STOPPED


ENGINE = Engine()


def data_home() -> Path:
    """Where the settings' defaults are: ``$XDG_DATA_HOME/pluginkit-local-engine`` (``~/.local/share/…``)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "pluginkit-local-engine"


def directories(config: Mapping[str, Any]) -> tuple[Path, Path]:
    """The model store and the source, from the settings. Made absolute here: the engine runs in another
    directory (its own), so a relative setting means what it meant to the host."""
    found = []
    for key, default in (("models_dir", "models"), ("source_dir", "source")):
        value = str(config.get(key) or "").strip()
        found.append(Path(value).expanduser().resolve() if value else data_home() / default)
    return found[0], found[1]


# -- talking to the engine ------------------------------------------------------------------------------------------
def _open(path: str, body: Mapping[str, Any] | None = None, *, timeout: float = 60.0) -> HTTPResponse:
    """Send the engine a request (POST with a JSON body, or GET) and answer the open response. Blocking: call it
    in a worker thread. The engine's refusals are raised with the seed's numbers; an engine that does not answer
    is 2006, which tells the host its engine is down."""
    url = ENGINE.url + path
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        response: HTTPResponse = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        with exc:
            raise _refused(exc.code, exc.read()) from None
    except OSError as exc:  # refused, reset, timed out
        raise ProviderError(2006, f"engine not reachable at {url}", str(exc)) from None
    return response


def _refused(status: int, body: bytes) -> ProviderError:
    try:
        message = str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        message = body.decode(errors="replace")[:200] or f"HTTP {status}"
    return ProviderError(_ERRORS.get(status, 11), message)


async def _read(path: str, body: Mapping[str, Any] | None = None, *, timeout: float = 60.0) -> bytes:
    """The engine's whole answer to one request."""

    def read() -> bytes:
        with _open(path, body, timeout=timeout) as response:
            return response.read()

    return await asyncio.to_thread(read)


async def _json(path: str, body: Mapping[str, Any] | None = None, *, timeout: float = 60.0) -> Any:
    return json.loads(await _read(path, body, timeout=timeout))


async def _lines(path: str, body: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
    """The engine's streamed answer, a line at a time, each as soon as it arrives. Use it with
    ``contextlib.aclosing``: a caller that stops early then closes the connection at once."""
    response = await asyncio.to_thread(_open, path, body)
    with response:
        while line := await asyncio.to_thread(response.readline):
            yield line


def _service_request(params: ServiceCall, *, stream: bool) -> tuple[str, dict[str, Any]]:
    """The engine path (the service's manifest ``endpoint``) and body of a service call: the client's JSON request,
    its model defaulting to the service's ``default_model``."""
    service = MANIFEST.service(params.service_name)
    if service is None:
        raise ProviderError(4000, f"no service {params.service_name!r}")
    try:
        body = json.loads(params.request or b"{}")
    except ValueError:
        raise ProviderError(4003, f"the {service.service_name} request is not JSON") from None
    if not isinstance(body, dict):
        raise ProviderError(4003, f"the {service.service_name} request is not a JSON object")
    body["model"] = body.get("model") or service.default_model
    body["stream"] = stream
    return service.endpoint, body


# -- registration and shutdown --------------------------------------------------------------------------------------
@hookimpl
def plugin_register() -> t.Registration:
    return t.Registration(
        metadata=t.PluginMetadata(config_fields=[
            t.ConfigField(name="models_dir", type="string", description="The model store (default: "
                          "$XDG_DATA_HOME/pluginkit-local-engine/models)"),
            t.ConfigField(name="source_dir", type="string", description="Where models are pulled from, as "
                          "<model>.bin files (default: $XDG_DATA_HOME/pluginkit-local-engine/source)"),
            t.ConfigField(name="pull_rate", type="number", description="Bytes per second a pull copies "
                          "(default 0: no limit), as a download is bounded by its line"),
        ]),
        capabilities=t.Capabilities(ai_provider=True),
    )


@hookimpl
def plugin_shutdown() -> None:
    """The manager shuts down: so does the engine (the host may not have stopped it)."""
    ENGINE.stop()


# -- the engine -----------------------------------------------------------------------------------------------------
@hookimpl
def provider_check_engine(ctx: PluginContext) -> EngineInstalled:
    """Installed: the engine script is there, and the model store is a directory the engine may write to."""
    models, _ = directories(ctx.config)
    platform = MANIFEST.platform()
    script = platform is not None and (HERE / platform.executable).is_file()
    return EngineInstalled(installed=script and models.is_dir() and os.access(models, os.W_OK))


@hookimpl
def provider_install_engine(ctx: PluginContext) -> None:
    """Nothing to download — the engine ships in this package —, so installing makes its directories."""
    for directory in directories(ctx.config):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProviderError(2004, f"cannot create {directory}", str(exc)) from None


@hookimpl
def provider_init_env(ctx: PluginContext) -> None:
    """Before each start: remove what a pull cut short left in the store (its ``.part`` file)."""
    models, _ = directories(ctx.config)
    for part in models.glob(".*.part"):
        part.unlink(missing_ok=True)


@hookimpl
def provider_start_engine(params: EngineStart, ctx: PluginContext) -> None:
    """Start ``engine.py`` (the manifest's executable for this platform) and return once it has announced its port.

    A plain ``def``: it waits a fraction of a second for the engine, on the host's thread."""
    if params.mode not in MODES:
        raise ProviderError(2, f"unknown engine mode {params.mode!r}", "expected cpu, gpu or auto")
    platform = MANIFEST.platform()
    if platform is None:
        raise ProviderError(2000, f"no engine for this platform ({platform_key()})")
    models, source = directories(ctx.config)
    ENGINE.stop()  # the host starts an engine it found down: release the old one first
    process = EngineProcess.from_manifest(
        HERE, platform.executable, "--models-dir", str(models), "--source-dir", str(source), "--mode", params.mode,
        "--pull-rate", str(float(ctx.config.get("pull_rate") or 0)),
    )
    try:
        url = process.start()
    except PluginKitError as exc:
        raise ProviderError(2002, "the engine did not start", exc.message) from None
    ENGINE.process, ENGINE.mode, ENGINE.operate_status = process, params.mode, RUNNING
    ctx.log.info("engine started at %s (mode %s)", url, params.mode)


@hookimpl
def provider_stop_engine() -> None:
    ENGINE.stop()


@hookimpl
async def provider_health_check() -> None:
    """Healthy: the engine answers ``/health``. A raise (2006) tells the host the engine is down: it starts it
    again on next use."""
    answer = await _json("/health", timeout=2.0)
    if answer.get("status") != "ok":
        raise ProviderError(2006, "engine not healthy", str(answer))


@hookimpl
def provider_get_config(ctx: PluginContext) -> EngineConfig:
    """Where the engine is (``host`` is ``127.0.0.1:<port>``, the manifest's ``engine_host`` until it runs) and
    where its pieces are: its script (``exec_path``/``exec_file``), its store (``download_path``) and the source it
    pulls from (``download_url``)."""
    models, source = directories(ctx.config)
    url = urlsplit(ENGINE.url if ENGINE.running else MANIFEST.provider.engine_host)
    chat, platform = MANIFEST.service("chat"), MANIFEST.platform()
    return EngineConfig(
        host=url.netloc, origin=url.hostname or "", scheme=url.scheme,
        recommend_model=chat.default_model if chat else "", download_url=source.as_uri(), download_path=str(models),
        engine_path=str(HERE), exec_path=str(HERE), exec_file=platform.executable if platform else "",
        device_type=ENGINE.mode,
    )


@hookimpl
async def provider_get_version(params: EngineVersion) -> EngineVersion:
    """The running engine's version, in the template the host passes."""
    params.version = str((await _json("/version"))["version"])
    return params


@hookimpl
def provider_upgrade_engine(ctx: PluginContext) -> None:
    """The engine is upgraded with this package (``pip install -U``): restart a running engine, so that the
    installed script runs."""
    if ENGINE.running:
        provider_start_engine(EngineStart(mode=ENGINE.mode), ctx)


@hookimpl
def provider_get_operate_status() -> OperateStatus:
    return OperateStatus(status=ENGINE.operate_status)


@hookimpl
def provider_set_operate_status(params: OperateStatus) -> None:
    ENGINE.operate_status = params.status


# -- models ---------------------------------------------------------------------------------------------------------
async def _pull(params: PullModelRequest) -> AsyncGenerator[ProgressResponse, None]:
    """The pull's progress, a step per chunk the engine copies, then ``success`` (both pull hooks read it)."""
    model = params.model or params.name  # ``name``: the seed's older spelling
    async with contextlib.aclosing(_lines("/api/pull", {"model": model})) as lines:
        async for line in lines:
            step = json.loads(line)
            if "error" in step:  # the engine failed after it started answering
                raise ProviderError(3001, str(step["error"]))
            yield ProgressResponse(
                status=step["status"], digest=step.get("digest", ""), total=step["total"], completed=step["completed"]
            )


@hookimpl
async def provider_pull_model(params: PullModelRequest, ctx: PluginContext) -> ProgressResponse:
    """Pull, reporting each step to the caller as it happens; answer the last (``success``)."""
    last = ProgressResponse()
    async with contextlib.aclosing(_pull(params)) as steps:
        async for step in steps:
            report_progress(ctx, params, step)  # raises when the caller's callback failed: the pull stops
            last = step
    if last.status != "success":
        raise ProviderError(3001, f"the pull of {params.model or params.name!r} ended early")
    return last


@hookimpl
def provider_pull_model_stream(params: PullModelRequest) -> AsyncIterator[ProgressResponse]:
    """Pull, streamed: the steps themselves (the host reads them, and closes them if its caller stops)."""
    return _pull(params)


def _models(answer: Any) -> ModelList:
    return ModelList(models=[
        EngineModel(
            name=model["name"], model=model["name"], size=model["size"], digest=model["digest"],
            modified_at=datetime.fromisoformat(model["modified_at"]), details=ModelDetails(format="bin"),
        )
        for model in answer["models"]
    ])


@hookimpl
async def provider_list_models() -> ModelList:
    return _models(await _json("/api/models"))


@hookimpl
async def provider_get_running_models() -> ModelList:
    return _models(await _json("/api/running"))


@hookimpl
async def provider_load_model(params: ModelRef) -> None:
    await _json("/api/load", {"model": params.model})


@hookimpl
async def provider_unload_model(params: UnloadModelRequest) -> None:
    await _json("/api/unload", {"models": params.models})


@hookimpl
async def provider_delete_model(params: ModelRef) -> None:
    await _json("/api/delete", {"model": params.model})


# -- services -------------------------------------------------------------------------------------------------------
@hookimpl
async def provider_invoke_service(params: ServiceCall) -> ServiceResponse:
    """``chat`` or ``embed``: the engine's answer (OpenAI JSON) as it is."""
    path, body = _service_request(params, stream=False)
    return ServiceResponse(response=await _read(path, body))


@hookimpl
async def provider_invoke_service_stream(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
    """``chat``, streamed: a chunk per server-sent event of the engine (it sends an event as one ``data:`` line and
    a blank line), each a whole event; ``data: [DONE]`` is the final chunk."""
    path, body = _service_request(params, stream=True)
    async with contextlib.aclosing(_lines(path, body)) as lines:
        async for line in lines:
            if not line.startswith(b"data:"):
                continue  # the blank line that ends an event
            data = line.removeprefix(b"data:").strip()
            final = data == b"[DONE]"
            yield ServiceChunk(
                data=b"data: " + data + b"\n\n", is_final=final, metadata={"content-type": "text/event-stream"}
            )
            if final:
                return
    raise ProviderError(4004, "the engine's stream ended before data: [DONE]")


@hookimpl
async def provider_invoke_service_bidirectional(params: BidiCall, ctx: PluginContext) -> AsyncIterator[BidiMessage]:
    """``chat-ws``: each text message — a chat request, or plain text as the user's message — is answered with its
    chat completion; a ping with a pong; a close ends the call."""
    async for message in incoming(ctx, params):
        if message.message_type == "close":
            return
        if message.message_type == "ping":
            yield BidiMessage(data=message.data, message_type="pong", metadata={"ws_conn_id": params.ws_conn_id})
            continue
        if message.message_type != "text":
            raise ProviderError(2, f"{params.service_name} takes text messages, not {message.message_type}")
        try:
            request = json.loads(message.data)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            request = {"messages": [{"role": "user", "content": message.data.decode(errors="replace")}]}
        path, body = _service_request(
            ServiceCall(service_name=params.service_name, request=json.dumps(request).encode()), stream=False
        )
        answer = await _read(path, body)
        yield BidiMessage(data=answer, message_type="text", metadata={"ws_conn_id": params.ws_conn_id})
