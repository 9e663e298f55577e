"""The seed family: every method of CLIProxyAPI's plugin ABI (seed 004), verbatim names, in the seed's order.

A family is data: this module's :data:`METHODS`, read by :mod:`pluginkit.abi._families` when the table is first
used. The other families (``pluginkit.tools._methods``, ``pluginkit.sessions._methods``) follow the same recipe.
"""

from __future__ import annotations

from pluginkit import types as t
from pluginkit.abi._table import Combine, Fallback, Method, Stage

__all__ = ["METHODS"]

_HOST_DOC = (
    "Answered by the host; a plugin reaches it through its context (``ctx``). Failures give ``host_call_failed``."
)


def _identifier(name: str, capability: str, what: str) -> Method:
    """A ``<family>.identifier`` method: a plugin names the provider (or authenticator) a capability serves."""
    return Method(
        name, t.Empty, t.Identifier, Combine.FAN_OUT, capability=capability, stage=Stage.STARTUP,
        may_be_async=False, timeout=None,
        summary=f"Name {what}.",
        doc=f"""
        Return ``Identifier(identifier=...)``: {what}. The host trims it (and lower-cases provider keys); a
        blank identifier leaves the capability unused. Called once per registration, so it must answer
        synchronously and cheaply.
        """,
    )


def _host(name: str, params: type, result: type, summary: str) -> Method:
    """A host callback: the host answers it, plugins reach it through ``ctx``."""
    return Method(name, params, result, Combine.HOST, summary=summary, doc=_HOST_DOC, fallback=Fallback.ERROR)


