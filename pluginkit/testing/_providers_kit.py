"""The conformance kit for AI-service provider plugins (seed 003): ``pluginkit_provider``.

The fixture returns a :class:`ProviderSubject` (or ``(plugin, manifest)`` / ``(plugin, manifest, settings)``):
the plugin, its manifest (a directory holding ``plugin.yaml``/``plugin.json``, the data, or a
``ProviderManifest``), its settings, and optionally a request body per service. The kit runs it under a
:class:`~pluginkit.providers.ProviderHost`, as a host would, and checks what the seed host relies on: the manifest
and the hooks agree, each request mode the manifest allows works and the others are refused with the seed's codes,
the lifecycle runs in the seed host's order (start on first use, healthy once started, down once stopped, started
again on next use), and every error is an answer in the seed's catalogue, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from pluginkit.errors import ERROR_CODES, PluginKitError
from pluginkit.providers import (
    BidiMessage,
    ProviderHost,
    ProviderManifest,
    ProviderStatus,
    ServiceCall,
    load_manifest,
    parse_manifest,
)
from pluginkit.runtime import PluginManager, PluginState

__all__ = ["ProviderContract", "ProviderSubject"]

#: Hooks each provider type must implement (the seed's interfaces, without the optional ones).
REQUIRED = {
    "local": ("provider_start_engine", "provider_stop_engine", "provider_health_check", "provider_invoke_service",
              "provider_list_models"),
    "remote": ("provider_set_auth", "provider_validate_auth", "provider_invoke_service"),
}
#: How long one call of the kit may take (an engine's start included).
CALL_LIMIT = 60.0


@attrs.define
class ProviderSubject:
    """What ``pluginkit_provider`` returns: the plugin, its manifest, its settings, a request body per service
    (default ``{}``) and, for a remote provider, the credentials ``set_auth`` gets."""

    plugin: Any
    manifest: ProviderManifest | Mapping[str, Any] | str | Path
    settings: Mapping[str, Any] = attrs.Factory(dict)
    requests: Mapping[str, bytes] = attrs.Factory(dict)
    credentials: Mapping[str, str] = attrs.Factory(dict)

    def read_manifest(self) -> ProviderManifest:
        manifest = self.manifest
        if isinstance(manifest, ProviderManifest):
            return manifest
        if isinstance(manifest, Path) or (isinstance(manifest, str) and Path(manifest).is_dir()):
            return load_manifest(manifest)
        return parse_manifest(manifest)


def _subject(value: Any) -> ProviderSubject:
    return value if isinstance(value, ProviderSubject) else ProviderSubject(*value)


@contextlib.contextmanager
def _hosted(subject: ProviderSubject) -> Iterator[tuple[ProviderHost, str]]:
    """A host serving only the provider under test; every engine it started is stopped afterwards."""
    manifest = subject.read_manifest()
    manager = PluginManager(entry_points=False, environ={})
    host = ProviderHost(manager, start_timeout=CALL_LIMIT)
    try:
        info = manager.register(subject.plugin, "under-test", settings=dict(subject.settings))
        assert info.state is PluginState.ACTIVE, f"the plugin did not load: {info.reason}"
        assert "ai_provider" in info.capabilities, "the plugin does not declare the ai_provider capability"
        host.add("under-test", manifest)
        yield host, manifest.provider.name
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(host.close())
        manager.shutdown()


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, CALL_LIMIT))


def _refusal(exc: PluginKitError, host: ProviderHost, what: str) -> None:
    """An error must be an answer in the catalogue, and the plugin must not have crashed (a crash fuses it)."""
    assert exc.code in ERROR_CODES, f"{what}: {exc.code} is not an error code of the catalogue"
    state = host.manager.plugin("under-test").state
    assert state is PluginState.ACTIVE, f"{what}: the plugin crashed ({exc.message})"


async def _read(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


class ProviderContract:
    """``pluginkit_provider``: the manifest and the hooks agree; modes, lifecycle and errors as the seed host
    expects them."""

    @pytest.fixture
    def subject(self, pluginkit_provider: Any) -> ProviderSubject:
        return _subject(pluginkit_provider)

    def test_the_manifest_is_valid_and_matches_the_hooks(self, subject: ProviderSubject) -> None:
        manifest = subject.read_manifest()
        with _hosted(subject) as (host, _):
            hooks = set(host.manager.plugin("under-test").hooks)
            if "provider_get_manifest" in hooks:  # a manifest built at run time must say what the file says
                built = host.manager.call_plugin("under-test", "provider.get_manifest")
                assert built == manifest, "provider.get_manifest answers another manifest than the one shipped"
        missing = [hook for hook in REQUIRED[manifest.provider.type] if hook not in hooks]
        assert not missing, f"a {manifest.provider.type} provider implements {missing}"
        for service in manifest.services:
            if service.supports_streaming():
                assert "provider_invoke_service_stream" in hooks, f"{service.service_name} streams: no stream hook"
            if service.supports_bidirectional():
                assert "provider_invoke_service_bidirectional" in hooks, f"{service.service_name} is bidirectional"
        if manifest.provider.type == "local":
            assert "provider_pull_model" in hooks or "provider_pull_model_stream" in hooks, "a local provider pulls"

    def test_each_mode_the_manifest_allows_works_and_the_others_are_refused(self, subject: ProviderSubject) -> None:
        manifest = subject.read_manifest()
        with _hosted(subject) as (host, name):
            self._authenticate(host, name, subject)
            for service in manifest.services:
                request = subject.requests.get(service.service_name, b"{}")
                if not service.supports_bidirectional() or service.supports_streaming():
                    try:
                        answer = _run(host.invoke(name, service.service_name, request))
                        assert isinstance(answer, bytes)
                    except PluginKitError as exc:
                        _refusal(exc, host, f"invoke {service.service_name}")
                if service.supports_streaming():
                    chunks = _run(self._stream(host, name, service.service_name, request))
                    assert all(not c.error for c in chunks), f"{service.service_name}: an error chunk ended it"
                else:
                    with pytest.raises(PluginKitError) as refused:
                        _run(host.invoke_stream(name, service.service_name, request))
                    assert refused.value.code == "streaming_not_supported"
                if service.supports_bidirectional():
                    _run(self._talk(host, name, service.service_name, request))
                else:
                    with pytest.raises(PluginKitError) as refused:
                        _run(host.invoke_bidirectional(name, service.service_name, []))
                    assert refused.value.code == "bidirectional_not_supported"

    @staticmethod
    def _authenticate(host: ProviderHost, name: str, subject: ProviderSubject) -> None:
        if subject.credentials:
            headers = _run(host.set_auth(name, subject.credentials))
            assert isinstance(headers, dict)

    @staticmethod
    async def _stream(host: ProviderHost, name: str, service: str, request: bytes) -> list[Any]:
        async with await host.invoke_stream(name, service, request) as stream:
            return await _read(stream)

    @staticmethod
    async def _talk(host: ProviderHost, name: str, service: str, request: bytes) -> list[Any]:
        messages = [BidiMessage(data=request), BidiMessage(message_type="ping"), BidiMessage(message_type="close")]
        async with await host.invoke_bidirectional(name, service, messages) as stream:
            return await _read(stream)

    def test_the_lifecycle_runs_in_the_seed_hosts_order(self, subject: ProviderSubject) -> None:
        manifest = subject.read_manifest()
        with _hosted(subject) as (host, name):
            assert host.status(name) is ProviderStatus.STOPPED, "a provider starts on first use, not at discovery"
            _run(host.start(name))
            assert host.status(name) is ProviderStatus.RUNNING
            assert _run(host.health(name)).healthy, "a started provider is healthy"
            if manifest.provider.type != "local":
                return
            _run(host.stop(name))
            health = _run(host.health(name))
            assert not health.healthy, "a stopped engine must fail its health check (the host marks it down)"
            _run(host.start(name))
            assert _run(host.health(name)).healthy, "an engine starts again after a stop"
            models = _run(host.list_models(name))
            assert isinstance(models, list)

    def test_errors_are_answers_in_the_catalogue_never_crashes(self, subject: ProviderSubject) -> None:
        manifest = subject.read_manifest()
        with _hosted(subject) as (host, name):
            self._authenticate(host, name, subject)
            _run(host.start(name))
            for body in (b"", b"not json", b'{"model": "no-such-model-for-the-kit"}', b"\xff\xfe"):
                for service in manifest.services:
                    try:
                        _run(host.invoke(name, service.service_name, body))
                    except PluginKitError as exc:
                        _refusal(exc, host, f"invoke {service.service_name} with {body!r}")
            call = ServiceCall(service_name="no-such-service-for-the-kit", request=b"{}")
            try:
                _run(host.manager.acall_plugin("under-test", "provider.invoke_service", call))
            except PluginKitError as exc:
                _refusal(exc, host, "invoke a service the manifest does not name")
