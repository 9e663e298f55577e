"""The provider family's data: service calls and their chunks, bidirectional messages, engines, models, auth.

Field names and JSON spellings are seed 003's (Intel AOG's ``plugin-sdk/types``): snake_case. Bodies the seed
carries as ``[]byte`` JSON (a service's request and response, a chunk's data) are ``bytes`` here.
"""

from __future__ import annotations

from datetime import datetime

from attrs import Factory

from pluginkit.types import Headers
from pluginkit.wire._payload import payload

__all__ = [
    "AuthRequest",
    "AuthResult",
    "BidiCall",
    "BidiMessage",
    "EngineConfig",
    "EngineInstalled",
    "EngineModel",
    "EngineStart",
    "EngineVersion",
    "ModelDetails",
    "ModelList",
    "ModelRef",
    "OperateStatus",
    "ProgressReport",
    "ProgressResponse",
    "PullModelRequest",
    "RecommendModel",
    "ServiceCall",
    "ServiceChunk",
    "ServiceResponse",
    "UnloadModelRequest",
]


@payload(case="snake")
class ServiceCall:
    """Params of ``provider.invoke_service`` and ``provider.invoke_service_stream`` (the seed's ``InvokeService(ctx,
    serviceName, authInfo, request)``)."""

    #: The service (``chat``, ``embed``, ``text-to-image`` …), as the manifest names it.
    service_name: str = ""
    #: The caller's credential for the service (empty for most local providers).
    auth_info: str = ""
    #: The request body, usually JSON.
    request: bytes = b""


@payload(case="snake")
class ServiceResponse:
    """Result of ``provider.invoke_service``: the response body."""

    response: bytes = b""


@payload(case="snake")
class ServiceChunk:
    """One piece of a streamed service answer (the seed's ``StreamChunk``).

    The stream ends after a chunk with ``is_final``, when the plugin's iterator ends, or at a chunk with ``error``
    (text, its code read from the words as the seed host reads them; a plugin may also just raise).
    """

    data: bytes = b""
    error: str = ""
    is_final: bool = False
    #: Per-chunk facts, such as ``content-type``.
    metadata: dict[str, str] = Factory(dict)


@payload(case="snake")
class BidiCall:
    """Params of ``provider.invoke_service_bidirectional``: which service, for which connection. The messages
    themselves come from ``pluginkit.providers.incoming(ctx, params)`` and go out as the hook yields them."""

    service_name: str = ""
    ws_conn_id: str = ""
    auth_info: str = ""


@payload(case="snake")
class BidiMessage:
    """One message of a bidirectional call (the seed's ``BidiMessage``): ``message_type`` is ``text``,
    ``binary``, ``ping``, ``pong`` or ``close``. The host puts ``ws_conn_id`` in each incoming message's
    ``metadata``."""

    data: bytes = b""
    message_type: str = "text"
    metadata: dict[str, str] = Factory(dict)
    error: str = ""


@payload(case="snake")
class OperateStatus:
    """Params of ``provider.set_operate_status``, result of ``provider.get_operate_status``: the plugin's own
    status number (the SDK's adapters use 0 stopped, 1 running, 2 error)."""

    status: int = 0


@payload(case="snake")
class EngineStart:
    """Params of ``provider.start_engine``: ``cpu``, ``gpu`` or ``auto``."""

    mode: str = "auto"


@payload(case="snake")
class EngineInstalled:
    """Result of ``provider.check_engine`` (the seed's ``CheckEngine() (bool, error)``)."""

    installed: bool = False


@payload(case="snake")
class EngineConfig:
    """Result of ``provider.get_config`` (the seed's ``EngineRecommendConfig``)."""

    host: str = ""
    origin: str = ""
    scheme: str = ""
    recommend_model: str = ""
    download_url: str = ""
    download_path: str = ""
    engine_path: str = ""
    exec_path: str = ""
    exec_file: str = ""
    device_type: str = ""


@payload(case="snake")
class EngineVersion:
    """Params and result of ``provider.get_version`` (the seed's ``EngineVersionResponse``: the params are a
    template the plugin fills)."""

    version: str = ""


@payload(case="snake")
class PullModelRequest:
    """Params of ``provider.pull_model`` and ``provider.pull_model_stream``."""

    model: str = ""
    insecure: bool = False
    username: str = ""
    password: str = ""
    stream: bool | None = None
    #: An alias of ``model`` (kept by the seed for backward compatibility).
    name: str = ""
    model_type: str = ""
    #: Set by the host for ``provider.pull_model``: where ``report_progress`` sends progress.
    pull_id: str = ""


@payload(case="snake")
class ProgressResponse:
    """Progress of a model pull: ``status`` (``pulling``, ``success`` …), and bytes ``completed`` of ``total``."""

    status: str = ""
    digest: str = ""
    total: int = 0
    completed: int = 0


@payload(case="snake")
class ProgressReport:
    """Params of the ``host.provider.pull_progress`` callback: one progress step of the pull ``pull_id``."""

    pull_id: str = ""
    progress: ProgressResponse = Factory(ProgressResponse)


@payload(case="snake")
class ModelRef:
    """Params of ``provider.delete_model`` and ``provider.load_model`` (``DeleteRequest``, ``LoadRequest``)."""

    model: str = ""


@payload(case="snake")
class UnloadModelRequest:
    """Params of ``provider.unload_model``."""

    models: list[str] = Factory(list)


@payload(case="snake")
class ModelDetails:
    format: str = ""
    family: str = ""
    families: list[str] = Factory(list)
    parameter_size: str = ""
    quantization_level: str = ""


@payload(case="snake")
class EngineModel:
    """A model an engine holds (the seed's ``ModelInfo``)."""

    name: str = ""
    model: str = ""
    modified_at: datetime | None = None
    size: int = 0
    digest: str = ""
    details: ModelDetails | None = None


@payload(case="snake")
class ModelList:
    """Result of ``provider.list_models`` and ``provider.get_running_models`` (the seed's ``ListResponse``)."""

    models: list[EngineModel] = Factory(list)


@payload(case="snake")
class AuthRequest:
    """Params of ``provider.set_auth`` (the seed's ``SetAuth(req, authInfo, credentials)``): the outgoing request
    (method, URL, headers) to authenticate, the auth type and the credentials."""

    method: str = "POST"
    url: str = ""
    headers: Headers = Factory(dict)
    auth_type: str = ""
    credentials: dict[str, str] = Factory(dict)


@payload(case="snake")
class AuthResult:
    """Result of ``provider.set_auth``: the headers to set on the request. A hook never changes its params (each
    plugin gets its own copy), so where the seed's ``SetAuth`` edits the ``*http.Request``, this one answers the
    edit."""

    headers: Headers = Factory(dict)


@payload(case="snake")
class RecommendModel:
    """One entry of a provider's supported-model list (the seed's ``RecommendModelData``), derived from the
    manifest: one per ``support_models`` item of each service."""

    id: str = ""
    service_name: str = ""
    api_flavor: str = ""
    flavor: str = ""
    method: str = "POST"
    desc: str = ""
    url: str = ""
    auth_type: str = ""
    auth_apply_url: str = ""
    auth_fields: list[str] | None = None
    name: str = ""
    service_provider_name: str = ""
    size: str = ""
    is_recommended: bool = False
    status: str = ""
    avatar: str = ""
    can_select: bool = False
    source: str = ""
    #: ``"true"`` or ``"false"``: a string in the seed.
    is_default: str = "false"
