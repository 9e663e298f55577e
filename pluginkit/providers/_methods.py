"""The ``provider.*`` family of the ABI table (listed in :mod:`pluginkit.abi._families`): seed 003's provider
interfaces — ``PluginProvider``, ``LocalPluginProvider``, ``RemotePluginProvider``, ``StreamablePlugin``,
``BidirectionalPlugin`` — one hook per Go method, named by the Go name in snake case (``InvokeServiceStream`` →
``provider.invoke_service_stream``). A plugin declaring ``ai_provider`` implements those its manifest's type calls
for; the host's :class:`~pluginkit.providers.ProviderHost` calls them on the plugin that owns the provider.

``GetSupportModelList`` has no hook: the seed's client derives it from the manifest (no RPC), and so does
:meth:`ProviderHost.support_model_list`. ``GetManifest`` is a hook only for plugins that build their manifest at
run time; the host reads the file the distribution ships.
"""

from __future__ import annotations

from pluginkit import types as t
from pluginkit.abi import Combine, Fallback, Method
from pluginkit.providers import _types as p
from pluginkit.providers._manifest import ProviderManifest

__all__ = ["METHODS"]

_NOTE = "The host calls it on the plugin that owns the provider (its manifest's ``provider.name``)."


def _hook(
    name: str, params: type, result: type, summary: str, doc: str, *, timeout: float | None = 30.0,
    yields: bool = False,
) -> Method:
    return Method(
        name, params, result, Combine.SINGLE_OWNER, capability="ai_provider", owner="priority",
        fallback=Fallback.ZERO, summary=summary, doc=f"{doc}\n\n{_NOTE}", timeout=timeout, yields=yields,
    )


_SERVICE_LIMIT = (
    "Its time limit is the service's (manifest ``timeout``: 0 → 60 s unary, 300 s streamed; negative → none)."
)

