"""AI-service providers (seed 003, Intel AOG's plugin SDK): plugins that serve ``chat``, ``embed``,
``text-to-image`` … from a local engine they install, start and manage models for, or from a remote API they
authenticate to.

A provider plugin ships a manifest (``plugin.yaml`` or ``plugin.json`` beside its module), declares the
``ai_provider`` capability and implements the ``provider.*`` hooks its type calls for. A host reaches providers
through a :class:`ProviderHost`; see ``docs/providers.md``.
"""

from pluginkit.providers._engine import EngineProcess, announce_port, exit_with_host
from pluginkit.providers._errors import CATALOGUE, STATUS_CODES, ProviderError, envelope_code, number, status_of_text
from pluginkit.providers._executor import ProviderExecutor
from pluginkit.providers._host import ProviderHost, report_progress
from pluginkit.providers._manifest import (
    AUTH_TYPES,
    SERVICE_NAMES,
    ManifestError,
    PlatformConfig,
    ProviderInfo,
    ProviderManifest,
    ResourcesConfig,
    ServiceCapabilities,
    ServiceDef,
    find_manifest,
    load_manifest,
    parse_manifest,
    platform_key,
    support_model_list,
)
from pluginkit.providers._provider import Conflict, Health, Provider, ProviderStatus
from pluginkit.providers._services import incoming
from pluginkit.providers._types import (
    AuthRequest,
    AuthResult,
    BidiCall,
    BidiMessage,
    EngineConfig,
    EngineInstalled,
    EngineModel,
    EngineStart,
    EngineVersion,
    ModelDetails,
    ModelList,
    ModelRef,
    OperateStatus,
    ProgressReport,
    ProgressResponse,
    PullModelRequest,
    RecommendModel,
    ServiceCall,
    ServiceChunk,
    ServiceResponse,
    UnloadModelRequest,
)

__all__ = [
    "AUTH_TYPES",
    "CATALOGUE",
    "SERVICE_NAMES",
    "STATUS_CODES",
    "AuthRequest",
    "AuthResult",
    "BidiCall",
    "BidiMessage",
    "Conflict",
    "EngineConfig",
    "EngineInstalled",
    "EngineModel",
    "EngineProcess",
    "EngineStart",
    "EngineVersion",
    "Health",
    "ManifestError",
    "ModelDetails",
    "ModelList",
    "ModelRef",
    "OperateStatus",
    "PlatformConfig",
    "ProgressReport",
    "ProgressResponse",
    "Provider",
    "ProviderError",
    "ProviderExecutor",
    "ProviderHost",
    "ProviderInfo",
    "ProviderManifest",
    "ProviderStatus",
    "PullModelRequest",
    "RecommendModel",
    "ResourcesConfig",
    "ServiceCall",
    "ServiceCapabilities",
    "ServiceChunk",
    "ServiceDef",
    "ServiceResponse",
    "UnloadModelRequest",
    "announce_port",
    "envelope_code",
    "exit_with_host",
    "find_manifest",
    "incoming",
    "load_manifest",
    "number",
    "parse_manifest",
    "platform_key",
    "report_progress",
    "status_of_text",
    "support_model_list",
]
