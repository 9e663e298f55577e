"""``ProviderHost``: the host side of seed 003 — providers found by their manifests, engines started on first
use, services invoked in the mode the manifest allows, within the service's time limit.

What the seed host (AOG's ``PluginRegistry`` and ``PluginInvoker``) does, and this does too:

- every installed plugin that ships a manifest is a provider, keyed by the manifest's ``provider.name``; a second
  one of the same name is reported and left out (:attr:`ProviderHost.conflicts`, the plugin is not imported);
- a provider is started on first use, not at discovery: for a local one the engine is checked, installed if need
  be, its environment prepared, and started (``mode`` cpu/gpu/auto) unless its health check passes already; the
  host then waits for the health check (``start_timeout``, 60 s as the seed's ``InitEngine``);
- status: ``running`` (1), ``stopped`` (2, found but not started, or stopped, or its engine found down),
  ``unloaded`` (3, the plugin is not loaded);
- a streamed call to a service that does not stream fails with ``streaming_not_supported`` (seed 4005), a
  bidirectional call to a service that is not with ``bidirectional_not_supported`` (4006);
- time limits are the service's: 0 → 60 s unary / 300 s streamed, negative → none; a stream's limit bounds it
  all, as the seed's context deadline does.

Where it differs: the seed's ``sync.Once`` keeps a failed load failed until the host restarts; here a failed start
is tried again on the next use (an engine installed in the meantime is picked up), and ``keep_alive`` checks
engines without a fixed ten-second ticker.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.providers import _types as p
from pluginkit.providers._manifest import (
    ManifestError,
    ProviderManifest,
    find_manifest,
    load_manifest,
    parse_manifest,
    support_model_list,
)
from pluginkit.providers._provider import Conflict, Health, Provider, ProviderStatus
from pluginkit.providers._services import ServiceCalls, _Connection, _Route
from pluginkit.redaction import redact_text
from pluginkit.runtime import PluginState, PluginStream

if TYPE_CHECKING:
    from pluginkit.runtime import PluginContext, PluginManager

__all__ = ["ProviderHost", "report_progress"]

log = logging.getLogger("pluginkit.providers")
_PULL_IDS = itertools.count(1)
#: How often the host asks a starting engine's health (seconds).
HEALTH_POLL = 0.1


class ProviderHost(ServiceCalls):
    """The providers among ``manager``'s plugins: list them, start them, invoke their services, manage models.

    Creating it reads the manifests of the installed plugins (none is imported) and attaches it to the manager's
    host services, so plugins reach :func:`report_progress` and :func:`incoming`. Create it before the manager
    loads: a plugin whose provider name is taken is then never imported. ``start_timeout`` bounds the wait for a
    started engine's health check; ``mode`` is the engines' start mode.
    """

    def __init__(self, manager: PluginManager, *, start_timeout: float = 60.0, mode: str = "auto") -> None:
        self.manager = manager
        self.start_timeout = start_timeout
        self.mode = mode
        self._providers: dict[str, Provider] = {}
        self.conflicts: list[Conflict] = []
        #: Installed plugins whose manifest could not be read: plugin ID → why.
        self.invalid: dict[str, str] = {}
        self._pulls: dict[str, tuple[str, Callable[[p.ProgressResponse], Any]]] = {}
        self._connections: dict[str, _Connection] = {}
        self._routes: dict[tuple[str, str, str], _Route] = {}
        manager.host.attach("providers", self)
        manager.host.provide("host.provider.pull_progress", self._pull_progress)
        self.discover()

    # -- discovery ------------------------------------------------------------------------------------------------
    def discover(self) -> list[Provider]:
        """Read the manifests of installed plugins not seen yet (the seed's periodic re-scan); returns the new
        providers. A manifest that is invalid, or names a provider another plugin serves, leaves its plugin out."""
        found = []
        if not self.manager.entry_points:  # a manager of plugins registered in code: nothing installed is its
            return []
        config = self.manager.config
        for installed in self.manager.installed().plugins:
            if installed.id in self.invalid or any(e.plugin_id == installed.id for e in self._providers.values()):
                continue
            if not config.selected(installed.id)[0]:  # the manager will not load it: not a provider of this host
                continue
            path = find_manifest(installed)
            if path is None:
                continue
            try:
                manifest = load_manifest(path.parent)
            except ManifestError as exc:
                self.invalid[installed.id] = exc.message
                self.manager.exclude(installed.id, f"invalid provider manifest: {exc.message}")
                log.error("plugin %r: %s", installed.id, exc.message)
                continue
            provider = self._admit(manifest, installed.id, str(path))
            if provider is not None:
                found.append(provider)
        return found

    def add(self, plugin_id: str, manifest: ProviderManifest | Mapping[str, Any] | str | Path) -> Provider:
        """Declare the provider a plugin registered in code serves: its manifest as an object, data, or a
        directory holding ``plugin.yaml`` / ``plugin.json``. ``provider_invalid_config`` if the name is taken."""
        if isinstance(manifest, Path):
            manifest = load_manifest(manifest)
        elif not isinstance(manifest, ProviderManifest):
            manifest = parse_manifest(manifest)
        name = manifest.provider.name
        if name in self._providers and self._providers[name].plugin_id != plugin_id:
            raise ManifestError(
                message=f"provider name conflict: {name!r} is served by plugin {self._providers[name].plugin_id!r}"
            )
        provider = Provider(manifest, plugin_id)
        self._providers[name] = provider
        self._routes = {key: route for key, route in self._routes.items() if key[0] != name}  # its old services
        return provider

    def _admit(self, manifest: ProviderManifest, plugin_id: str, source: str) -> Provider | None:
        name = manifest.provider.name
        kept = self._providers.get(name)
        if kept is not None and kept.source == source:
            # two plugins of one package share its manifest: the first serves the provider; the other is no
            # provider, and not a conflict (it is loaded as any plugin)
            log.info("plugin %r shares %s with plugin %r, which serves provider %r", plugin_id, source,
                     kept.plugin_id, name)
            return None
        if kept is not None:  # the seed: "plugin name conflict: <name> already exists", the later one skipped
            self.conflicts.append(Conflict(name, kept.plugin_id, plugin_id, source))
            reason = f"provider name conflict: {name!r} is served by plugin {kept.plugin_id!r}"
            self.manager.exclude(plugin_id, reason)
            log.error("plugin %r left out: %s (%s)", plugin_id, reason, source)
            return None
        provider = self._providers[name] = Provider(manifest, plugin_id, source)
        return provider

    # -- what there is --------------------------------------------------------------------------------------------
    def providers(self) -> list[Provider]:
        """Every provider, by name, each with its current :attr:`Provider.status`."""
        for provider in self._providers.values():
            self._refresh(provider)
        return [self._providers[name] for name in sorted(self._providers)]

    def provider(self, name: str) -> Provider:
        """The provider called ``name``; ``provider_not_found`` (seed 1000) when there is none."""
        provider = self._providers.get(name)
        if provider is None:
            raise PluginKitError("provider_not_found", f"no provider is named {name!r}")
        self._refresh(provider)
        return provider

    def manifest(self, name: str) -> ProviderManifest:
        return self.provider(name).manifest

    def status(self, name: str) -> ProviderStatus:
        return self.provider(name).status

    def support_model_list(self, name: str) -> list[p.RecommendModel]:
        """The provider's supported models, derived from its manifest as the seed's client does."""
        return support_model_list(self.manifest(name))

    def _refresh(self, provider: Provider) -> None:
        try:
            state = self.manager.runtime.record(provider.plugin_id).state
        except PluginKitError:
            state = None
        if state is not PluginState.ACTIVE:
            provider.status = ProviderStatus.UNLOADED
        elif provider.status is ProviderStatus.UNLOADED:
            provider.status = ProviderStatus.STOPPED

    def _implements(self, provider: Provider, method: str) -> bool:
        return method.replace(".", "_") in self.manager.runtime.record(provider.plugin_id).hooks

    async def _call(self, provider: Provider, method: str, params: Any = None, **limit: Any) -> Any:
        return await self.manager.acall_plugin(provider.plugin_id, method, params, **limit)

    # -- the lifecycle --------------------------------------------------------------------------------------------
    async def start(self, name: str, mode: str | None = None) -> Provider:
        """Start the provider now (it starts by itself on first use): a local provider's engine is installed if
        need be, prepared and started, and the host waits until its health check passes."""
        provider = self._ready_or_raise(name)
        if provider.status is ProviderStatus.RUNNING:
            return provider
        starting = provider._starting
        if starting is None or starting.done() or starting.get_loop() is not asyncio.get_running_loop():
            # one start at a time on this loop, every caller waiting for it; a start of another loop (a former
            # asyncio.run) is not awaited from this one, and a start that ended is forgotten when it ends
            starting = provider._starting = asyncio.ensure_future(self._start(provider, mode or self.mode))
            starting.add_done_callback(lambda task: _forget(provider, task))
        await asyncio.shield(starting)
        return provider

    def _ready_or_raise(self, name: str) -> Provider:
        provider = self.provider(name)
        if provider.status is ProviderStatus.UNLOADED:
            reason = self.manager.runtime.record(provider.plugin_id).reason if provider.plugin_id else ""
            raise PluginKitError(
                "provider_load_failed", f"provider {name!r}: plugin {provider.plugin_id!r} is not loaded ({reason})"
            )
        return provider

    async def _start(self, provider: Provider, mode: str) -> None:
        if provider.type != "local":
            provider.status, provider.reason = ProviderStatus.RUNNING, ""
            return
        try:
            if self._implements(provider, "provider.check_engine"):
                installed = await self._call(provider, "provider.check_engine")
                if not installed.installed:
                    if not self._implements(provider, "provider.install_engine"):
                        raise PluginKitError(
                            "engine_not_installed", f"provider {provider.name!r}: engine not installed"
                        )
                    await self._call(provider, "provider.install_engine")
            if self._implements(provider, "provider.init_env"):
                await self._call(provider, "provider.init_env")
            if not await self._healthy(provider):
                await self._call(provider, "provider.start_engine", p.EngineStart(mode=mode))
                deadline = time.monotonic() + self.start_timeout
                while not await self._healthy(provider):
                    if time.monotonic() >= deadline:
                        raise PluginKitError(
                            "engine_start_failed",
                            f"provider {provider.name!r}: engine not healthy {self.start_timeout:g}s after its start",
                        )
                    await asyncio.sleep(HEALTH_POLL)
        except PluginKitError as exc:
            provider.status, provider.reason = ProviderStatus.STOPPED, redact_text(f"{exc.code}: {exc.message}")
            raise
        provider.status, provider.reason = ProviderStatus.RUNNING, ""
        log.info("provider %r running", provider.name)

    async def _healthy(self, provider: Provider) -> bool:
        if not self._implements(provider, "provider.health_check"):
            return True
        try:
            await self._call(provider, "provider.health_check")
        except PluginKitError:
            return False
        return True

    async def stop(self, name: str) -> Provider:
        """Stop the provider's engine (``provider.stop_engine``); it starts again on next use."""
        provider = self._ready_or_raise(name)
        if provider.type == "local" and self._implements(provider, "provider.stop_engine"):
            await self._call(provider, "provider.stop_engine")
        provider.status = ProviderStatus.STOPPED
        return provider

    async def close(self) -> None:
        """Stop every running local provider's engine (failures are logged)."""
        for provider in list(self._providers.values()):
            if provider.status is ProviderStatus.RUNNING and provider.type == "local":
                try:
                    await self.stop(provider.name)
                except PluginKitError as exc:
                    log.error("provider %r did not stop: %s", provider.name, redact_text(str(exc)))

    async def health(self, name: str) -> Health:
        """Check the provider's health (``provider.health_check``). A failure marks a local provider's engine down
        (``stopped``): the next use starts it again."""
        provider = self._ready_or_raise(name)
        try:
            if self._implements(provider, "provider.health_check"):
                await self._call(provider, "provider.health_check")
        except PluginKitError as exc:
            if provider.type == "local" and provider.status is ProviderStatus.RUNNING:
                provider.status = ProviderStatus.STOPPED
                log.warning("provider %r: engine down (%s)", name, redact_text(exc.message))
            provider.reason = redact_text(f"{exc.code}: {exc.message}")
            return Health(name, False, provider.status, provider.reason)
        return Health(name, True, provider.status)

    async def keep_alive(self, interval: float = 10.0) -> None:
        """Until cancelled: every ``interval`` seconds, look for newly installed providers and check each running
        local provider, restarting an engine found down (the seed host's keep-alive and re-scan). One provider's
        failure is logged, and the others are still watched."""
        while True:
            await asyncio.sleep(interval)
            try:
                if self.discover():
                    await asyncio.to_thread(self.manager.load)
            except PluginKitError as exc:
                log.error("provider discovery failed: %s", redact_text(str(exc)))
            for provider in list(self._providers.values()):
                if provider.status is not ProviderStatus.RUNNING or provider.type != "local":
                    continue
                try:
                    if not (await self.health(provider.name)).healthy:
                        await self.start(provider.name)
                except PluginKitError as exc:
                    log.error("provider %r did not restart: %s", provider.name, redact_text(str(exc)))

    # -- models (local providers) ---------------------------------------------------------------------------------
    async def _local(self, name: str, method: str, params: Any = None) -> Any:
        provider = self.provider(name)
        if provider.type != "local":
            raise PluginKitError("not_handled", f"provider {name!r} is remote: it has no engine ({method})")
        if provider.status is not ProviderStatus.RUNNING:
            await self.start(name)
        return await self._call(provider, method, params)

    async def pull_model(
        self,
        name: str,
        request: p.PullModelRequest | str,
        *,
        progress: Callable[[p.ProgressResponse], Any] | None = None,
    ) -> p.ProgressResponse:
        """Pull a model (``request`` or its name) and answer the final progress; ``progress(response)`` is called
        with every step the plugin reports (a callback that raises stops the pull)."""
        params = p.PullModelRequest(model=request) if isinstance(request, str) else copy.copy(request)
        provider = self.provider(name)
        params.pull_id = f"pull-{next(_PULL_IDS)}"
        if progress is not None:
            self._pulls[params.pull_id] = (provider.plugin_id, progress)
        try:
            result: p.ProgressResponse = await self._local(name, "provider.pull_model", params)
            return result
        finally:
            self._pulls.pop(params.pull_id, None)

    async def pull_model_stream(self, name: str, request: p.PullModelRequest | str) -> PluginStream:
        """Pull a model, reading its progress: ``async for step in await host.pull_model_stream(...)``."""
        params = p.PullModelRequest(model=request) if isinstance(request, str) else request
        stream: PluginStream = await self._local(name, "provider.pull_model_stream", params)
        return stream

    async def delete_model(self, name: str, model: str) -> None:
        await self._local(name, "provider.delete_model", p.ModelRef(model=model))

    async def list_models(self, name: str) -> list[p.EngineModel]:
        answer: p.ModelList = await self._local(name, "provider.list_models")
        return answer.models

    async def load_model(self, name: str, model: str) -> None:
        await self._local(name, "provider.load_model", p.ModelRef(model=model))

    async def unload_model(self, name: str, *models: str) -> None:
        await self._local(name, "provider.unload_model", p.UnloadModelRequest(models=list(models)))

    async def running_models(self, name: str) -> list[p.EngineModel]:
        answer: p.ModelList = await self._local(name, "provider.get_running_models")
        return answer.models

    async def engine_config(self, name: str) -> p.EngineConfig:
        config: p.EngineConfig = await self._local(name, "provider.get_config")
        return config

    async def engine_version(self, name: str) -> str:
        answer: p.EngineVersion = await self._local(name, "provider.get_version", p.EngineVersion())
        return answer.version

    async def upgrade_engine(self, name: str) -> None:
        await self._local(name, "provider.upgrade_engine")

    async def check_engine(self, name: str) -> bool:
        """Whether the engine is installed (``provider.check_engine``; the engine need not run)."""
        answer: p.EngineInstalled = await self._call(self._engine(name), "provider.check_engine")
        return answer.installed

    async def install_engine(self, name: str) -> None:
        """Install the engine (``provider.install_engine``), as a start does when it is not installed."""
        await self._call(self._engine(name), "provider.install_engine")

    async def init_env(self, name: str) -> None:
        """Prepare the engine's environment (``provider.init_env``), as every start does."""
        await self._call(self._engine(name), "provider.init_env")

    def _engine(self, name: str) -> Provider:
        provider = self._ready_or_raise(name)
        if provider.type != "local":
            raise PluginKitError("not_handled", f"provider {name!r} is remote: it has no engine")
        return provider

    # -- auth (remote providers) ----------------------------------------------------------------------------------
    async def set_auth(
        self,
        name: str,
        credentials: Mapping[str, str],
        *,
        auth_type: str = "",
        method: str = "POST",
        url: str = "",
        headers: Mapping[str, list[str]] | None = None,
    ) -> dict[str, list[str]]:
        """Give the provider its credentials (``auth_type`` defaults to the first service's) and answer the headers
        that authenticate a request (``method``, ``url``: default, the first service's endpoint; ``headers``)."""
        provider = self._ready_or_raise(name)
        first = provider.manifest.services[0]
        params = p.AuthRequest(
            auth_type=auth_type or first.auth_type, credentials=dict(credentials), method=method,
            url=url or first.endpoint, headers={k: list(v) for k, v in (headers or {}).items()},
        )
        answer: p.AuthResult = await self._call(provider, "provider.set_auth", params)
        return answer.headers

    async def validate_auth(self, name: str) -> None:
        await self._call(self._ready_or_raise(name), "provider.validate_auth")

    async def refresh_auth(self, name: str) -> None:
        await self._call(self._ready_or_raise(name), "provider.refresh_auth")

    # -- plugin status numbers ------------------------------------------------------------------------------------
    async def operate_status(self, name: str) -> int:
        answer: p.OperateStatus = await self._call(self._ready_or_raise(name), "provider.get_operate_status")
        return answer.status

    async def set_operate_status(self, name: str, status: int) -> None:
        await self._call(self._ready_or_raise(name), "provider.set_operate_status", p.OperateStatus(status=status))

    # -- the host callback ----------------------------------------------------------------------------------------
    def _pull_progress(self, params: p.ProgressReport, plugin_id: str) -> t.Empty:
        entry = self._pulls.get(params.pull_id)
        if entry is None:
            return t.Empty()  # nobody listens (a pull without a callback): progress is dropped, as the seed's RPC does
        owner, callback = entry
        if owner != plugin_id:
            raise PluginKitError("host_call_failed", f"pull {params.pull_id!r} is not plugin {plugin_id!r}'s")
        try:
            callback(params.progress)
        except Exception as exc:
            raise PluginKitError("host_call_failed", f"the pull's progress callback failed: {exc}") from None
        return t.Empty()


def _forget(provider: Provider, start: asyncio.Future[None]) -> None:
    """A start ended: the next use starts afresh (its outcome, an error included, was its waiters')."""
    if provider._starting is start:
        provider._starting = None
    if not start.cancelled():
        start.exception()  # read: a start nobody awaited any more is not reported as never retrieved


# -- the plugin-side helper ------------------------------------------------------------------------------------------
def report_progress(ctx: PluginContext, params: p.PullModelRequest, progress: p.ProgressResponse) -> None:
    """Inside ``provider.pull_model``: report one step of the pull (the seed's ``PullProgressFunc``). Raises
    ``host_call_failed`` when the caller's callback failed: stop pulling then, as a seed plugin stops on the
    callback's error."""
    ctx.host("host.provider.pull_progress", p.ProgressReport(pull_id=params.pull_id, progress=progress))


