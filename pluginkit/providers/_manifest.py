"""A provider's manifest: what it is, the services it offers, how to start it — read without importing it.

The manifest is seed 003's ``PluginManifest``: ``plugin.yaml`` (preferred) or ``plugin.json`` beside the plugin's
code. :func:`find_manifest` looks for it in an installed distribution from the entry point's module path and the
distribution's location alone (no plugin code runs); :func:`parse_manifest` checks it and names the offending
field, where the seed's ``yaml.Unmarshal`` would accept any shape.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import Factory

from pluginkit import wire
from pluginkit.errors import PluginKitError
from pluginkit.providers._types import RecommendModel
from pluginkit.runtime import InstalledPlugin
from pluginkit.wire._payload import payload

__all__ = [
    "AUTH_TYPES",
    "MANIFEST_FILES",
    "PROVIDER_TYPES",
    "SERVICE_NAMES",
    "ManifestError",
    "PlatformConfig",
    "ProviderInfo",
    "ProviderManifest",
    "ResourcesConfig",
    "ServiceCapabilities",
    "ServiceDef",
    "find_manifest",
    "load_manifest",
    "parse_manifest",
    "platform_key",
    "support_model_list",
]

#: The file names a manifest may have, in the seed's order of preference.
MANIFEST_FILES = ("plugin.yaml", "plugin.json")
PROVIDER_TYPES = ("local", "remote")
AUTH_TYPES = ("none", "apikey", "token", "oauth", "sign")
#: The seed's service vocabulary (a manifest may name others: the OVMS example adds ``rerank``).
SERVICE_NAMES = (
    "chat", "embed", "generate", "text-to-image", "image-to-image", "image-to-video", "text-to-video",
    "text-to-speech", "speech-to-text", "vision",
)
#: Protocols whose services stream (``protocol``) or talk both ways (``expose_protocol``) by their nature.
_SOCKETS = ("WEBSOCKET", "WSS")
#: A service's default time limits in seconds, when its manifest says 0 (the seed host's ``PluginInvoker``).
UNARY_TIMEOUT = 60.0
STREAM_TIMEOUT = 300.0


class ManifestError(PluginKitError):
    """A manifest that cannot be read or does not describe a provider; the message names the file and field."""

    default_code = "provider_invalid_config"


@payload(case="snake")
class ProviderInfo:
    name: str = ""
    display_name: str = ""
    version: str = ""
    #: ``local`` (the provider runs an engine) or ``remote`` (it calls an API).
    type: str = ""
    author: str = ""
    description: str = ""
    homepage: str = ""
    #: The engine's base URL; required for ``local``.
    engine_host: str = ""


@payload(case="snake")
class ServiceCapabilities:
    support_streaming: bool = False
    support_bidirectional: bool = False


@payload(case="snake")
class ServiceDef:
    """One service a provider offers."""

    service_name: str = ""
    task_type: str = ""
    protocol: str = ""
    expose_protocol: str = ""
    endpoint: str = ""
    auth_type: str = ""
    default_model: str = ""
    support_models: list[str] = Factory(list)
    #: ``flavor:service``: reuse a host conversion template.
    config_ref: str = ""
    #: Seconds; 0 → the default (60 unary, 300 streaming); negative → no limit.
    timeout: int = 0
    middlewares: list[str] = Factory(list)
    capabilities: ServiceCapabilities = Factory(ServiceCapabilities)

    def supports_streaming(self) -> bool:
        """The seed's rule: a WebSocket ``protocol`` streams by nature, else ``support_streaming`` says."""
        return self.protocol.upper() in _SOCKETS or self.capabilities.support_streaming

    def supports_bidirectional(self) -> bool:
        """The seed's rule: a WebSocket ``expose_protocol`` talks both ways, else ``support_bidirectional`` says."""
        return self.expose_protocol.upper() in _SOCKETS or self.capabilities.support_bidirectional

    def invoke_mode(self) -> str:
        """The recommended mode, as the seed's ``GetInvokeMode``: ``bidirectional``, ``streaming`` or ``unary``."""
        if self.protocol.upper() in _SOCKETS:
            return "bidirectional"
        return "streaming" if self.capabilities.support_streaming else "unary"

    def time_limit(self, *, streaming: bool) -> float | None:
        """The call's time limit in seconds (``None``: none), by the seed's rule."""
        if self.timeout > 0:
            return float(self.timeout)
        if self.timeout < 0:
            return None
        return STREAM_TIMEOUT if streaming else UNARY_TIMEOUT


@payload(case="snake")
class PlatformConfig:
    #: The provider's executable, relative to the manifest's directory.
    executable: str = ""
    dependencies: list[str] = Factory(list)


@payload(case="snake")
class OllamaResources:
    executable: str = ""
    models_dir: str = ""
    download_dir: str = ""


@payload(case="snake")
class ResourcesConfig:
    data_dir: str = ""
    ollama: OllamaResources | None = None


@payload(case="snake")
class ProviderManifest:
    """A provider's manifest (the seed's ``PluginManifest``)."""

    version: str = ""
    provider: ProviderInfo = Factory(ProviderInfo)
    services: list[ServiceDef] = Factory(list)
    #: ``<os>_<arch>`` (Go's names: ``linux_amd64``, ``darwin_arm64`` …) → that platform's executable.
    platforms: dict[str, PlatformConfig] = Factory(dict)
    resources: ResourcesConfig | None = None

    @property
    def name(self) -> str:
        return self.provider.name

    def service(self, name: str) -> ServiceDef | None:
        """The service called ``name``, or ``None``."""
        return next((s for s in self.services if s.service_name == name), None)

    def service_names(self) -> list[str]:
        return [s.service_name for s in self.services]

    def platform(self, key: str | None = None) -> PlatformConfig | None:
        """The configuration for ``key`` (default: this machine's, :func:`platform_key`)."""
        return self.platforms.get(key or platform_key())


