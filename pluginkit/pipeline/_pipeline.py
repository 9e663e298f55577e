"""The request pipeline: the manager's hooks composed in the seed host's stage order.

``frontend_auth.authenticate`` → ``request.intercept_before`` → ``scheduler.pick`` → native translator or
``request.translate`` → ``request.normalize`` → ``thinking.apply`` → ``executor.execute`` /
``executor.execute_stream`` → ``response.normalize_before`` → native translator or ``response.translate`` →
``response.normalize_after`` → ``response.intercept_after`` (streams: ``response.intercept_stream_chunk``) →
``usage.handle``.

A stage nobody implements costs one attribute test. A stage's failure fails the request with that error, its
message prefixed with the stage's ABI name; retryable executor failures move to the next credential.

What keeps a request cheap (with no-op plugins the framework, not the plugins, is the cost): the stages' plans come
from a :class:`~pluginkit.pipeline._model.Stages` snapshot rebuilt only when the manager replaces its plan table; a
request is counted in flight once, not per stage; a plan whose hookimpls are all plain functions runs inline,
without a coroutine, and a lone plugin through its solo runner; each client format and provider gets a
:class:`~pluginkit.pipeline._model.Route` once per snapshot (formats, translators, pinned plans); params objects
are built by generated constructors (:func:`pluginkit.wire._payload.builder`, called positionally), and only for stages
that have plugins; the scheduler picks without awaiting when its state is in memory; the trace takes one clock
reading per stage; a whole request awaits two coroutines, ``execute`` and ``_request_side``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from typing import Any

from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.pipeline._formats import normalize_formats, usage_from_body, with_model
from pluginkit.pipeline._model import (
    ExecutorChoice,
    Front,
    NativeExecutor,
    Request,
    Response,
    Route,
    StageError,
    Stages,
    Trace,
    Translate,
    UsageFacts,
    response_request,
    usage_from_facts,
)
from pluginkit.pipeline._stream import StreamResponse, stream_chunks
from pluginkit.pipeline._usage import UsageQueue
from pluginkit.runtime import (
    Plan,
    PluginManager,
    copy_headers,
    copy_metadata,
    current_request_id,
    merge_headers,
    run_async,
)
from pluginkit.scheduling import Credential, Pick, Scheduler, SchedulerState
from pluginkit.wire._payload import builder, copier

__all__ = ["ExecutorChoice", "Pipeline", "StageError"]

perf_ns, wall_clock = time.perf_counter_ns, time.time
_NO_TRIES: frozenset[str] = frozenset()
#: What the front stages made of a request: the headers, body and metadata every later stage sees.
#: Bound of a snapshot's route cache (client format × provider pairs).
MAX_ROUTES = 256
# Params constructors taking the named fields positionally, in this order (see pluginkit.wire._payload.builder).
_auth_request = builder(t.FrontendAuthRequest, "method", "path", "headers", "query", "body")
_intercept_request = builder(
    t.RequestInterceptRequest, "source_format", "model", "requested_model", "stream", "headers", "body", "metadata"
)
_translate_request = builder(t.RequestTranslateRequest, "from_format", "to_format", "model", "stream", "body")
# host_callback_id: the request's ID, as the runtime would set it for each call (filled here, nothing to restore)
_thinking_request = builder(t.ThinkingApplyRequest, "provider", "model", "config", "body", "host_callback_id")
_model_info = builder(t.ModelInfo, "id")
_copy_thinking = copier(t.ThinkingConfig)  # the caller's settings: the plugin gets its own
_executor_request = builder(
    t.ExecutorRequest, "auth_id", "auth_provider", "model", "format", "stream", "headers", "query",
    "original_request", "source_format", "payload", "metadata", "storage_json", "auth_metadata", "auth_attributes",
    "host_callback_id",
)
_response_intercept = builder(
    t.ResponseInterceptRequest, "source_format", "model", "requested_model", "stream", "request_headers",
    "response_headers", "original_request", "request_body", "body", "status_code", "metadata",
)
_response = builder(
    Response, "status", "headers", "body", "trace", "_usage", "credential", "provider", "_unread", "_facts"
)


class Pipeline:
    """Runs client requests through the plugins' stages.

    ``routes`` maps a model (or ``"*"``) to the provider keys that may serve it; ``credentials`` are the host's
    credentials; ``strategy`` the built-in selector; ``state`` the scheduler state (``RedisState`` to share
    round-robin cursors and cooldowns between replicas); ``max_retries`` how many other credentials a retryable
    executor failure may move on to.

    ``strict_translation``: when no plugin translates a body the pipeline has no native translator for (none
    answers, or they fail), the seed host's way (the default, ``False``) sends the request on untranslated, its
    ``model`` field set to the request's model, and delivers a response untranslated; ``True`` fails the request
    in that stage instead.
    """

    def __init__(
        self,
        manager: PluginManager,
        *,
        credentials: Sequence[Credential] = (),
        routes: Mapping[str, Sequence[str]] | None = None,
        strategy: str = "round-robin",
        state: SchedulerState | None = None,
        max_retries: int = 2,
        usage_queue_size: int = 1024,
        strict_translation: bool = False,
    ) -> None:
        self.manager = manager
        self.strict_translation = strict_translation
        self.runtime = manager.runtime
        self.scheduler = Scheduler(manager, credentials, strategy=strategy, state=state)
        self.routes = {model: [p.lower() for p in providers] for model, providers in (routes or {}).items()}
        self.max_retries = max_retries
        self.usage = UsageQueue(manager.runtime, maxsize=usage_queue_size)
        self._translators: dict[tuple[str, str], tuple[Translate | None, Translate | None]] = {}
        self._executors: dict[str, ExecutorChoice] = {}
        self._snapshot: Stages | None = None

    # -- host registration ----------------------------------------------------------------------------------
    def add_translator(
        self, from_format: str, to_format: str, *, request: Translate | None = None, response: Translate | None = None
    ) -> None:
        """A native translator between a client format and a provider format: ``request`` rewrites client bodies
        ``from_format`` → ``to_format``; ``response`` rewrites answers back ``to_format`` → ``from_format`` (whole
        bodies, or one stream event at a time). Plugin translators are used only for pairs without one."""
        old_request, old_response = self._translators.get((from_format, to_format), (None, None))
        self._translators[(from_format, to_format)] = (request or old_request, response or old_response)
        self._snapshot = None  # routes derived from the old translators are stale

    def add_executor(
        self, provider: str, executor: NativeExecutor, *, input_formats: Sequence[str], output_formats: Sequence[str]
    ) -> None:
        """A native executor for ``provider``; native executors win over plugin executors."""
        self._executors[provider.lower()] = ExecutorChoice(
            provider.lower(),
            tuple(normalize_formats(list(input_formats))),
            tuple(normalize_formats(list(output_formats))),
            native=executor,
        )
        self._snapshot = None  # routes derived from the old executors are stale

    # -- lookups ------------------------------------------------------------------------------------------------
    def providers_for(self, model: str) -> list[str]:
        providers = self.routes.get(model) or self.routes.get("*")
        if not providers:
            raise PluginKitError("not_found", f"no route serves model {model!r}")
        return providers

    def executor_for(self, provider: str) -> ExecutorChoice:
        return self._executor(self._stages(), provider)

    def _executor(self, stages: Stages, provider: str) -> ExecutorChoice:
        native = self._executors.get(provider)
        if native is not None:
            return native
        choice = stages.executors.get(provider)
        if choice is None:
            raise PluginKitError("executor_not_found", f"no executor serves provider {provider!r}")
        if not choice.inputs:
            raise PluginKitError("executor_not_found", f"plugin {choice.plugin!r} declares no executor formats")
        return choice

    def _stages(self) -> Stages:
        """The current :class:`Stages` (rebuilt when the manager's plan table changed)."""
        stages = self._snapshot
        runtime = self.runtime
        if stages is not None and stages.token is runtime.plans:
            return stages
        for _ in range(5):  # building may add plans (a new table): retry until one build saw a single table
            stages = Stages(runtime)
            if stages.token is runtime.plans:
                self._snapshot = stages
                return stages
        return Stages(runtime)  # the table keeps changing under us (plugins registering): use it uncached

    def _pinned(self, stages: Stages, method: str, plugin_id: str) -> Plan:
        """``method`` on ``plugin_id`` only (``call_plugin``'s plan); raises ``not_found`` as it does."""
        plan = stages.pinned.get((method, plugin_id))
        if plan is None:
            plan = stages.pinned[(method, plugin_id)] = self.runtime.plan(method, plugin_id)
        return plan

    def _begin(self, trace: Trace) -> tuple[Stages, bool]:
        """The stages for a request, counted in flight once if it calls any plugin (refused while the manager
        shuts down, as a call would be, in the first stage that has plugins)."""
        stages = self._stages()
        if stages.first is None:
            return stages, False
        runtime = self.runtime
        try:
            runtime.begin(stages.first)
        except PluginKitError as exc:
            raise StageError(stages.first, exc, trace) from None
        if stages.token is not runtime.plans:  # the first call of an unloaded manager loads it (a new table)
            try:
                stages = self._stages()
            except BaseException:
                runtime.end()
                raise
        return stages, True

    def _route(self, stages: Stages, client_format: str, provider: str) -> Route:
        """How ``client_format`` is served by ``provider``'s executor (cached per snapshot, bounded)."""
        route = stages.routes.get((client_format, provider))
        if route is not None:
            return route
        choice = self._executor(stages, provider)
        source = client_format if client_format in choice.inputs else choice.inputs[0]
        out = client_format if client_format in choice.outputs else choice.outputs[0]
        to_source = self._translators.get((client_format, source), (None, None))[0]
        from_output = self._translators.get((client_format, out), (None, None))[1]
        plan = None
        if choice.native is None:
            try:
                plan = self._pinned(stages, "executor.execute", choice.plugin)
            except PluginKitError:  # it implements only executor.execute_stream: it serves streams, not whole requests
                plan = None
        thinker = self.runtime.provider_owner(stages.thinking, choice.provider)
        thinking = stages.thinking if thinker is None else self._pinned(stages, "thinking.apply", thinker.record.id)
        route = Route(
            choice, source, out, to_source, from_output, f"{client_format} → {source}", f"{out} → {client_format}",
            thinking, executor_plan=plan, executor_notes=((choice.name, "answered"),),
        )
        if len(stages.routes) >= MAX_ROUTES:
            stages.routes.clear()
        stages.routes[(client_format, provider)] = route
        return route

    # -- whole responses ----------------------------------------------------------------------------------------
    async def execute(self, request: Request) -> Response:
        """Run a request and return the whole response. Failures raise :class:`StageError`."""
        trace = Trace()
        mark, sink = trace.mark, trace.notes
        token = current_request_id.set(request.request_id)
        arrived = wall_clock()  # the usage record's requested_at; the record is built only when someone needs it
        runtime = self.runtime
        counted = False
        try:
            stages = self._snapshot
            if stages is not None and stages.token is runtime.plans and stages.admits:
                next(runtime.started)  # _begin, written out for the common case
                counted = True
            else:
                stages, counted = self._begin(trace)
            front: Front | None = None
            tried: set[str] = set()
            while True:
                front, pick, route, ereq = await self._request_side(request, front, trace, tried, stages)
                choice = route.choice
                try:
                    plan = route.executor_plan
                    if plan is None:
                        if choice.native is None:
                            raise PluginKitError(
                                "executor_not_found", f"plugin {choice.plugin!r} only streams (no executor.execute)"
                            )
                        answer = await choice.native.execute(ereq)  # native: no plan
                    elif plan.inline:  # ereq carries its host_callback_id (_request_side)
                        answer = plan.filled_runner(plan, ereq, runtime, None)
                    else:
                        answer = await run_async(plan, ereq, runtime)
                except PluginKitError as exc:
                    mark(("executor.execute", None, perf_ns(), f"{choice.name} failed: {exc.code}", None))
                    if not await self._may_retry(exc, pick, request, tried):
                        raise StageError("executor.execute", exc, trace) from None
                    continue
                break
            headers, body, metadata = front
            payload = answer.payload
            decision = ("{} answered {} bytes", choice.name, len(payload))
            mark(("executor.execute", route.executor_notes, perf_ns(), decision, None))
            # The response side, here rather than in a coroutine of its own (see _request_side). The normalisers
            # share one params object.
            out_format, body_out, params = route.out_format, payload, None
            stage = "response.normalize_before"
            try:
                plan = stages.normalize_before
                if plan.impls:
                    params = response_request(
                        out_format, request.format, ereq.model, False, request.body, ereq.payload, body_out
                    )
                    normalized = plan.runner(plan, params, runtime, sink) if plan.inline else await run_async(
                        plan, params, runtime, sink
                    )
                    body_out = params.body = normalized.body
                    mark((stage, None, perf_ns(), "", None))
                if out_format != request.format:
                    stage = "response.translate"
                    back_decision: Any = route.back_decision
                    native = route.from_output
                    if native is not None:
                        sink.append(("native", "answered"))
                        body_out = native(body_out, ereq.model, False)
                    else:
                        plan = stages.response_translate
                        back = response_request(
                            out_format, request.format, ereq.model, False, request.body, ereq.payload, body_out
                        )
                        try:
                            body_out = (plan.runner(plan, back, runtime, sink) if plan.inline else await run_async(
                                plan, back, runtime, sink
                            )).body
                        except PluginKitError as exc:  # the seed host delivers the body untranslated
                            if self.strict_translation:
                                raise
                            back_decision = ("not translated ({}): delivered as {}", exc.code, out_format)
                    mark((stage, None, perf_ns(), back_decision, None))
                plan = stages.normalize_after
                if plan.impls:
                    stage = "response.normalize_after"
                    if params is None:
                        params = response_request(
                            out_format, request.format, ereq.model, False, request.body, ereq.payload, body_out
                        )
                    else:
                        params.body = body_out
                    body_out = (plan.runner(plan, params, runtime, sink) if plan.inline else await run_async(
                        plan, params, runtime, sink
                    )).body
                    mark((stage, None, perf_ns(), "", None))
                result_headers = copy_headers(answer.headers) if answer.headers else {}
                plan = stages.after
                if plan.impls:
                    stage = "response.intercept_after"
                    intercept = _response_intercept(  # the request's headers: no stage reads them after this one
                        request.format, ereq.model, request.model, False, headers,
                        copy_headers(result_headers) if result_headers else {}, request.body, body, body_out, 200,
                        copy_metadata(metadata) if metadata else {},
                    )
                    intercepted = plan.runner(plan, intercept, runtime, sink) if plan.inline else await run_async(
                        plan, intercept, runtime, sink
                    )
                    mark((stage, None, perf_ns(), "", None))
                    if intercepted.clear_headers or intercepted.headers:
                        result_headers = merge_headers(result_headers, intercepted.clear_headers, intercepted.headers)
                    body_out = intercepted.body
            except PluginKitError as exc:
                raise StageError(stage, exc, trace) from None
            ended = perf_ns()
            credential, latency = pick.credential.id, ended - trace.started_ns
            # nothing to read without the word (the reader looks for it too)
            unread = payload if payload.find(b'"usage"') >= 0 else b""
            facts: UsageFacts = (
                request.model, arrived, request.format, latency, choice.provider, credential, choice.usage_type
            )
            if not stages.usage.impls:  # only the caller may ask for the record: built when it does (Response.usage)
                return _response(
                    200, result_headers, body_out, trace, None, credential, choice.provider, unread, facts
                )
            usage = usage_from_facts(facts)  # a usage plugin gets the record, with its counts, now
            if unread:
                usage_from_body(unread, usage.detail)
            self._offer_usage(usage, ended, trace)
            return _response(200, result_headers, body_out, trace, usage, credential, choice.provider, b"", None)
        except StageError as exc:
            if self.usage.wanted():
                ended = perf_ns()
                usage = usage_from_facts(
                    (request.model, arrived, request.format, ended - trace.started_ns, "", "", "")
                )
                usage.failed = True
                usage.failure = t.UsageFailure(status_code=exc.http_status, body=exc.message.encode())
                self._offer_usage(usage, ended, trace)
            raise
        finally:
            if counted:
                next(runtime.finished)  # runtime.end() (no Ctrl-C token to check: the request took none)
            current_request_id.reset(token)

    # -- streams ------------------------------------------------------------------------------------------------
    def stream(self, request: Request) -> StreamResponse:
        """Run a streamed request: ``async for chunk in pipeline.stream(request)``. Stopping early (``break``,
        ``aclose()``, task cancellation) cancels the executor and releases the stream."""
        return StreamResponse(self, request)

    def _stream_chunks(self, response: StreamResponse) -> AsyncGenerator[bytes, None]:
        return stream_chunks(self, response)

    # -- the request side (shared with streams) -----------------------------------------------------------------
    # Each stage that ran is recorded with ``trace.mark`` when it ends (see Trace); a plan whose hookimpls are all
    # plain functions is run inline (``plan.runner``), others through ``run_async``.
    async def _request_side(
        self, request: Request, front: Front | None, trace: Trace, tried: set[str], stages: Stages
    ) -> tuple[Front, Pick, Route, t.ExecutorRequest]:
        """Every stage before the executor, and the executor's request.

        ``frontend_auth.authenticate`` and ``request.intercept_before`` run once per request: they give the headers,
        body and metadata the later stages see (``front``; the caller's ``Request`` is left as it was), which a
        retry passes back in. Then, per attempt: ``scheduler.pick``, request translation, ``request.normalize``,
        ``thinking.apply``. One coroutine for all of it: each coroutine a request awaits costs about as much as a
        stage.

        Each stage's params hold headers, query and metadata of their own (``copy_headers``, ``copy_metadata``),
        as a seed plugin unmarshals its own copy: a plugin's in-place changes reach no other stage, no retry, not
        the caller's ``Request`` and not the host's credentials (``response.intercept_after``, the last stage to
        read the request's headers, gets the pipeline's own).
        """
        mark, sink = trace.mark, trace.notes
        runtime = self.runtime
        stage = "frontend_auth.authenticate"
        try:
            if front is None:
                headers, body = copy_headers(request.headers) if request.headers else {}, request.body
                metadata = request.metadata  # never written to: a new dict when the principal is added
                plan = stages.auth
                if plan.impls:
                    query = request.query
                    auth_params = _auth_request(
                        request.method, request.path, copy_headers(headers) if headers else {},
                        copy_headers(query) if query else {}, body,
                    )
                    exclusive = stages.exclusive
                    if exclusive is not None:
                        plan = self._pinned(stages, stage, exclusive)
                        result = plan.runner(plan, auth_params, runtime, None) if plan.inline else await run_async(
                            plan, auth_params, runtime
                        )
                        sink.append((exclusive, "answered" if result.authenticated else "empty"))
                    else:
                        result = plan.runner(plan, auth_params, runtime, sink) if plan.inline else await run_async(
                            plan, auth_params, runtime, sink
                        )
                    if not result.authenticated:
                        mark((stage, None, perf_ns(), "rejected", None))
                        raise PluginKitError("unauthenticated", "no authenticator accepted the request")
                    metadata = {**metadata, "principal": result.principal}
                    mark((stage, None, perf_ns(), ("principal {!r}", result.principal), None))
                stage = "request.intercept_before"
                plan = stages.before
                if plan.impls:
                    params = _intercept_request(
                        request.format, request.model, request.model, request.stream,
                        copy_headers(headers) if headers else {}, body, copy_metadata(metadata) if metadata else {},
                    )
                    intercepted = plan.runner(plan, params, runtime, sink) if plan.inline else await run_async(
                        plan, params, runtime, sink
                    )
                    if intercepted.clear_headers or intercepted.headers:  # merging nothing would only copy
                        headers = merge_headers(headers, intercepted.clear_headers, intercepted.headers)
                    body = intercepted.body
                    mark((stage, None, perf_ns(), "", None))
                front = headers, body, metadata
            else:
                headers, body, metadata = front
            stage = "scheduler.pick"
            routes = self.routes  # providers_for, written out (a Python call costs ~0.4 us of a request in context)
            providers = routes.get(request.model) or routes.get("*") or self.providers_for(request.model)
            scheduler = self.scheduler
            pick = scheduler.pick_now(
                providers[0], providers, request.model, request.stream, headers, metadata,
                frozenset(tried) if tried else _NO_TRIES,
            ) if scheduler.__class__ is Scheduler else None  # a subclass may override pick
            if pick is None:
                pick = await scheduler.pick(
                    provider=providers[0], providers=providers, model=request.model, stream=request.stream,
                    headers=headers, metadata=metadata, tried=frozenset(tried),
                )
            mark((stage, pick.notes, perf_ns(), pick.decision, None))
            route = stages.routes.get((request.format, pick.credential.provider)) or self._route(
                stages, request.format, pick.credential.provider
            )
            source_format = route.source_format
            payload = body
            # The seed host's order (sdk/translator/registry.go, TranslateRequest): a native translator, then the
            # normalisers; without one, the body keeps the resolved model, the normalisers see it in the client's
            # format, then plugins translate it, and when none does it goes on untranslated.
            translating = source_format != request.format
            native = route.to_source if translating else None
            if native is not None:
                stage = "request.translate"
                sink.append(("native", "answered"))
                payload = native(body, request.model, request.stream)
                mark((stage, None, perf_ns(), route.translate_decision, None))
            elif translating:
                payload = with_model(body, request.model)
            translated = None
            plan = stages.normalize
            if plan.impls:
                stage = "request.normalize"
                translated = _translate_request(request.format, source_format, request.model, request.stream, payload)
                payload = (plan.runner(plan, translated, runtime, sink) if plan.inline else await run_async(
                    plan, translated, runtime, sink
                )).body
                mark((stage, None, perf_ns(), "", None))
            if translating and native is None:
                stage = "request.translate"
                plan = stages.translate
                if translated is None:
                    translated = _translate_request(
                        request.format, source_format, request.model, request.stream, payload
                    )
                else:  # the normalisers' params, every field set as a new object would have them
                    translated.from_format, translated.to_format = request.format, source_format
                    translated.model, translated.stream, translated.body = request.model, request.stream, payload
                decision: Any = route.translate_decision
                try:
                    payload = (plan.runner(plan, translated, runtime, sink) if plan.inline else await run_async(
                        plan, translated, runtime, sink
                    )).body
                except PluginKitError as exc:
                    if self.strict_translation:
                        raise
                    decision = ("not translated ({}): sent as {}", exc.code, request.format)
                mark((stage, None, perf_ns(), decision, None))
            plan = route.thinking_plan
            if request.thinking is not None and plan.impls:
                stage = "thinking.apply"
                thinking = _thinking_request(
                    route.choice.provider, _model_info(request.model), _copy_thinking(request.thinking), payload,
                    request.request_id,
                )
                try:  # the params carry their host_callback_id: the runner that would check it is not needed
                    payload = (plan.filled_runner(plan, thinking, runtime, sink) if plan.inline else await run_async(
                        plan, thinking, runtime, sink
                    )).body
                    thought: tuple[str, str] = ("mode {}", request.thinking.mode)
                except PluginKitError as exc:  # the seed host keeps the body when the applier fails
                    thought = ("failed: {}, body kept", exc.code)
                mark((stage, None, perf_ns(), thought, None))
        except PluginKitError as exc:
            raise StageError(stage, exc, trace) from None
        credential, query = pick.credential, request.query
        ereq = _executor_request(
            credential.id, credential.provider, request.model, route.out_format, request.stream,
            copy_headers(headers) if headers else {}, copy_headers(query) if query else {}, request.body,
            source_format, payload, copy_metadata(metadata) if metadata else {}, credential.storage_json,
            copy_metadata(credential.metadata) if credential.metadata else {}, dict(credential.attributes),
            request.request_id,
        )
        return front, pick, route, ereq

    async def _may_retry(self, exc: PluginKitError, pick: Pick, request: Request, tried: set[str]) -> bool:
        await self.scheduler.report(pick.credential, request.model, exc)
        tried.add(pick.credential.id)
        return exc.retryable and len(tried) <= self.max_retries

    def _finish_usage(
        self, usage: t.UsageRecord, pick: Pick | None, choice: ExecutorChoice | None, started: int, ttft: int | None,
        trace: Trace,
    ) -> None:
        ended = perf_ns()  # the request's end, and the queueing's (a stage of no measurable time)
        usage.latency_ns = ended - started
        if pick is not None and choice is not None:
            usage.provider, usage.auth_id = choice.provider, pick.credential.id
            usage.executor_type = choice.usage_type
        self._offer_usage(usage, ended, trace)

    def _offer_usage(self, usage: t.UsageRecord, ended: int, trace: Trace) -> None:
        """Queue a finished request's record for the usage plugins, and say so in its trace."""
        queue = self.usage
        dropped = queue.dropped
        if queue.offer(usage):
            trace.mark(("usage.handle", None, ended, "queued", None))
        elif queue.dropped != dropped:
            trace.mark(("usage.handle", None, ended, ("dropped ({} so far)", queue.dropped), None))

    # -- lifecycle and sync facade -----------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Deliver queued usage records and stop the usage worker."""
        await self.usage.close()

    def execute_sync(self, request: Request) -> Response:
        """:meth:`execute` for synchronous hosts (runs on the manager's event-loop thread)."""
        response: Response = self.runtime.run_coroutine(self.execute(request), None)
        return response

    def stream_sync(self, request: Request) -> Iterator[bytes]:
        """:meth:`stream` for synchronous hosts: a plain iterator of chunks."""
        iterator = self._stream_chunks(StreamResponse(self, request))
        run = self.runtime.run_coroutine
        try:
            while True:
                try:
                    yield run(anext(iterator), None)
                except StopAsyncIteration:
                    return
        finally:
            run(iterator.aclose(), None)

    def close_sync(self) -> None:
        self.runtime.run_coroutine(self.aclose(), None)
