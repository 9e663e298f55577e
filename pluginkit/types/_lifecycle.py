"""``plugin.register`` / ``plugin.reconfigure`` / ``plugin.shutdown`` payloads."""

from __future__ import annotations

from typing import Any

from attrs import Factory

from pluginkit import wire
from pluginkit.wire._payload import payload, wire_field

__all__ = ["Capabilities", "ConfigField", "LifecycleRequest", "PluginMetadata", "Registration"]

#: Types a declared config field may have (``ConfigField.type``).
CONFIG_FIELD_TYPES = ("string", "number", "integer", "boolean", "enum", "array", "object")


@payload(case="snake")
class LifecycleRequest:
    """Params of ``plugin.register`` and ``plugin.reconfigure``: the plugin's own settings.

    On the wire the settings travel as ``config_yaml`` (base64 of a YAML document), as in the seed, and pluginkit
    writes YAML there as the seed host does, so a ported plugin parsing YAML reads it. :attr:`config` reads YAML
    or JSON (which is YAML too) back into a mapping.
    """

    config_yaml: bytes = b""

    @classmethod
    def from_config(
        cls, config: dict[str, Any], *, enabled: bool | None = None, priority: int | None = None
    ) -> LifecycleRequest:
        """Build the request for a settings mapping: a YAML document of it, with ``enabled`` and ``priority``
        added when given and not set already — what the seed host sends (CLIProxyAPI
        ``internal/pluginhost/config.go``, ``runtimeConfigYAML``), and what the manager does for every plugin."""
        import yaml  # type: ignore[import-untyped]  # deferred: PyYAML is slow to import, and only registration needs it

        mapping = dict(wire.sanitize_json(config))
        if enabled is not None:
            mapping.setdefault("enabled", enabled)
        if priority is not None:
            mapping.setdefault("priority", priority)
        text: str = yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)
        return cls(config_yaml=text.encode())

    @property
    def config(self) -> dict[str, Any]:
        """The settings as a mapping (empty when none were given)."""
        text = self.config_yaml.strip()
        if not text:
            return {}
        try:
            value = wire.loads(text)
        except wire.WireError:
            value = _load_yaml(text)
        if not isinstance(value, dict):
            raise wire.WireError("expected a mapping", ["config_yaml"])
        return value


def _load_yaml(text: bytes) -> Any:
    try:
        import yaml  # deferred: PyYAML is slow to import, and JSON needs no YAML parser
    except ImportError:  # pragma: no cover - a dependency of pluginkit
        raise wire.WireError("config_yaml is YAML; PyYAML is needed to read it", ["config_yaml"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise wire.WireError(f"malformed YAML: {exc}", ["config_yaml"]) from None


@payload
class ConfigField:
    """One setting a plugin accepts, declared so hosts can check and render configuration."""

    name: str = ""
    #: One of ``string``, ``number``, ``integer``, ``boolean``, ``enum``, ``array``, ``object``.
    type: str = ""
    enum_values: list[str] = Factory(list)
    description: str = ""


@payload
class PluginMetadata:
    """Who a plugin is. ``name``, ``version``, ``author`` and ``github_repository`` are required for a valid
    registration (an installed plugin missing one is left out); the manager fills blanks from the distribution's
    metadata first."""

    name: str = ""
    version: str = ""
    author: str = ""
    github_repository: str = wire_field(default="", name="GitHubRepository")
    #: URL of an image shown next to the plugin.
    logo: str = ""
    config_fields: list[ConfigField] = Factory(list)


@payload(case="snake")
class Capabilities:
    """What a plugin implements. Each flag names a family of methods (see ``pluginkit methods``)."""

    model_registrar: bool = False
    model_provider: bool = False
    auth_provider: bool = False
    frontend_auth_provider: bool = False
    #: With ``frontend_auth_provider``: become the only frontend authenticator (highest priority wins).
    frontend_auth_provider_exclusive: bool = False
    scheduler: bool = False
    executor: bool = False
    #: ``both`` (default), ``static`` or ``oauth``: which models the executor serves.
    executor_model_scope: str = ""
    executor_input_formats: list[str] = Factory(list)
    executor_output_formats: list[str] = Factory(list)
    request_translator: bool = False
    request_normalizer: bool = False
    request_interceptor: bool = False
    response_translator: bool = False
    response_before_translator: bool = False
    response_after_translator: bool = False
    response_interceptor: bool = False
    response_stream_interceptor: bool = False
    thinking_applier: bool = False
    usage_plugin: bool = False
    command_line_plugin: bool = False
    management_api: bool = False
    # pluginkit's own families (unknown keys to a Go host, which ignores them):
    #: ``tool.*``: the plugin provides tools.
    tool_provider: bool = False
    #: ``session.*``: the plugin provides a chat-session store.
    session_store: bool = False
    #: ``message.*``: the plugin answers chat messages, and may stream its answers (seed 000).
    message_plugin: bool = False
    #: ``provider.*``: the plugin is an AI-service provider with a manifest (seed 003).
    ai_provider: bool = False

    def declared(self) -> frozenset[str]:
        """The names of the boolean capability flags that are set."""
        return frozenset(
            name for name, value in ((f, getattr(self, f)) for f in _FLAG_NAMES) if value is True
        )


@payload(case="snake")
class Registration:
    """Result of ``plugin.register`` / ``plugin.reconfigure``."""

    schema_version: int = 0
    metadata: PluginMetadata = Factory(PluginMetadata)
    capabilities: Capabilities = Factory(Capabilities)


_FLAG_NAMES = tuple(
    name
    for name, tp in Capabilities.__annotations__.items()
    if tp in ("bool", bool)
)