def platform_key() -> str:
    """This machine as the seed names platforms: Go's ``GOOS_GOARCH`` (``linux_amd64``)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386"}.get(
        machine, machine
    )
    return f"{sys.platform.rstrip('0123456789')}_{arch}"


def parse_manifest(data: Mapping[str, Any] | str | bytes, *, source: str = "manifest") -> ProviderManifest:
    """A manifest from its parsed data, or YAML / JSON text; :class:`ManifestError` names ``source`` and the field."""
    if isinstance(data, str | bytes):
        import yaml  # type: ignore[import-untyped]  # deferred: PyYAML is slow to import, and only manifests need it

        try:
            data = yaml.safe_load(data)  # JSON is YAML
        except yaml.YAMLError as exc:
            raise ManifestError(message=f"{source}: not valid YAML or JSON: {_first_line(exc)}") from None
    if not isinstance(data, Mapping):
        raise ManifestError(message=f"{source}: expected a mapping at the top, found {type(data).__name__}")
    try:
        manifest = wire.from_wire(dict(data), ProviderManifest)
    except wire.WireError as exc:
        raise ManifestError(message=f"{source}: {exc}") from None
    problems = _problems(manifest)
    if problems:
        raise ManifestError(message=f"{source}: " + "; ".join(problems))
    return manifest


def _problems(manifest: ProviderManifest) -> list[str]:
    provider, problems = manifest.provider, []
    if not provider.name.strip():
        problems.append("provider.name is required")
    if provider.type not in PROVIDER_TYPES:
        problems.append(f"provider.type must be one of {', '.join(PROVIDER_TYPES)} (found {provider.type!r})")
    if provider.type == "local" and not provider.engine_host.strip():
        problems.append("provider.engine_host is required for a local provider")
    if not manifest.services:
        problems.append("services: a provider offers at least one service")
    seen: set[str] = set()
    for i, service in enumerate(manifest.services):
        where = f"services[{i}]"
        if not service.service_name.strip():
            problems.append(f"{where}.service_name is required")
        elif service.service_name in seen:
            problems.append(f"{where}.service_name {service.service_name!r} is offered twice")
        seen.add(service.service_name)
        if service.auth_type and service.auth_type not in AUTH_TYPES:
            problems.append(f"{where}.auth_type must be one of {', '.join(AUTH_TYPES)} (found {service.auth_type!r})")
        if service.config_ref and service.config_ref.count(":") != 1:
            problems.append(f"{where}.config_ref must be 'flavor:service' (found {service.config_ref!r})")
    for key, config in manifest.platforms.items():
        if not config.executable:
            problems.append(f"platforms.{key}.executable is required")
        elif os.path.isabs(config.executable) or ".." in Path(config.executable).parts:
            problems.append(f"platforms.{key}.executable must be a path inside the plugin's directory")
    return problems


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def load_manifest(directory: str | os.PathLike[str]) -> ProviderManifest:
    """The manifest in ``directory``: ``plugin.yaml`` if there is one, else ``plugin.json`` (the seed's order)."""
    for name in MANIFEST_FILES:
        path = Path(directory, name)
        if path.is_file():
            return _read(path)
    raise ManifestError(message=f"no {' or '.join(MANIFEST_FILES)} in {directory}")


def _read(path: Path) -> ProviderManifest:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(message=f"{path}: cannot be read: {exc}") from None
    if path.suffix == ".json":
        try:
            return parse_manifest(json.loads(text), source=str(path))
        except json.JSONDecodeError as exc:
            raise ManifestError(message=f"{path}: not valid JSON: {exc}") from None
    return parse_manifest(text, source=str(path))


def find_manifest(installed: InstalledPlugin) -> Path | None:
    """Where the installed plugin's manifest is, found without importing it: in the package directory of the entry
    point's module (``pkg.sub:obj`` → ``pkg/sub/`` when ``sub`` is a package, else ``pkg/``), never above it.
    ``None``: the plugin ships none (it is no provider)."""
    parts = installed.value.split(":", 1)[0].strip().split(".")
    for root in _roots(installed, parts[0]):
        module = root.joinpath(*parts[1:])
        directory = module if module.is_dir() else module.parent
        for name in MANIFEST_FILES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def _roots(installed: InstalledPlugin, top: str) -> list[Path]:
    """Where the top-level package ``top`` may be: beside the distribution's metadata directory (an ordinary
    install), else where the import system would find it (an editable install; locating a top-level package
    runs none of its code)."""
    roots = [Path(installed.location).parent / top]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        roots.extend(Path(p) for p in spec.submodule_search_locations)
    return [r for r in roots if r.is_dir()]


def support_model_list(manifest: ProviderManifest) -> list[RecommendModel]:
    """The provider's supported models as the seed's client derives them (``GetSupportModelList``): one entry per
    ``support_models`` item of each service, ID ``provider:service:model``, recommended and default when it is the
    service's ``default_model``."""
    provider = manifest.provider
    return [
        RecommendModel(
            id=f"{provider.name}:{service.service_name}:{model}",
            service_name=service.service_name,
            method="POST",
            desc=provider.description,
            url=service.endpoint,
            auth_type=service.auth_type,
            auth_apply_url=provider.homepage,
            name=model,
            service_provider_name=provider.name,
            is_recommended=model == service.default_model,
            can_select=True,
            source=provider.type,
            is_default="true" if model == service.default_model else "false",
        )
        for service in manifest.services
        for model in service.support_models
    ]