#: The seed ABI's methods, in the seed's order (a conformance test checks the names verbatim).
METHODS: tuple[Method, ...] = (
    # -- lifecycle ----------------------------------------------------------------------------------------
    Method(
        "plugin.register", t.LifecycleRequest, t.Registration, Combine.FAN_OUT,
        summary="Introduce the plugin: metadata, config fields, capabilities.",
        doc="""
        Called once, when the plugin is loaded, with its settings (``params.config``). Return a
        ``Registration`` with ``schema_version``, ``metadata`` (``name``, ``version``, ``author`` and
        ``github_repository`` are required; blanks are filled from the distribution's metadata) and the
        ``capabilities`` flags of the hooks the plugin implements. As the seed host does, an answer that still
        lacks one of the four (an installed plugin's), or declares no capability, leaves the plugin out:
        ``invalid_registration``, shown by ``pluginkit list`` and ``doctor``. Not implementing this hook at all
        is fine: capabilities then follow from the hooks implemented. Raise ``PluginError("invalid_config",
        ...)`` to refuse settings you cannot work with.
        """,
    ),
    Method(
        "plugin.reconfigure", t.LifecycleRequest, t.Registration, Combine.FAN_OUT,
        summary="Take new settings without reloading.",
        doc="""
        Called when the host's configuration changes, with the plugin's new settings; answer as for
        ``plugin.register``. Without this hook the plugin keeps its first registration.
        """,
    ),
    Method(
        "plugin.shutdown", t.Empty, t.Empty, Combine.FAN_OUT, timeout=10.0,
        summary="Release resources before the host stops.",
        doc="""
        Called once when the manager shuts down, after in-flight calls have finished. Close files, pools and
        threads here; the call has a time limit, after which the host goes on without waiting.
        """,
    ),
    # -- models -------------------------------------------------------------------------------------------
    Method(
        "model.register", t.ModelRegisterRequest, t.ModelRegistration, Combine.FAN_OUT,
        capability="model_registrar", stage=Stage.STARTUP,
        summary="Declare the models of a provider (used when model.static is absent).",
        doc="""
        Return the provider key and its models. Models with a blank ``id`` are dropped; an empty provider or no
        models registers nothing. ``model.static`` is preferred when a plugin has both.
        """,
    ),
    Method(
        "model.static", t.ModelStaticRequest, t.ModelSet, Combine.FAN_OUT,
        capability="model_provider", stage=Stage.STARTUP,
        summary="Declare the models a provider always serves.",
        doc="""
        Return the provider key and the models it serves whatever the credential, optionally with an
        ``auth_update`` the host stores. ``params.host`` summarises the host's configuration (aliases,
        exclusions).
        """,
    ),
    Method(
        "model.for_auth", t.ModelForAuthRequest, t.ModelSet, Combine.SINGLE_OWNER,
        capability="model_provider", stage=Stage.STARTUP, owner="provider",
        summary="List the models one credential can use.",
        doc="""
        Called for each credential of the plugin's provider (``params.auth_provider``) to learn which models it
        unlocks. Return them as for ``model.static``.
        """,
    ),
    # -- auth -----------------------------------------------------------------------------------------------
    _identifier("auth.identifier", "auth_provider", "the provider key whose credentials the plugin handles"),
    Method(
        "auth.parse", t.AuthParseRequest, t.AuthParseResult, Combine.SINGLE_OWNER,
        capability="auth_provider", stage=Stage.STARTUP, owner="provider", fallback=Fallback.ZERO,
        summary="Read a credential file of the plugin's provider.",
        doc="""
        ``params.raw_json`` is a credential file found in the auth directory. Return ``handled=True`` with the
        parsed ``AuthData``, or ``handled=False`` when the file is not yours.
        """,
    ),
    Method(
        "auth.login.start", t.AuthLoginStartRequest, t.AuthLoginStartResult, Combine.SINGLE_OWNER,
        capability="auth_provider", owner="provider",
        summary="Begin an interactive (OAuth/device) login.",
        doc="""
        Return the ``url`` the user opens, an opaque ``state`` the host polls with, and when it expires.
        """,
    ),
    Method(
        "auth.login.poll", t.AuthLoginPollRequest, t.AuthLoginPollResult, Combine.SINGLE_OWNER,
        capability="auth_provider", owner="provider",
        summary="Ask whether a login has completed.",
        doc="""
        Return ``status="pending"`` until the user finished, then ``"success"`` with ``auth`` set, or
        ``"error"`` with a ``message``.
        """,
    ),
    Method(
        "auth.refresh", t.AuthRefreshRequest, t.AuthRefreshResult, Combine.SINGLE_OWNER,
        capability="auth_provider", stage=Stage.STARTUP, owner="provider",
        summary="Refresh a credential before it expires.",
        doc="""
        Return the refreshed ``auth`` and when to refresh next. Raise ``PluginError`` with
        ``retryable=True`` for a transient failure; the host retries later.
        """,
    ),
    _identifier("frontend_auth.identifier", "frontend_auth_provider", "the name of the plugin's client authenticator"),
    Method(
        "frontend_auth.authenticate", t.FrontendAuthRequest, t.FrontendAuthResult, Combine.ANY_ACCEPTS,
        capability="frontend_auth_provider", stage=Stage.FRONTEND_AUTH, timeout=5.0,
        summary="Authenticate an inbound client request.",
        doc="""
        Return ``authenticated=True`` with a ``principal`` (and string metadata the request carries on) to
        accept the client; ``authenticated=False`` lets the next authenticator decide. An error counts as "no".
        A plugin that also sets ``frontend_auth_provider_exclusive`` becomes the only authenticator.
        """,
    ),
    # -- scheduling -----------------------------------------------------------------------------------------
    Method(
        "scheduler.pick", t.SchedulerPickRequest, t.SchedulerPickResult, Combine.SINGLE_OWNER,
        capability="scheduler", stage=Stage.SCHEDULE, fallback=Fallback.ZERO, timeout=5.0,
        summary="Pick the credential that serves a request.",
        doc="""
        Only the highest-priority scheduler plugin is asked. Return ``auth_id`` (one of ``params.candidates``),
        or ``delegate_builtin="fill-first"`` / ``"round-robin"`` to let a built-in selector choose, or
        ``handled=False`` to let the host's default selector decide. Raising ``PluginError`` (for example
        ``scheduler_denied``) fails the request with that error. An unknown ``auth_id`` or an invalid delegate
        falls back to the built-in selector; a valid ``auth_id`` wins over a bad delegate.
        """,
    ),
    # -- executors --------------------------------------------------------------------------------------------
    _identifier("executor.identifier", "executor", "the provider key the plugin's executor serves"),
    Method(
        "executor.execute", t.ExecutorRequest, t.ExecutorResponse, Combine.SINGLE_OWNER,
        capability="executor", stage=Stage.EXECUTE, owner="provider", fallback=Fallback.ERROR, timeout=300.0,
        summary="Call the upstream model and return the whole answer.",
        doc="""
        ``params.payload`` is already translated to ``params.source_format`` (one of the plugin's
        ``executor_input_formats``); return the upstream answer in ``payload``, in one of its
        ``executor_output_formats``. Native executors always win over plugins for a provider.
        """,
    ),
    Method(
        "executor.execute_stream", t.ExecutorRequest, t.ExecutorStreamResult, Combine.SINGLE_OWNER,
        capability="executor", stage=Stage.EXECUTE, owner="provider", fallback=Fallback.ERROR, timeout=300.0,
        summary="Call the upstream model and stream the answer.",
        doc="""
        Either return every chunk in ``chunks``, or return no chunks and push them with ``host.stream.emit``
        (``params.stream_id``) followed by ``host.stream.close``. Emitting from inside the call never blocks
        the host, however many chunks are pushed.
        """,
    ),
    Method(
        "executor.count_tokens", t.ExecutorRequest, t.ExecutorResponse, Combine.SINGLE_OWNER,
        capability="executor", stage=Stage.EXECUTE, owner="provider", fallback=Fallback.ERROR,
        summary="Count the tokens of a request.",
        doc="Answer like ``executor.execute``, with the provider's token-count response in ``payload``.",
    ),
    Method(
        "executor.http_request", t.ExecutorHTTPRequest, t.HTTPResponse, Combine.SINGLE_OWNER,
        capability="executor", owner="provider", fallback=Fallback.ERROR, timeout=300.0,
        summary="Make a raw HTTP call with a credential's authentication.",
        doc="""
        Perform ``params.method`` on ``params.url`` authenticated as credential ``params.auth_id``; return the
        response. A ``status_code`` of 0 means 200.
        """,
    ),
    # -- translation and normalisation ---------------------------------------------------------------------
    Method(
        "request.translate", t.RequestTranslateRequest, t.BodyResult, Combine.FIRST_SUCCESS,
        capability="request_translator", stage=Stage.REQUEST_TRANSLATE, timeout=10.0,
        summary="Translate a request body between formats.",
        doc="""
        Rewrite ``params.body`` from ``params.from_format`` to ``params.to_format``. Used only when the host
        has no native translator for the pair; the first plugin returning a non-empty body wins. Return an
        empty body for pairs you do not handle.
        """,
    ),
    Method(
        "request.normalize", t.RequestTranslateRequest, t.BodyResult, Combine.CHAIN,
        capability="request_normalizer", stage=Stage.REQUEST_NORMALIZE, timeout=10.0,
        summary="Adjust a translated request body.",
        doc="""
        Every normaliser receives the previous one's output (in priority order) after translation. Return the
        new body, or an empty body to leave it unchanged.
        """,
    ),
    Method(
        "request.intercept_before", t.RequestInterceptRequest, t.InterceptResult, Combine.HEADER_CHAIN,
        capability="request_interceptor", stage=Stage.REQUEST_INTERCEPT, timeout=10.0,
        summary="Inspect or change a client request before a credential is picked.",
        doc="""
        Return changes only: ``clear_headers`` to remove, ``headers`` to set (each key replaces all values),
        a non-empty ``body`` to replace the body. An error skips this plugin. Params are a copy: mutating them
        changes nothing.
        """,
    ),
    Method(
        "response.translate", t.ResponseTranslateRequest, t.BodyResult, Combine.FIRST_SUCCESS,
        capability="response_translator", stage=Stage.RESPONSE_TRANSLATE, timeout=10.0,
        summary="Translate a response body (or stream frame) back to the client's format.",
        doc="""
        Rewrite ``params.body`` from the provider's format (``from_format``) to the client's (``to_format``).
        Used only without a native translator; first non-empty body wins. Called per frame when streaming.
        """,
    ),
    Method(
        "response.normalize_before", t.ResponseTranslateRequest, t.BodyResult, Combine.CHAIN,
        capability="response_before_translator", stage=Stage.RESPONSE_NORMALIZE_BEFORE, timeout=10.0,
        summary="Adjust a provider response before translation.",
        doc="A chain like ``request.normalize``, on the provider's response before it is translated.",
    ),
    Method(
        "response.normalize_after", t.ResponseTranslateRequest, t.BodyResult, Combine.CHAIN,
        capability="response_after_translator", stage=Stage.RESPONSE_NORMALIZE_AFTER, timeout=10.0,
        summary="Adjust a response after translation.",
        doc="A chain like ``request.normalize``, on the response in the client's format.",
    ),
    Method(
        "response.intercept_after", t.ResponseInterceptRequest, t.InterceptResult, Combine.HEADER_CHAIN,
        capability="response_interceptor", stage=Stage.RESPONSE_INTERCEPT, timeout=10.0,
        summary="Inspect or change a whole response before delivery.",
        doc="As ``request.intercept_before``, for a non-streamed response in the client's format.",
    ),
    Method(
        "response.intercept_stream_chunk", t.StreamChunkInterceptRequest, t.StreamChunkInterceptResult,
        Combine.HEADER_CHAIN, capability="response_stream_interceptor", stage=Stage.RESPONSE_INTERCEPT,
        timeout=5.0,
        summary="Inspect, change or drop each chunk of a streamed response.",
        doc="""
        Called once with ``chunk_index=-1`` and no body before the first chunk (header changes only), then for
        every chunk with ``chunk_index`` 0, 1, 2, … (dropped chunks are counted). ``history_chunks`` holds the
        chunks already delivered, bounded to 64 chunks / 1 MiB. Return ``drop_chunk=True`` to remove the chunk
        — later interceptors do not see it — header changes still apply.
        """,
    ),
    # -- thinking -----------------------------------------------------------------------------------------
    _identifier("thinking.identifier", "thinking_applier", "the provider key whose reasoning the plugin configures"),
    Method(
        "thinking.apply", t.ThinkingApplyRequest, t.BodyResult, Combine.SINGLE_OWNER,
        capability="thinking_applier", stage=Stage.THINKING, owner="provider", fallback=Fallback.PASS_THROUGH,
        timeout=10.0,
        summary="Put a reasoning configuration into a provider request.",
        doc="""
        Rewrite ``params.body`` (provider format) so the model reasons as ``params.config`` says (``mode``
        budget / level / none / auto). One applier per provider; native appliers win.
        """,
    ),
    # -- usage ----------------------------------------------------------------------------------------------
    Method(
        "usage.handle", t.UsageRecord, t.Empty, Combine.FAN_OUT,
        capability="usage_plugin", stage=Stage.USAGE,
        summary="Receive the usage record of a finished request.",
        doc="""
        Called for every usage plugin, off the request path, after the request finished. The answer is
        ignored; a slow plugin never delays a request (records beyond the queue bound are dropped and counted).
        """,
    ),
    # -- command line and management -------------------------------------------------------------------------
    Method(
        "command_line.register", t.CommandLineRegisterRequest, t.CommandLineFlags, Combine.FAN_OUT,
        capability="command_line_plugin", stage=Stage.COMMAND_LINE, may_be_async=False, timeout=None,
        summary="Add command-line flags to the host.",
        doc="""
        Return the flags (``name`` without dashes, ``type`` bool/string/int/int64/float64/duration). A host's
        native flag wins over a plugin's; between plugins, priority decides.
        """,
    ),
    Method(
        "command_line.execute", t.CommandLineExecuteRequest, t.CommandLineResult, Combine.SINGLE_OWNER,
        capability="command_line_plugin", stage=Stage.COMMAND_LINE, owner="flag", timeout=None,
        summary="Run the command a plugin flag asked for.",
        doc="""
        Called when the host starts with one of your flags (``params.triggered_flags``). Return what to print
        (``stdout``/``stderr``), credentials to persist (``auths``) and the ``exit_code``.
        """,
    ),
    Method(
        "management.register", t.ManagementRegisterRequest, t.ManagementRoutes, Combine.FAN_OUT,
        capability="management_api", stage=Stage.STARTUP,
        summary="Declare management API routes.",
        doc="""
        Return routes under ``params.base_path`` (method defaults to GET; paths with whitespace, ``:`` or
        ``*`` are rejected). Native routes win; between plugins, priority decides.
        """,
    ),
    Method(
        "management.handle", t.ManagementRequest, t.HTTPResponse, Combine.SINGLE_OWNER,
        capability="management_api", owner="route",
        summary="Answer a management API request.",
        doc="Answer an HTTP request to one of your routes. A ``status_code`` of 0 means 200.",
    ),
    # -- host callbacks ---------------------------------------------------------------------------------------
    _host("host.http.do", t.HostHTTPRequest, t.HTTPResponse, "Make an HTTP request through the host."),
    _host("host.http.do_stream", t.HostHTTPRequest, t.HostHTTPStream, "Start a streamed HTTP request."),
    _host("host.http.stream_read", t.HostStreamRef, t.HostStreamRead, "Read up to 32 KiB of a streamed body."),
    _host("host.http.stream_close", t.HostStreamRef, t.Empty, "Close a streamed HTTP response."),
    _host("host.stream.emit", t.HostStreamEmit, t.Empty, "Push one chunk into an executor stream."),
    _host("host.stream.close", t.HostStreamClose, t.Empty, "End an executor stream."),
    _host("host.log", t.HostLog, t.Empty, "Write to the host's log."),
)
