"""``model.*`` payloads and the host summary several families receive."""

from __future__ import annotations

from attrs import Factory

from pluginkit.types._auth_data import AuthData
from pluginkit.types._common import Metadata, callback_id_field
from pluginkit.types._lifecycle import PluginMetadata
from pluginkit.wire._payload import payload, wire_field

__all__ = [
    "HostConfigSummary",
    "ModelAlias",
    "ModelForAuthRequest",
    "ModelInfo",
    "ModelRegisterRequest",
    "ModelRegistration",
    "ModelSet",
    "ModelStaticRequest",
    "ThinkingSupport",
]


@payload
class ThinkingSupport:
    """How a model can reason: a token budget range and/or named levels."""

    min: int = 0
    max: int = 0
    zero_allowed: bool = False
    dynamic_allowed: bool = False
    levels: list[str] = Factory(list)


@payload
class ModelInfo:
    """A model a provider serves. Models with a blank ``id`` are dropped by the host."""

    id: str = ""
    object: str = ""
    #: Unix seconds.
    created: int = 0
    owned_by: str = ""
    type: str = ""
    display_name: str = ""
    name: str = ""
    version: str = ""
    description: str = ""
    input_token_limit: int = 0
    output_token_limit: int = 0
    supported_generation_methods: list[str] = Factory(list)
    context_length: int = 0
    max_completion_tokens: int = 0
    supported_parameters: list[str] = Factory(list)
    supported_input_modalities: list[str] = Factory(list)
    supported_output_modalities: list[str] = Factory(list)
    thinking: ThinkingSupport | None = None
    user_defined: bool = False


@payload
class ModelAlias:
    name: str = ""
    alias: str = ""


@payload
class HostConfigSummary:
    """The parts of the host's configuration a plugin may need to register models or auths."""

    auth_dir: str = ""
    proxy_url: str = ""
    force_model_prefix: bool = False
    oauth_model_alias: dict[str, list[ModelAlias]] = wire_field(factory=dict, name="OAuthModelAlias")
    excluded_models: dict[str, list[str]] = Factory(dict)


@payload
class ModelRegisterRequest:
    """Params of ``model.register``."""

    plugin: PluginMetadata = Factory(PluginMetadata)


@payload
class ModelRegistration:
    """Result of ``model.register``: an empty provider or no models means nothing is registered."""

    provider: str = ""
    models: list[ModelInfo] = Factory(list)


@payload
class ModelStaticRequest:
    """Params of ``model.static``."""

    plugin: PluginMetadata = Factory(PluginMetadata)
    host: HostConfigSummary = Factory(HostConfigSummary)


@payload
class ModelForAuthRequest:
    """Params of ``model.for_auth``: which models one credential can use."""

    plugin: PluginMetadata = Factory(PluginMetadata)
    auth_id: str = ""
    auth_provider: str = ""
    storage_json: bytes = b""
    metadata: Metadata = Factory(dict)
    attributes: dict[str, str] = Factory(dict)
    host: HostConfigSummary = Factory(HostConfigSummary)
    host_callback_id: str = callback_id_field()


@payload
class ModelSet:
    """Result of ``model.static`` and ``model.for_auth``; ``auth_update`` replaces the stored credential."""

    provider: str = ""
    models: list[ModelInfo] = Factory(list)
    auth_update: AuthData | None = None
