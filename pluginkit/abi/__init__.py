"""The plugin ABI, described once.

:data:`METHODS` lists every method of the ABI: its dotted name (verbatim from the seed ABI), its hook name, its
params and result types, the capability flag that declares it, how the answers of several plugins combine, whether
its hooks may be ``async``, and its stage in the request pipeline. The hookspecs (:mod:`pluginkit.abi._hookspecs`),
the manager's ``invoke``, the CLI's ``pluginkit methods`` and ``docs/reference/methods.md`` are all generated from
this table; tests fail when any of them drifts.

Families beyond the seed ABI (tools, sessions, streams, providers) are added with :func:`define` under dotted names
of their own.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from pluginkit import types as t
from pluginkit import wire

__all__ = [
    "ABI_VERSION",
    "METHODS",
    "SCHEMA_VERSION",
    "Combine",
    "Direction",
    "Fallback",
    "Method",
    "Stage",
    "define",
    "get",
    "hook_name",
]

#: Major version of the plugin ABI this host speaks. Plugins declare the version they were written for.
ABI_VERSION = 1
#: Version of the payload schema (the seed's ``schema_version`` in ``plugin.register`` results).
SCHEMA_VERSION = 1

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Combine(enum.Enum):
    """How the answers of several plugins implementing one method combine (the seed's rules, §5.5)."""

    #: Plugins are asked in order; the first non-empty answer wins. An error or an empty answer → next plugin.
    FIRST_SUCCESS = "first-success"
    #: Every plugin gets the previous plugin's output. An error or an empty answer keeps the payload unchanged.
    CHAIN = "chain"
    #: A chain of interceptors: ``clear_headers`` removed, then ``headers`` replace per key, a non-empty body
    #: replaces the body; an error skips the plugin; ``drop_chunk`` ends the chain for that chunk.
    HEADER_CHAIN = "header-chain"
    #: One plugin answers: the owner chosen by the method's ``owner`` rule (highest priority, tie → lowest ID).
    SINGLE_OWNER = "single-owner"
    #: Every plugin is called; each answer is kept, keyed by plugin ID (or ignored, for ``usage.handle``).
    FAN_OUT = "fan-out"
    #: Plugins are asked in order until one accepts (``authenticated=True``); errors count as "no".
    ANY_ACCEPTS = "any-accepts"
    #: A host callback: the host answers, plugins never implement it.
    HOST = "host"


class Fallback(enum.Enum):
    """What a call answers when no plugin implements the method or none handled it."""

    #: The payload passes through unchanged (chains).
    PASS_THROUGH = "pass-through"
    #: The zero value of the result type (``handled=False``, no models, an empty answer …).
    ZERO = "zero"
    #: A ``not_handled`` error.
    ERROR = "error"


class Direction(enum.Enum):
    HOST_TO_PLUGIN = "host→plugin"
    PLUGIN_TO_HOST = "plugin→host"


class Stage(enum.IntEnum):
    """Where a method runs. Request-pipeline stages are ordered as the pipeline runs them."""

    COMMAND_LINE = 0
    STARTUP = 1
    FRONTEND_AUTH = 10
    REQUEST_INTERCEPT = 20
    SCHEDULE = 30
    REQUEST_TRANSLATE = 40
    REQUEST_NORMALIZE = 50
    THINKING = 60
    EXECUTE = 70
    RESPONSE_NORMALIZE_BEFORE = 80
    RESPONSE_TRANSLATE = 90
    RESPONSE_NORMALIZE_AFTER = 100
    RESPONSE_INTERCEPT = 110
    USAGE = 120

    @property
    def in_request_pipeline(self) -> bool:
        return self >= Stage.FRONTEND_AUTH


def hook_name(method: str) -> str:
    """The Python hook name of a dotted method name: ``auth.login.start`` → ``auth_login_start``."""
    return method.replace(".", "_")


@attrs.frozen
class Method:
    """One entry of the ABI table."""

    #: The dotted name, verbatim from the seed ABI (``scheduler.pick``).
    name: str
    #: Type of the params a hook receives.
    params: type
    #: Type of the result a hook returns.
    result: type
    #: How the answers of several plugins combine.
    combine: Combine
    #: What the call answers when no plugin handled it.
    fallback: Fallback
    #: The capability flag (a :class:`~pluginkit.types.Capabilities` field) that declares the method, or ``None``.
    capability: str | None
    #: Where the method runs; ``None`` for calls made on demand (lifecycle, logins, management, host callbacks).
    stage: Stage | None
    #: One line for tables.
    summary: str
    #: The plugin author's documentation of the hook.
    doc: str
    #: For :attr:`Combine.SINGLE_OWNER`: what selects the owner (``priority``, ``provider``, ``flag``, ``route``).
    owner: str = ""
    #: Whether hookimpls may be ``async def``. Identifier methods are called while registries are built and
    #: must answer synchronously.
    may_be_async: bool = True
    #: Default time limit of one plugin's answer, in seconds (``None``: no limit).
    timeout: float | None = 30.0

    @property
    def hook_name(self) -> str:
        return hook_name(self.name)

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def direction(self) -> Direction:
        return Direction.PLUGIN_TO_HOST if self.combine is Combine.HOST else Direction.HOST_TO_PLUGIN

    @property
    def is_hook(self) -> bool:
        """Whether plugins implement this method (host callbacks are answered by the host)."""
        return self.combine is not Combine.HOST

    def parse_params(self, data: Any) -> Any:
        """Params given as the typed object, a JSON-like dict or JSON text → the typed params.

        Raises :class:`~pluginkit.errors.InvalidRequest` whose message names the offending field.
        """
        if isinstance(data, self.params):
            return data
        return _parse(data, self.params)

    def parse_result(self, data: Any) -> Any:
        """A result given as JSON-like data → the typed result (for hosts reading another host's answers)."""
        if isinstance(data, self.result):
            return data
        return _parse(data, self.result)


def _parse(data: Any, tp: type) -> Any:
    from pluginkit.errors import InvalidRequest

    try:
        return wire.from_wire({} if data is None else data, tp)
    except wire.WireError as exc:
        raise InvalidRequest(message=str(exc)) from None


class _Table(Mapping[str, Method]):
    """Read-only mapping of dotted name → :class:`Method`, in definition order."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}
        self._by_hook: dict[str, Method] = {}

    def __getitem__(self, name: str) -> Method:
        return self._methods[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._methods)

    def __len__(self) -> int:
        return len(self._methods)

    def by_hook(self, hook: str) -> Method | None:
        return self._by_hook.get(hook)

    def hooks(self) -> list[Method]:
        """The methods plugins implement (every entry but the host callbacks)."""
        return [m for m in self._methods.values() if m.is_hook]

    def capability_methods(self, capability: str) -> list[Method]:
        return [m for m in self._methods.values() if m.capability == capability]

    def _add(self, method: Method) -> Method:
        if not _NAME.match(method.name):
            raise ValueError(f"ABI method name {method.name!r} must be dotted lower-case words")
        if method.name in self._methods or method.hook_name in self._by_hook:
            raise ValueError(f"ABI method {method.name!r} is already defined")
        flags = attrs.fields_dict(t.Capabilities)  # type: ignore[arg-type]
        if method.capability is not None and method.capability not in flags:
            raise ValueError(f"{method.name}: unknown capability {method.capability!r}")
        self._methods[method.name] = method
        self._by_hook[method.hook_name] = method
        return method


#: The ABI table: dotted name → :class:`Method`.
METHODS = _Table()


def define(
    name: str,
    params: type,
    result: type,
    combine: Combine,
    *,
    summary: str,
    doc: str,
    fallback: Fallback | None = None,
    capability: str | None = None,
    stage: Stage | None = None,
    owner: str = "",
    may_be_async: bool = True,
    timeout: float | None = 30.0,
) -> Method:
    """Add a method to the table (how later families — tools, sessions, streams — join the ABI)."""
    if fallback is None:
        fallback = {
            Combine.CHAIN: Fallback.PASS_THROUGH,
            Combine.HEADER_CHAIN: Fallback.PASS_THROUGH,
            Combine.FIRST_SUCCESS: Fallback.ERROR,
            Combine.SINGLE_OWNER: Fallback.ERROR,
        }.get(combine, Fallback.ZERO)
    if combine is Combine.SINGLE_OWNER and not owner:
        owner = "priority"
    return METHODS._add(
        Method(
            name=name,
            params=params,
            result=result,
            combine=combine,
            fallback=fallback,
            capability=capability,
            stage=stage,
            summary=summary,
            doc=_dedent(doc),
            owner=owner,
            may_be_async=may_be_async,
            timeout=timeout,
        )
    )


def get(name: str) -> Method:
    """The table entry for ``name``; raises :class:`~pluginkit.errors.UnknownMethod`."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        from pluginkit.errors import UnknownMethod

        raise UnknownMethod(message=f"no ABI method is named {name!r}") from None


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip()


def _identifier(name: str, capability: str, what: str) -> None:
    define(
        name, t.Empty, t.Identifier, Combine.FAN_OUT, capability=capability, stage=Stage.STARTUP,
        may_be_async=False, timeout=None,
        summary=f"Name {what}.",
        doc=f"""
        Return ``Identifier(identifier=...)``: {what}. The host trims it (and lower-cases provider keys); a
        blank identifier leaves the capability unused. Called once per registration, so it must answer
        synchronously and cheaply.
        """,
    )


def _register_seed_abi() -> Any:
    # -- lifecycle ----------------------------------------------------------------------------------------
    define(
        "plugin.register", t.LifecycleRequest, t.Registration, Combine.FAN_OUT,
        summary="Introduce the plugin: metadata, config fields, capabilities.",
        doc="""
        Called once, when the plugin is loaded, with its settings (``params.config``). Return a
        ``Registration`` with ``schema_version``, ``metadata`` (``name``, ``version``, ``author`` and
        ``github_repository`` are required; blanks are filled from the distribution's metadata) and the
        ``capabilities`` flags of the hooks the plugin implements. Raise ``PluginError("invalid_config", ...)``
        to refuse settings you cannot work with.
        """,
    )
    define(
        "plugin.reconfigure", t.LifecycleRequest, t.Registration, Combine.FAN_OUT,
        summary="Take new settings without reloading.",
        doc="""
        Called when the host's configuration changes, with the plugin's new settings; answer as for
        ``plugin.register``. Without this hook the plugin keeps its first registration.
        """,
    )
    define(
        "plugin.shutdown", t.Empty, t.Empty, Combine.FAN_OUT, timeout=10.0,
        summary="Release resources before the host stops.",
        doc="""
        Called once when the manager shuts down, after in-flight calls have finished. Close files, pools and
        threads here; the call has a time limit, after which the host goes on without waiting.
        """,
    )
    # -- models -------------------------------------------------------------------------------------------
    define(
        "model.register", t.ModelRegisterRequest, t.ModelRegistration, Combine.FAN_OUT,
        capability="model_registrar", stage=Stage.STARTUP,
        summary="Declare the models of a provider (used when model.static is absent).",
        doc="""
        Return the provider key and its models. Models with a blank ``id`` are dropped; an empty provider or no
        models registers nothing. ``model.static`` is preferred when a plugin has both.
        """,
    )
    define(
        "model.static", t.ModelStaticRequest, t.ModelSet, Combine.FAN_OUT,
        capability="model_provider", stage=Stage.STARTUP,
        summary="Declare the models a provider always serves.",
        doc="""
        Return the provider key and the models it serves whatever the credential, optionally with an
        ``auth_update`` the host stores. ``params.host`` summarises the host's configuration (aliases,
        exclusions).
        """,
    )
    define(
        "model.for_auth", t.ModelForAuthRequest, t.ModelSet, Combine.SINGLE_OWNER,
        capability="model_provider", stage=Stage.STARTUP, owner="provider",
        summary="List the models one credential can use.",
        doc="""
        Called for each credential of the plugin's provider (``params.auth_provider``) to learn which models it
        unlocks. Return them as for ``model.static``.
        """,
    )
    # -- auth -----------------------------------------------------------------------------------------------
    _identifier("auth.identifier", "auth_provider", "the provider key whose credentials the plugin handles")
    define(
        "auth.parse", t.AuthParseRequest, t.AuthParseResult, Combine.SINGLE_OWNER,
        capability="auth_provider", stage=Stage.STARTUP, owner="provider", fallback=Fallback.ZERO,
        summary="Read a credential file of the plugin's provider.",
        doc="""
        ``params.raw_json`` is a credential file found in the auth directory. Return ``handled=True`` with the
        parsed ``AuthData``, or ``handled=False`` when the file is not yours.
        """,
    )
    define(
        "auth.login.start", t.AuthLoginStartRequest, t.AuthLoginStartResult, Combine.SINGLE_OWNER,
        capability="auth_provider", owner="provider",
        summary="Begin an interactive (OAuth/device) login.",
        doc="""
        Return the ``url`` the user opens, an opaque ``state`` the host polls with, and when it expires.
        """,
    )
    define(
        "auth.login.poll", t.AuthLoginPollRequest, t.AuthLoginPollResult, Combine.SINGLE_OWNER,
        capability="auth_provider", owner="provider",
        summary="Ask whether a login has completed.",
        doc="""
        Return ``status="pending"`` until the user finished, then ``"success"`` with ``auth`` set, or
        ``"error"`` with a ``message``.
        """,
    )
    define(
        "auth.refresh", t.AuthRefreshRequest, t.AuthRefreshResult, Combine.SINGLE_OWNER,
        capability="auth_provider", stage=Stage.STARTUP, owner="provider",
        summary="Refresh a credential before it expires.",
        doc="""
        Return the refreshed ``auth`` and when to refresh next. Raise ``PluginError`` with
        ``retryable=True`` for a transient failure; the host retries later.
        """,
    )
    _identifier("frontend_auth.identifier", "frontend_auth_provider", "the name of the plugin's client authenticator")
    define(
        "frontend_auth.authenticate", t.FrontendAuthRequest, t.FrontendAuthResult, Combine.ANY_ACCEPTS,
        capability="frontend_auth_provider", stage=Stage.FRONTEND_AUTH, timeout=5.0,
        summary="Authenticate an inbound client request.",
        doc="""
        Return ``authenticated=True`` with a ``principal`` (and string metadata the request carries on) to
        accept the client; ``authenticated=False`` lets the next authenticator decide. An error counts as "no".
        A plugin that also sets ``frontend_auth_provider_exclusive`` becomes the only authenticator.
        """,
    )
    # -- scheduling -----------------------------------------------------------------------------------------
    define(
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
    )
    # -- executors --------------------------------------------------------------------------------------------
    _identifier("executor.identifier", "executor", "the provider key the plugin's executor serves")
    define(
        "executor.execute", t.ExecutorRequest, t.ExecutorResponse, Combine.SINGLE_OWNER,
        capability="executor", stage=Stage.EXECUTE, owner="provider", fallback=Fallback.ERROR, timeout=300.0,
        summary="Call the upstream model and return the whole answer.",
        doc="""
        ``params.payload`` is already translated to ``params.source_format`` (one of the plugin's
        ``executor_input_formats``); return the upstream answer in ``payload``, in one of its
        ``executor_output_formats``. Native executors always win over plugins for a provider.
        """,
    )
    define(
        "executor.execute_stream", t.ExecutorRequest, t.ExecutorStreamResult, Combine.SINGLE_OWNER,
        capability="executor", stage=Stage.EXECUTE, owner="provider", fallback=Fallback.ERROR, timeout=300.0,
        summary="Call the upstream model and stream the answer.",
        doc="""
        Either return every chunk in ``chunks``, or return no chunks and push them with ``host.stream.emit``
        (``params.stream_id``) followed by ``host.stream.close``. Emitting from inside the call never blocks
        the host, however many chunks are pushed.
        """,
    )
    define(
        "executor.count_tokens", t.ExecutorRequest, t.ExecutorResponse, Combine.SINGLE_OWNER,
        capability="executor", stage=Stage.EXECUTE, owner="provider", fallback=Fallback.ERROR,
        summary="Count the tokens of a request.",
        doc="Answer like ``executor.execute``, with the provider's token-count response in ``payload``.",
    )
    define(
        "executor.http_request", t.ExecutorHTTPRequest, t.HTTPResponse, Combine.SINGLE_OWNER,
        capability="executor", owner="provider", fallback=Fallback.ERROR, timeout=300.0,
        summary="Make a raw HTTP call with a credential's authentication.",
        doc="""
        Perform ``params.method`` on ``params.url`` authenticated as credential ``params.auth_id``; return the
        response. A ``status_code`` of 0 means 200.
        """,
    )
    # -- translation and normalisation ---------------------------------------------------------------------
    define(
        "request.translate", t.RequestTranslateRequest, t.BodyResult, Combine.FIRST_SUCCESS,
        capability="request_translator", stage=Stage.REQUEST_TRANSLATE, timeout=10.0,
        summary="Translate a request body between formats.",
        doc="""
        Rewrite ``params.body`` from ``params.from_format`` to ``params.to_format``. Used only when the host
        has no native translator for the pair; the first plugin returning a non-empty body wins. Return an
        empty body for pairs you do not handle.
        """,
    )
    define(
        "request.normalize", t.RequestTranslateRequest, t.BodyResult, Combine.CHAIN,
        capability="request_normalizer", stage=Stage.REQUEST_NORMALIZE, timeout=10.0,
        summary="Adjust a translated request body.",
        doc="""
        Every normaliser receives the previous one's output (in priority order) after translation. Return the
        new body, or an empty body to leave it unchanged.
        """,
    )
    define(
        "request.intercept_before", t.RequestInterceptRequest, t.InterceptResult, Combine.HEADER_CHAIN,
        capability="request_interceptor", stage=Stage.REQUEST_INTERCEPT, timeout=10.0,
        summary="Inspect or change a client request before a credential is picked.",
        doc="""
        Return changes only: ``clear_headers`` to remove, ``headers`` to set (each key replaces all values),
        a non-empty ``body`` to replace the body. An error skips this plugin. Params are a copy: mutating them
        changes nothing.
        """,
    )
    define(
        "response.translate", t.ResponseTranslateRequest, t.BodyResult, Combine.FIRST_SUCCESS,
        capability="response_translator", stage=Stage.RESPONSE_TRANSLATE, timeout=10.0,
        summary="Translate a response body (or stream frame) back to the client's format.",
        doc="""
        Rewrite ``params.body`` from the provider's format (``from_format``) to the client's (``to_format``).
        Used only without a native translator; first non-empty body wins. Called per frame when streaming.
        """,
    )
    define(
        "response.normalize_before", t.ResponseTranslateRequest, t.BodyResult, Combine.CHAIN,
        capability="response_before_translator", stage=Stage.RESPONSE_NORMALIZE_BEFORE, timeout=10.0,
        summary="Adjust a provider response before translation.",
        doc="A chain like ``request.normalize``, on the provider's response before it is translated.",
    )
    define(
        "response.normalize_after", t.ResponseTranslateRequest, t.BodyResult, Combine.CHAIN,
        capability="response_after_translator", stage=Stage.RESPONSE_NORMALIZE_AFTER, timeout=10.0,
        summary="Adjust a response after translation.",
        doc="A chain like ``request.normalize``, on the response in the client's format.",
    )
    define(
        "response.intercept_after", t.ResponseInterceptRequest, t.InterceptResult, Combine.HEADER_CHAIN,
        capability="response_interceptor", stage=Stage.RESPONSE_INTERCEPT, timeout=10.0,
        summary="Inspect or change a whole response before delivery.",
        doc="As ``request.intercept_before``, for a non-streamed response in the client's format.",
    )
    define(
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
    )
    # -- thinking -----------------------------------------------------------------------------------------
    _identifier("thinking.identifier", "thinking_applier", "the provider key whose reasoning the plugin configures")
    define(
        "thinking.apply", t.ThinkingApplyRequest, t.BodyResult, Combine.SINGLE_OWNER,
        capability="thinking_applier", stage=Stage.THINKING, owner="provider", fallback=Fallback.PASS_THROUGH,
        timeout=10.0,
        summary="Put a reasoning configuration into a provider request.",
        doc="""
        Rewrite ``params.body`` (provider format) so the model reasons as ``params.config`` says (``mode``
        budget / level / none / auto). One applier per provider; native appliers win.
        """,
    )
    # -- usage ----------------------------------------------------------------------------------------------
    define(
        "usage.handle", t.UsageRecord, t.Empty, Combine.FAN_OUT,
        capability="usage_plugin", stage=Stage.USAGE,
        summary="Receive the usage record of a finished request.",
        doc="""
        Called for every usage plugin, off the request path, after the request finished. The answer is
        ignored; a slow plugin never delays a request (records beyond the queue bound are dropped and counted).
        """,
    )
    # -- command line and management -------------------------------------------------------------------------
    define(
        "command_line.register", t.CommandLineRegisterRequest, t.CommandLineFlags, Combine.FAN_OUT,
        capability="command_line_plugin", stage=Stage.COMMAND_LINE, may_be_async=False, timeout=None,
        summary="Add command-line flags to the host.",
        doc="""
        Return the flags (``name`` without dashes, ``type`` bool/string/int/int64/float64/duration). A host's
        native flag wins over a plugin's; between plugins, priority decides.
        """,
    )
    define(
        "command_line.execute", t.CommandLineExecuteRequest, t.CommandLineResult, Combine.SINGLE_OWNER,
        capability="command_line_plugin", stage=Stage.COMMAND_LINE, owner="flag", timeout=None,
        summary="Run the command a plugin flag asked for.",
        doc="""
        Called when the host starts with one of your flags (``params.triggered_flags``). Return what to print
        (``stdout``/``stderr``), credentials to persist (``auths``) and the ``exit_code``.
        """,
    )
    define(
        "management.register", t.ManagementRegisterRequest, t.ManagementRoutes, Combine.FAN_OUT,
        capability="management_api", stage=Stage.STARTUP,
        summary="Declare management API routes.",
        doc="""
        Return routes under ``params.base_path`` (method defaults to GET; paths with whitespace, ``:`` or
        ``*`` are rejected). Native routes win; between plugins, priority decides.
        """,
    )
    define(
        "management.handle", t.ManagementRequest, t.HTTPResponse, Combine.SINGLE_OWNER,
        capability="management_api", owner="route",
        summary="Answer a management API request.",
        doc="Answer an HTTP request to one of your routes. A ``status_code`` of 0 means 200.",
    )
    # -- host callbacks ---------------------------------------------------------------------------------------
    host_doc = (
        "Answered by the host; a plugin reaches it through its context (``ctx``). Failures give ``host_call_failed``."
    )
    for name, params, result, summary in (
        ("host.http.do", t.HostHTTPRequest, t.HTTPResponse, "Make an HTTP request through the host."),
        ("host.http.do_stream", t.HostHTTPRequest, t.HostHTTPStream, "Start a streamed HTTP request."),
        ("host.http.stream_read", t.HostStreamRef, t.HostStreamRead, "Read up to 32 KiB of a streamed body."),
        ("host.http.stream_close", t.HostStreamRef, t.Empty, "Close a streamed HTTP response."),
        ("host.stream.emit", t.HostStreamEmit, t.Empty, "Push one chunk into an executor stream."),
        ("host.stream.close", t.HostStreamClose, t.Empty, "End an executor stream."),
        ("host.log", t.HostLog, t.Empty, "Write to the host's log."),
    ):
        define(name, params, result, Combine.HOST, summary=summary, doc=host_doc, fallback=Fallback.ERROR)


_register_seed_abi()

#: The method names of the seed ABI, in the seed's order (a conformance test checks them verbatim).
SEED_METHODS = tuple(METHODS)

#: Modules adding pluginkit's own families to the table; each has ``define_methods()``, called once here, so the
#: table is complete before the hookspecs are generated from it.
FAMILY_MODULES = ("pluginkit.tools._methods", "pluginkit.sessions._methods")


def _register_families() -> None:
    import importlib

    for module in FAMILY_MODULES:
        try:
            family = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not (exc.name and module.startswith(exc.name)):  # a broken family must not pass silently
                raise
            continue
        family.define_methods()


_register_families()
