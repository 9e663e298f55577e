"""What goes into and comes out of the pipeline, the trace every response carries, and the snapshot of the stages'
plans that requests run with."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.pipeline._formats import normalize_formats, usage_from_body
from pluginkit.runtime import NoteSink, Plan, PluginState
from pluginkit.wire._payload import builder

if TYPE_CHECKING:
    from pluginkit.runtime import Runtime

__all__ = [
    "ExecutorChoice", "NativeExecutor", "Request", "Response", "Route", "Stages", "Trace", "TraceStep", "Translate",
    "UsageFacts",
]

#: A native translator: (body, model, stream) → body in the target format.
Translate = Callable[[bytes, str, bool], bytes]
_perf_ns = time.perf_counter_ns


#: Request IDs: 16 hex digits, a random per-process prefix (31 bits) and a counter (32 bits, carrying into the
#: prefix) — unique in the process and across processes, without a ``uuid4`` (an ``os.urandom`` system call, ~3 us,
#: per request); one counter read as 8 bytes, where formatting a prefix and a counter cost ~110 ns more.
_ID_COUNTER = itertools.count((int.from_bytes(os.urandom(4)) >> 1 << 32) + 1)


def next_request_id() -> str:
    return next(_ID_COUNTER).to_bytes(8).hex()


@attrs.define
class Request:
    """A client request as the host received it.

    ``format`` is the client's API format (``openai``, ``openai-response``, ``claude``, ``gemini``, …);
    ``method``/``path``/``query`` are what ``frontend_auth.authenticate`` sees.
    """

    format: str
    model: str
    body: bytes
    stream: bool = False
    headers: dict[str, list[str]] = attrs.field(factory=dict)
    metadata: dict[str, Any] = attrs.field(factory=dict)
    request_id: str = attrs.field(factory=next_request_id)
    method: str = "POST"
    path: str = "/v1/chat/completions"
    query: dict[str, list[str]] = attrs.field(factory=dict)
    #: Reasoning settings for ``thinking.apply`` (``None``: leave the body as it is).
    thinking: t.ThinkingConfig | None = None


@attrs.frozen
class TraceStep:
    """One stage of one request: its ABI method, who ran, how long it took, what was decided."""

    stage: str
    plugins: tuple[str, ...]
    seconds: float
    decision: str


#: A plugin's note: ``(plugin_id, outcome)``, as the dispatcher writes it.
Note = tuple[str, str]
#: A trace entry: (stage, notes, end_ns, decision, start_ns or ``None`` for "where the previous entry ended").
TraceEntry = tuple[str, "Sequence[Note] | None", int, "str | tuple[Any, ...]", "int | None"]


class Trace:
    """The stages a request went through, recorded as raw tuples (cheap) and shaped into :class:`TraceStep`
    objects only when read: most traces are never read.

    A whole request's stages run one after another, so each is recorded with one clock reading, at its end
    (:attr:`mark`); its duration is the time since the previous entry ended (the trace's creation for the first),
    which also charges a stage with the host's own work for it (building its params). Stages whose spans overlap
    (a stream's per-chunk stages) give their start explicitly (:meth:`add`).

    A stage's plugins are the notes the dispatcher wrote to :attr:`notes` since the previous entry, followed by
    the entry's own notes (a sequence the caller no longer writes to, or ``None``). Sequential stages hand
    :attr:`notes` to the dispatcher, so a request needs no notes list per stage; a stage that fails before it is
    recorded is closed with its notes by :meth:`close`. A decision is a string, or ``(format, *args)`` formatted with
    :meth:`str.format` when read, for decisions that would otherwise be formatted on every request. Notes become
    ``"plugin (outcome)"`` strings when read.
    """

    __slots__ = ("_raw", "mark", "notes", "started_ns")

    def __init__(self) -> None:
        raw: list[TraceEntry | Note] = []
        self._raw = raw
        #: ``trace.mark((stage, notes, perf_counter_ns(), decision, None))`` records a stage that just ended: the
        #: list's own ``append``, so the request path pays no Python call for it.
        self.mark: Callable[[TraceEntry], None] = raw.append
        #: Where the dispatcher notes the plugins of the stage running now (the same list).
        self.notes: NoteSink = raw
        self.started_ns = _perf_ns()

    def add(
        self,
        stage: str,
        started_ns: int,
        decision: str | tuple[Any, ...] = "",
        notes: Sequence[Note] | None = None,
    ) -> None:
        """Record ``stage``, which started at ``started_ns`` and ends now."""
        self._raw.append((stage, notes, _perf_ns(), decision, started_ns))

    def close(self, stage: str, decision: str | tuple[Any, ...]) -> None:
        """Record ``stage`` as ending now if plugins noted something since the last entry (a stage that failed
        before it was recorded): its notes are then its own, not the next stage's."""
        raw = self._raw
        if raw and len(raw[-1]) == 2:
            raw.append((stage, None, _perf_ns(), decision, None))

    @property
    def steps(self) -> list[TraceStep]:
        steps = []
        previous_end = self.started_ns
        pending: list[Note] = []
        for entry in self._raw:
            if len(entry) == 2:
                pending.append(entry)
                continue
            stage, notes, end_ns, decision, start_ns = entry
            ns = end_ns - (previous_end if start_ns is None else start_ns)
            previous_end = end_ns
            if notes:
                pending.extend(notes)
            plugins = tuple(f"{who} ({outcome})" if outcome != "answered" else who for who, outcome in pending)
            pending = []
            text = decision if isinstance(decision, str) else decision[0].format(*decision[1:])
            steps.append(TraceStep(stage, plugins, ns / 1e9, text))
        return steps

    def table(self) -> str:
        """The trace as a readable table, one row per stage under its ABI method name."""
        rows = [(s.stage, ", ".join(s.plugins) or "-", f"{s.seconds * 1000:.2f} ms", s.decision) for s in self.steps]
        headers = ("stage", "plugins", "time", "decision")
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(4)]
        lines = [
            "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [headers, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __len__(self) -> int:
        """The number of stages recorded."""
        return sum(len(entry) != 2 for entry in self._raw)


#: What a whole response's usage record is made of, kept as it is until someone reads the record: (model, wall
#: clock at arrival as ``time.time()``, client format, latency in ns, provider, credential id, executor type).
UsageFacts = tuple[str, float, str, int, str, str, str]
_from_timestamp = datetime.fromtimestamp
_usage_of = builder(
    t.UsageRecord, "model", "requested_at", "source", "latency_ns", "provider", "auth_id", "executor_type"
)


def usage_from_facts(facts: UsageFacts) -> t.UsageRecord:
    """The usage record ``facts`` describe (token counts are read separately, from the answer)."""
    model, arrived, source, latency_ns, provider, auth_id, executor_type = facts
    return _usage_of(model, _from_timestamp(arrived, UTC), source, latency_ns, provider, auth_id, executor_type)


@attrs.define
class Response:
    """A whole response: status, headers and body in the client's format, the trace and the usage record."""

    status: int
    headers: dict[str, list[str]]
    body: bytes
    trace: Trace
    _usage: t.UsageRecord | None = attrs.field(default=None, alias="usage")
    #: The credential that served the request and its provider.
    credential: str = ""
    provider: str = ""
    #: An answer whose token counts nobody has read yet: read into ``usage`` when it is first asked for. With no
    #: usage plugin, most responses are never asked (parsing the answer was ~10% of a request's own cost).
    _unread: bytes = attrs.field(default=b"", alias="unread", repr=False)
    #: What ``usage`` is built from when it is first asked for (no usage plugin needed the record): building a
    #: record nobody reads was ~10% of a request through the example executor (benchmarks, plugins).
    _facts: UsageFacts | None = attrs.field(default=None, alias="facts", repr=False)

    @property
    def usage(self) -> t.UsageRecord:
        """The request's usage record, token counts included."""
        usage = self._usage
        if usage is None:
            facts = self._facts
            usage = self._usage = t.UsageRecord() if facts is None else usage_from_facts(facts)
        if self._unread:
            usage_from_body(self._unread, usage.detail)
            self._unread = b""
        return usage


class NativeExecutor(Protocol):
    """An executor the host implements itself (native executors win over plugin executors for a provider)."""

    async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse: ...

    def execute_stream(self, request: t.ExecutorRequest) -> AsyncIterator[bytes]: ...


@attrs.frozen
class ExecutorChoice:
    """Who executes for a provider, and the formats it reads and writes."""

    provider: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    native: NativeExecutor | None = None
    plugin: str = ""
    #: How traces name it, and its ``UsageRecord.executor_type``.
    name: str = attrs.field(init=False, eq=False)
    usage_type: str = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        native = self.native is not None
        object.__setattr__(self, "name", f"native {self.provider}" if native else self.plugin)
        object.__setattr__(self, "usage_type", "native" if native else f"plugin:{self.plugin}")


#: A request's usage record, from its model, the wall-clock time it arrived and its client format (whole responses
#: and streams both start one).
usage_record = builder(t.UsageRecord, "model", "requested_at", "source")
#: The response stages' params, positionally: (from_format, to_format, model, stream, original_request,
#: translated_request, body).
response_request = builder(
    t.ResponseTranslateRequest, "from_format", "to_format", "model", "stream", "original_request",
    "translated_request", "body",
)


def response_params(
    request: Request, ereq: t.ExecutorRequest, out_format: str, body: bytes, stream: bool
) -> t.ResponseTranslateRequest:
    """Params of the response stages that translate or normalise an answer (a whole body or one stream chunk)."""
    return response_request(out_format, request.format, ereq.model, stream, request.body, ereq.payload, body)


@attrs.define(slots=True)
class Route:
    """What serving a client format through one executor takes, decided once per :class:`Stages` snapshot: the
    formats negotiated with the executor, the native translators that apply, and the trace's words for them."""

    choice: ExecutorChoice
    #: The format the executor reads (the client's when it can) and the one it answers in.
    source_format: str
    out_format: str
    #: Native translators for this pair, if the host registered them (plugins translate otherwise).
    to_source: Translate | None
    from_output: Translate | None
    translate_decision: str
    back_decision: str
    #: ``thinking.apply``'s plan for this provider: pinned to its owner when one serves it (no owner lookup per
    #: request), else the method's plan (whose rule answers that nobody serves it).
    thinking_plan: Plan
    #: The plugin executor's pinned plan (``None`` for a native executor).
    executor_plan: Plan | None = None
    #: The executor stage's notes, shared by every trace (never written to).
    executor_notes: tuple[tuple[str, str], ...] = ()


class Stages:
    """The plan of every stage for one version of the manager's plan table, and what is derived from the plugins.

    The runtime replaces ``plans`` with a new dict on every register, load, fuse and reconfigure, so ``token is
    runtime.plans`` tells whether this is current: one identity test per request instead of a dozen lookups, a
    scan of every plugin for exclusive authenticators and another for the provider's executor.
    """

    __slots__ = (
        "admits", "after", "auth", "before", "chunk", "exclusive", "executors", "first", "normalize", "normalize_after",
        "normalize_before", "pinned", "response_translate", "routes", "thinking", "token", "translate", "usage",
    )

    def __init__(self, runtime: Runtime) -> None:
        self.token = runtime.plans

        def plan(name: str) -> Plan:
            return runtime.plans.get(name) or runtime.plan(name)

        self.auth, self.before = plan("frontend_auth.authenticate"), plan("request.intercept_before")
        self.translate, self.normalize = plan("request.translate"), plan("request.normalize")
        self.thinking = plan("thinking.apply")
        self.normalize_before = plan("response.normalize_before")
        self.normalize_after = plan("response.normalize_after")
        self.response_translate, self.after = plan("response.translate"), plan("response.intercept_after")
        self.chunk = plan("response.intercept_stream_chunk")
        #: ``usage.handle``: whether a request's usage record has anyone to go to (``plan.impls``).
        self.usage = plan("usage.handle")
        #: The first stage of a whole request that calls a plugin (where a shutting-down manager refuses), if any.
        self.first = next((name for name in REQUEST_STAGES if plan(name).impls), None)
        #: Whether a request is counted in flight without :meth:`Runtime.begin`'s checks: it calls a plugin and the
        #: manager serves (which holds for this table: ``Runtime.serving``).
        self.admits = self.first is not None and runtime.serving
        records = runtime.records()  # plugins() order
        active = [r for r in records if r.state is PluginState.ACTIVE]
        #: The first active plugin declaring ``frontend_auth_provider_exclusive``: only it authenticates.
        self.exclusive = next((r.id for r in active if "frontend_auth_provider_exclusive" in r.capabilities), None)
        #: Provider → the first active executor plugin identifying as it (``inputs`` empty: it declares no formats).
        self.executors: dict[str, ExecutorChoice] = {}
        for record in active:
            provider = record.identifiers.get("executor")
            if provider is None or provider in self.executors or record.registration is None:
                continue
            if "executor" in record.capabilities:
                caps = record.registration.capabilities
                inputs, outputs = normalize_formats(caps.executor_input_formats), normalize_formats(
                    caps.executor_output_formats
                )
                formats = (tuple(inputs), tuple(outputs)) if inputs and outputs else ((), ())
                self.executors[provider] = ExecutorChoice(provider, *formats, plugin=record.id)
        #: ``(method, plugin)`` → the plan calling only that plugin (exclusive authenticator, plugin executors).
        self.pinned: dict[tuple[str, str], Plan] = {}
        #: ``(client format, provider)`` → its :class:`Route` (the pipeline fills it; bounded there).
        self.routes: dict[tuple[str, str], Route] = {}


#: The stages of a whole request, in order.
REQUEST_STAGES = (
    "frontend_auth.authenticate", "request.intercept_before", "scheduler.pick", "request.translate",
    "request.normalize", "thinking.apply", "executor.execute", "response.normalize_before", "response.translate",
    "response.normalize_after", "response.intercept_after",
)


#: What the request side hands on: the client request's headers, body and metadata after interception.
Front = tuple[t.Headers, bytes, t.Metadata]


class StageError(PluginKitError):
    """A request failed in ``stage`` (an ABI method name); ``trace`` shows how far it got."""

    def __init__(self, stage: str, error: PluginKitError, trace: Trace) -> None:
        message = error.message if error.message.startswith(f"{stage}:") else f"{stage}: {error.message}"
        super().__init__(
            error.code, message, error.retryable, http_status=error.http_status, retry_after=error.retry_after
        )
        self.stage = stage
        self.trace = trace
        trace.close(stage, ("failed: {}", error.code))  # the plugins it noted belong to it, not to the next stage