METHODS: tuple[Method, ...] = (
    # -- PluginProvider ----------------------------------------------------------------------------------------------
    _hook(
        "provider.get_manifest", t.Empty, ProviderManifest, "The manifest, built at run time (GetManifest).",
        "Optional, and rarely needed: the host reads the manifest the distribution ships (``plugin.yaml`` or\n"
        "``plugin.json`` beside the plugin's module) without importing the plugin.",
    ),
    _hook(
        "provider.get_operate_status", t.Empty, p.OperateStatus, "The plugin's status number (GetOperateStatus).",
        "The plugin's own notion (the seed SDK's adapters: 0 stopped, 1 running, 2 error); the host's view of a\n"
        "provider is ``ProviderHost.status``.",
    ),
    _hook(
        "provider.set_operate_status", p.OperateStatus, t.Empty, "Set the status number (SetOperateStatus).",
        "Keep the number; answer it from ``provider.get_operate_status``.",
    ),
    _hook(
        "provider.health_check", t.Empty, t.Empty, "Is the provider healthy? (HealthCheck)",
        "Return normally when it is; raise (``ProviderError(2006, ...)``) when it is not. A failed check marks a\n"
        "local provider's engine down: the next use starts it again.",
    ),
    _hook(
        "provider.invoke_service", p.ServiceCall, p.ServiceResponse, "Call a service (InvokeService).",
        f"Answer the service's response body. {_SERVICE_LIMIT}", timeout=None,
    ),
    # -- StreamablePlugin, BidirectionalPlugin ---------------------------------------------------------------------
    _hook(
        "provider.invoke_service_stream", p.ServiceCall, p.ServiceChunk,
        "Call a service, streamed (InvokeServiceStream).",
        "A generator (``def`` or ``async def``) of ``ServiceChunk``: the stream ends after a chunk with\n"
        f"``is_final``, when the generator ends, or at a chunk with ``error``. {_SERVICE_LIMIT} It bounds the whole\n"
        "stream. Only for services whose manifest says they stream.", timeout=None, yields=True,
    ),
    _hook(
        "provider.invoke_service_bidirectional", p.BidiCall, p.BidiMessage,
        "Talk both ways with a service (InvokeServiceBidirectional).",
        "A generator of the ``BidiMessage``\\ s to send; read the incoming ones with\n"
        "``async for message in pluginkit.providers.incoming(ctx, params)`` (where the seed reads ``inStream``).\n"
        "Only for services whose manifest says they are bidirectional.", timeout=None, yields=True,
    ),
    # -- LocalPluginProvider: the engine ---------------------------------------------------------------------------
    _hook(
        "provider.start_engine", p.EngineStart, t.Empty, "Start the engine (StartEngine).",
        "``params.mode`` is ``cpu``, ``gpu`` or ``auto``. Return once it is started; the host then waits for\n"
        "``provider.health_check`` to pass.", timeout=120.0,
    ),
    _hook("provider.stop_engine", t.Empty, t.Empty, "Stop the engine (StopEngine).", "Stop what start_engine started."),
    _hook(
        "provider.get_config", t.Empty, p.EngineConfig, "The engine's configuration (GetConfig).",
        "Where the engine is and how it is reached (``EngineRecommendConfig``).",
    ),
    _hook(
        "provider.check_engine", t.Empty, p.EngineInstalled, "Is the engine installed? (CheckEngine)",
        "The host installs an engine that is not (``provider.install_engine``) before starting it.",
    ),
    _hook(
        "provider.install_engine", t.Empty, t.Empty, "Install the engine (InstallEngine).",
        "No time limit: installing may download.", timeout=None,
    ),
    _hook("provider.init_env", t.Empty, t.Empty, "Prepare the environment (InitEnv).", "Called before each start."),
    _hook(
        "provider.upgrade_engine", t.Empty, t.Empty, "Upgrade the engine (UpgradeEngine).",
        "No time limit.", timeout=None,
    ),
    _hook(
        "provider.get_version", p.EngineVersion, p.EngineVersion, "The engine's version (GetVersion).",
        "The params are a template (the seed's ``resp`` argument); answer it filled.",
    ),
    # -- LocalPluginProvider: models -------------------------------------------------------------------------------
    _hook(
        "provider.pull_model", p.PullModelRequest, p.ProgressResponse, "Pull a model (PullModel).",
        "Blocking; report progress with ``pluginkit.providers.report_progress(ctx, params, progress)`` (the\n"
        "seed's ``PullProgressFunc``) and answer the final progress. No time limit.", timeout=None,
    ),
    _hook(
        "provider.pull_model_stream", p.PullModelRequest, p.ProgressResponse, "Pull a model, streamed.",
        "A generator of ``ProgressResponse`` (the seed's ``PullModelStream`` channel). No time limit.",
        timeout=None, yields=True,
    ),
    _hook("provider.delete_model", p.ModelRef, t.Empty, "Delete a model (DeleteModel).", "Raise 3000 if unknown."),
    _hook("provider.list_models", t.Empty, p.ModelList, "The models the engine holds (ListModels).", "Downloaded."),
    _hook(
        "provider.load_model", p.ModelRef, t.Empty, "Load a model into memory (LoadModel).", "Raise 3000 if unknown.",
        timeout=300.0,
    ),
    _hook("provider.unload_model", p.UnloadModelRequest, t.Empty, "Unload models (UnloadModel).", "From memory."),
    _hook(
        "provider.get_running_models", t.Empty, p.ModelList, "The models in memory (GetRunningModels).", "Loaded.",
    ),
    # -- RemotePluginProvider ----------------------------------------------------------------------------------------
    _hook(
        "provider.set_auth", p.AuthRequest, p.AuthResult, "Authenticate a request (SetAuth).",
        "Keep the credentials and answer the headers that authenticate ``params``' request (the seed edits the\n"
        "``*http.Request``; a hook answers the edit). Never log the credentials.",
    ),
    _hook(
        "provider.validate_auth", t.Empty, t.Empty, "Are the credentials valid? (ValidateAuth)",
        "Raise ``ProviderError(14, ...)`` (``unauthenticated``) when they are not.",
    ),
    _hook(
        "provider.refresh_auth", t.Empty, t.Empty, "Refresh the credentials (RefreshAuth).",
        "For tokens that expire (OAuth), or keys that rotate.",
    ),
    # -- the host's callback -----------------------------------------------------------------------------------------
    Method(
        "host.provider.pull_progress", p.ProgressReport, t.Empty, Combine.HOST, fallback=Fallback.ERROR,
        summary="Report a model pull's progress (the seed's PullProgressFunc).",
        doc="A host callback: ``pluginkit.providers.report_progress(ctx, params, progress)`` calls it from\n"
        "``provider.pull_model``; the host hands the progress to the caller's callback.",
    ),
)
