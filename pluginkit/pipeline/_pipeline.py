"""The request pipeline: the manager's hooks composed in the seed host's stage order.

``frontend_auth.authenticate`` → ``request.intercept_before`` → ``scheduler.pick`` → native translator or
``request.translate`` → ``request.normalize`` → ``thinking.apply`` → ``executor.execute`` /
``executor.execute_stream`` → ``response.normalize_before`` → native translator or ``response.translate`` →
``response.normalize_after`` → ``response.intercept_after`` (streams: ``response.intercept_stream_chunk``) →
``usage.handle``.

A stage nobody implements costs one dictionary lookup. A stage's failure fails the request with that error, its
message prefixed with the stage's ABI name; retryable executor failures move to the next credential.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from pluginkit import types as t
from pluginkit._context import current_request_id
from pluginkit._dispatch import merge_headers
from pluginkit._manager import PluginManager
from pluginkit._plugin import PluginState
from pluginkit.errors import PluginKitError
from pluginkit.pipeline._formats import normalize_formats, usage_from_body
from pluginkit.pipeline._model import NativeExecutor, Request, Response, Trace, Translate
from pluginkit.pipeline._stream import ChunkProcessor, StreamResponse
from pluginkit.pipeline._usage import UsageQueue
from pluginkit.scheduling import Credential, Pick, Scheduler, SchedulerState

__all__ = ["Pipeline", "StageError"]

perf_ns = time.perf_counter_ns


class StageError(PluginKitError):
    """A request failed in ``stage`` (an ABI method name); ``trace`` shows how far it got."""

    def __init__(self, stage: str, error: PluginKitError, trace: Trace) -> None:
        message = error.message if error.message.startswith(f"{stage}:") else f"{stage}: {error.message}"
        super().__init__(
            error.code, message, error.retryable, http_status=error.http_status, retry_after=error.retry_after
        )
        self.stage = stage
        self.trace = trace


@attrs.frozen
class ExecutorChoice:
    """Who executes for a provider, and the formats it reads and writes."""

    provider: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    native: NativeExecutor | None = None
    plugin: str = ""

    @property
    def name(self) -> str:
        return f"native {self.provider}" if self.native is not None else self.plugin


class Pipeline:
    """Runs client requests through the plugins' stages.

    ``routes`` maps a model (or ``"*"``) to the provider keys that may serve it; ``credentials`` are the host's
    credentials; ``strategy`` the built-in selector; ``state`` the scheduler state (``RedisState`` to share
    round-robin cursors and cooldowns between replicas); ``max_retries`` how many other credentials a retryable
    executor failure may move on to.
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
    ) -> None:
        self.manager = manager
        self.scheduler = Scheduler(manager, credentials, strategy=strategy, state=state)
        self.routes = {model: [p.lower() for p in providers] for model, providers in (routes or {}).items()}
        self.max_retries = max_retries
        self.usage = UsageQueue(manager, maxsize=usage_queue_size)
        self._translators: dict[tuple[str, str], tuple[Translate | None, Translate | None]] = {}
        self._executors: dict[str, ExecutorChoice] = {}

    # -- host registration ----------------------------------------------------------------------------------
    def add_translator(
        self, from_format: str, to_format: str, *, request: Translate | None = None, response: Translate | None = None
    ) -> None:
        """A native translator between a client format and a provider format: ``request`` rewrites client bodies
        ``from_format`` → ``to_format``; ``response`` rewrites answers back ``to_format`` → ``from_format`` (whole
        bodies, or one stream event at a time). Plugin translators are used only for pairs without one."""
        old_request, old_response = self._translators.get((from_format, to_format), (None, None))
        self._translators[(from_format, to_format)] = (request or old_request, response or old_response)

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

    # -- lookups ------------------------------------------------------------------------------------------------
    def providers_for(self, model: str) -> list[str]:
        providers = self.routes.get(model) or self.routes.get("*")
        if not providers:
            raise PluginKitError("not_found", f"no route serves model {model!r}")
        return providers

    def executor_for(self, provider: str) -> ExecutorChoice:
        native = self._executors.get(provider)
        if native is not None:
            return native
        for info in self.manager.plugins():
            if info.state is not PluginState.ACTIVE or "executor" not in info.capabilities:
                continue
            record = self.manager._records[info.id]
            if record.identifiers.get("executor") != provider or record.registration is None:
                continue
            caps = record.registration.capabilities
            inputs, outputs = (
                normalize_formats(caps.executor_input_formats),
                normalize_formats(caps.executor_output_formats),
            )
            if not inputs or not outputs:
                raise PluginKitError("executor_not_found", f"plugin {info.id!r} declares no executor formats")
            return ExecutorChoice(provider, tuple(inputs), tuple(outputs), plugin=info.id)
        raise PluginKitError("executor_not_found", f"no executor serves provider {provider!r}")

    def _has(self, method: str) -> bool:
        plan = self.manager._plans.get(method) or self.manager._plan(method)
        return bool(plan.impls)

    # -- whole responses ----------------------------------------------------------------------------------------
    async def execute(self, request: Request) -> Response:
        """Run a request and return the whole response. Failures raise :class:`StageError`."""
        trace = Trace()
        started = perf_ns()
        token = current_request_id.set(request.request_id)
        usage = t.UsageRecord(model=request.model, requested_at=datetime.now(UTC), source=request.format)
        try:
            headers, body = await self._front(request, trace)
            pick, choice, ereq, out_format = None, None, None, ""
            answer: t.ExecutorResponse | None = None
            tried: set[str] = set()
            while answer is None:
                pick, choice, ereq, out_format = await self._prepare(request, headers, body, trace, tried)
                stage_started = perf_ns()
                try:
                    answer = await self._execute(choice, ereq)
                except PluginKitError as exc:
                    trace.add("executor.execute", stage_started, f"{choice.name} failed: {exc.code}", None)
                    if not await self._may_retry(exc, pick, request, tried):
                        raise StageError("executor.execute", exc, trace) from None
                    continue
                trace.add(
                    "executor.execute",
                    stage_started,
                    f"{choice.name} answered {len(answer.payload)} bytes",
                    [(choice.name, "answered")],
                )
            assert pick is not None and choice is not None and ereq is not None
            usage_from_body(answer.payload, usage.detail)
            body_out = await self._response_body(request, ereq, answer.payload, out_format, trace)
            result_headers = {k: list(v) for k, v in answer.headers.items()}
            if self._has("response.intercept_after"):
                stage_started, notes = perf_ns(), list[tuple[str, str]]()
                try:
                    intercepted = await self.manager.acall(
                        "response.intercept_after",
                        t.ResponseInterceptRequest(
                            source_format=request.format,
                            model=ereq.model,
                            requested_model=request.model,
                            stream=False,
                            request_headers=headers,
                            response_headers=result_headers,
                            original_request=request.body,
                            request_body=body,
                            body=body_out,
                            status_code=200,
                            metadata=dict(request.metadata),
                        ),
                        notes=notes,
                    )
                except PluginKitError as exc:
                    raise StageError("response.intercept_after", exc, trace) from None
                trace.add("response.intercept_after", stage_started, "", notes)
                result_headers = merge_headers(result_headers, intercepted.clear_headers, intercepted.headers)
                body_out = intercepted.body
            self._finish_usage(usage, pick, choice, started, None, trace)
            return Response(200, result_headers, body_out, trace, usage, pick.credential.id, choice.provider)
        except StageError as exc:
            usage.failed, usage.failure = True, t.UsageFailure(status_code=exc.http_status, body=exc.message.encode())
            self._finish_usage(usage, None, None, started, None, trace)
            raise
        finally:
            current_request_id.reset(token)

    # -- streams ------------------------------------------------------------------------------------------------
    def stream(self, request: Request) -> StreamResponse:
        """Run a streamed request: ``async for chunk in pipeline.stream(request)``. Stopping early (``break``,
        ``aclose()``, task cancellation) cancels the executor and releases the stream."""
        return StreamResponse(self, request)

    async def _stream_chunks(self, response: StreamResponse) -> AsyncGenerator[bytes, None]:
        request, trace = response.request, response.trace
        started = perf_ns()
        # A generator may be resumed from different tasks (the sync facade does): restore by value, not by token.
        previous = current_request_id.get()
        current_request_id.set(request.request_id)
        usage = response.usage
        try:
            headers, body = await self._front(request, trace)
            tried: set[str] = set()
            while True:
                pick, choice, ereq, out_format = await self._prepare(request, headers, body, trace, tried)
                stage_started = perf_ns()
                source = self._execute_stream(choice, ereq)
                try:
                    first = await anext(source)
                except StopAsyncIteration:
                    first = None
                except PluginKitError as exc:
                    trace.add("executor.execute_stream", stage_started, f"{choice.name} failed: {exc.code}", None)
                    if not await self._may_retry(exc, pick, request, tried):
                        raise StageError("executor.execute_stream", exc, trace) from None
                    continue
                break
            processor = ChunkProcessor(self, request, ereq, out_format, headers, body, trace, usage)
            response.headers = await processor.header_call()
            response.credential, response.provider = pick.credential.id, choice.provider
            count = 0
            try:
                chunk = first
                while chunk is not None:
                    out = await processor.process(chunk)
                    if out is not None:
                        if count == 0:
                            usage.ttft_ns = perf_ns() - started
                        count += 1
                        yield out
                    try:
                        chunk = await anext(source)
                    except StopAsyncIteration:
                        chunk = None
            except PluginKitError as exc:
                raise StageError("executor.execute_stream", exc, trace) from None
            finally:
                await source.aclose()
            trace.add(
                "executor.execute_stream",
                stage_started,
                f"{choice.name} streamed {processor.index} chunks",
                [(choice.name, "answered")],
            )
            if processor.translate_notes is not None:
                trace.add(
                    "response.translate",
                    stage_started,
                    f"{out_format} → {request.format}, per chunk",
                    processor.translate_notes,
                )
            if processor.intercepting:
                trace.add(
                    "response.intercept_stream_chunk",
                    stage_started,
                    f"{processor.index} chunks, {processor.dropped} dropped",
                    processor.notes,
                )
            self._finish_usage(usage, pick, choice, started, usage.ttft_ns or None, trace)
        except StageError as exc:
            usage.failed, usage.failure = True, t.UsageFailure(status_code=exc.http_status, body=exc.message.encode())
            self._finish_usage(usage, None, None, started, None, trace)
            raise
        finally:
            current_request_id.set(previous)

    async def _execute_stream(self, choice: ExecutorChoice, ereq: t.ExecutorRequest) -> AsyncGenerator[bytes, None]:
        if choice.native is not None:
            async for chunk in choice.native.execute_stream(ereq):
                yield chunk
            return
        host = self.manager.host
        stream = host.open_stream()
        ereq.stream_id = stream.id
        import asyncio

        call = asyncio.ensure_future(self.manager.acall_plugin(choice.plugin, "executor.execute_stream", ereq))

        def finished(task: asyncio.Future[t.ExecutorStreamResult]) -> None:
            if task.cancelled():
                stream.cancel()
                return
            error = task.exception()
            if error is not None:
                code = getattr(error, "code", "plugin_error")
                stream.close(f"{code}:{getattr(error, 'message', str(error))}")
                return
            for chunk in task.result().chunks:  # inline chunks are the whole stream
                try:
                    stream.emit(chunk.payload, chunk.err)
                except PluginKitError:
                    break
            stream.close()

        call.add_done_callback(finished)
        try:
            async for piece in stream:
                if piece.err:
                    code, _, message = piece.err.partition(":")
                    if not call.done():  # a plugin that closed with an error may be about to raise the real one
                        await asyncio.wait({call}, timeout=1.0)
                    if call.done() and not call.cancelled() and call.exception() is not None:
                        error = call.exception()
                        raise error if isinstance(error, PluginKitError) else PluginKitError("plugin_error", piece.err)
                    raise PluginKitError("upstream_error" if not message else code, message or piece.err)
                yield piece.payload
        finally:
            if not call.done():
                call.cancel()
            stream.cancel()
            host.release_stream(stream)

    # -- shared stages ------------------------------------------------------------------------------------------
    async def _front(self, request: Request, trace: Trace) -> tuple[dict[str, list[str]], bytes]:
        """``frontend_auth.authenticate`` and ``request.intercept_before``."""
        headers, body = {k: list(v) for k, v in request.headers.items()}, request.body
        stage = "frontend_auth.authenticate"
        try:
            if self._has(stage):
                stage_started, notes = perf_ns(), list[tuple[str, str]]()
                auth_params = t.FrontendAuthRequest(
                    method=request.method, path=request.path, headers=headers, query=request.query, body=body
                )
                exclusive = [
                    p
                    for p in self.manager.plugins()
                    if p.state is PluginState.ACTIVE and "frontend_auth_provider_exclusive" in p.capabilities
                ]
                if exclusive:
                    result = await self.manager.acall_plugin(exclusive[0].id, "frontend_auth.authenticate", auth_params)
                    notes.append((exclusive[0].id, "answered" if result.authenticated else "empty"))
                else:
                    result = await self.manager.acall("frontend_auth.authenticate", auth_params, notes=notes)
                if not result.authenticated:
                    trace.add("frontend_auth.authenticate", stage_started, "rejected", notes)
                    raise PluginKitError("unauthenticated", "no authenticator accepted the request")
                request.metadata = {**request.metadata, "principal": result.principal}
                trace.add("frontend_auth.authenticate", stage_started, f"principal {result.principal!r}", notes)
            stage = "request.intercept_before"
            if self._has(stage):
                stage_started, notes = perf_ns(), list[tuple[str, str]]()
                intercepted = await self.manager.acall(
                    "request.intercept_before",
                    t.RequestInterceptRequest(
                        source_format=request.format,
                        model=request.model,
                        requested_model=request.model,
                        stream=request.stream,
                        headers=headers,
                        body=body,
                        metadata=dict(request.metadata),
                    ),
                    notes=notes,
                )
                headers = merge_headers(headers, intercepted.clear_headers, intercepted.headers)
                body = intercepted.body
                trace.add(stage, stage_started, "", notes)
        except PluginKitError as exc:
            raise StageError(stage, exc, trace) from None
        return headers, body

    async def _prepare(
        self, request: Request, headers: dict[str, list[str]], body: bytes, trace: Trace, tried: set[str]
    ) -> tuple[Pick, ExecutorChoice, t.ExecutorRequest, str]:
        """``scheduler.pick``, request translation, ``request.normalize``, ``thinking.apply``."""
        stage = "scheduler.pick"
        try:
            stage_started = perf_ns()
            providers = self.providers_for(request.model)
            pick = await self.scheduler.pick(
                provider=providers[0],
                providers=providers,
                model=request.model,
                stream=request.stream,
                headers=headers,
                metadata=request.metadata,
                tried=frozenset(tried),
            )
            trace.add(stage, stage_started, pick.decision, [(pick.plugin, "answered")] if pick.plugin else None)
            choice = self.executor_for(pick.credential.provider)
            source_format = request.format if request.format in choice.inputs else choice.inputs[0]
            out_format = request.format if request.format in choice.outputs else choice.outputs[0]
            payload = body
            if source_format != request.format:
                stage, stage_started, notes = "request.translate", perf_ns(), list[tuple[str, str]]()
                payload = await self._translate(
                    request.format, source_format, request.model, request.stream, body, notes, request=True
                )
                trace.add(stage, stage_started, f"{request.format} → {source_format}", notes)
            if self._has("request.normalize"):
                stage, stage_started, notes = "request.normalize", perf_ns(), list[tuple[str, str]]()
                payload = (
                    await self.manager.acall(
                        stage,
                        t.RequestTranslateRequest(
                            from_format=request.format,
                            to_format=source_format,
                            model=request.model,
                            stream=request.stream,
                            body=payload,
                        ),
                        notes=notes,
                    )
                ).body
                trace.add(stage, stage_started, "", notes)
            if request.thinking is not None and self._has("thinking.apply"):
                stage, stage_started, notes = "thinking.apply", perf_ns(), list[tuple[str, str]]()
                payload = (
                    await self.manager.acall(
                        stage,
                        t.ThinkingApplyRequest(
                            provider=choice.provider,
                            model=t.ModelInfo(id=request.model),
                            config=request.thinking,
                            body=payload,
                        ),
                        notes=notes,
                    )
                ).body
                trace.add(stage, stage_started, f"mode {request.thinking.mode}", notes)
        except PluginKitError as exc:
            raise StageError(stage, exc, trace) from None
        credential = pick.credential
        ereq = t.ExecutorRequest(
            auth_id=credential.id,
            auth_provider=credential.provider,
            model=request.model,
            format=out_format,
            stream=request.stream,
            headers=headers,
            query=dict(request.query),
            original_request=request.body,
            source_format=source_format,
            payload=payload,
            metadata=dict(request.metadata),
            storage_json=credential.storage_json,
            auth_metadata=dict(credential.metadata),
            auth_attributes=dict(credential.attributes),
        )
        return pick, choice, ereq, out_format

    async def _translate(
        self,
        from_format: str,
        to_format: str,
        model: str,
        stream: bool,
        body: bytes,
        notes: list[tuple[str, str]],
        *,
        request: bool,
        original: bytes = b"",
        translated: bytes = b"",
    ) -> bytes:
        """Native translator for the pair if there is one, else the plugins' first success."""
        native = self._translators.get((from_format, to_format) if request else (to_format, from_format))
        function = None if native is None else native[0] if request else native[1]
        if function is not None:
            notes.append(("native", "answered"))
            return function(body, model, stream)
        if request:
            params: Any = t.RequestTranslateRequest(
                from_format=from_format, to_format=to_format, model=model, stream=stream, body=body
            )
            return (await self.manager.acall("request.translate", params, notes=notes)).body  # type: ignore[no-any-return]
        params = t.ResponseTranslateRequest(
            from_format=from_format,
            to_format=to_format,
            model=model,
            stream=stream,
            original_request=original,
            translated_request=translated,
            body=body,
        )
        return (await self.manager.acall("response.translate", params, notes=notes)).body  # type: ignore[no-any-return]

    async def _execute(self, choice: ExecutorChoice, ereq: t.ExecutorRequest) -> t.ExecutorResponse:
        if choice.native is not None:
            return await choice.native.execute(ereq)
        answer: t.ExecutorResponse = await self.manager.acall_plugin(choice.plugin, "executor.execute", ereq)
        return answer

    async def _may_retry(self, exc: PluginKitError, pick: Pick, request: Request, tried: set[str]) -> bool:
        await self.scheduler.report(pick.credential, request.model, exc)
        tried.add(pick.credential.id)
        return exc.retryable and len(tried) <= self.max_retries

    async def _response_body(
        self, request: Request, ereq: t.ExecutorRequest, payload: bytes, out_format: str, trace: Trace
    ) -> bytes:
        """``response.normalize_before`` → translation back → ``response.normalize_after`` (whole bodies)."""
        stage = "response.normalize_before"
        params = t.ResponseTranslateRequest(
            from_format=out_format,
            to_format=request.format,
            model=ereq.model,
            stream=False,
            original_request=request.body,
            translated_request=ereq.payload,
            body=payload,
        )
        try:
            if self._has(stage):
                stage_started, notes = perf_ns(), list[tuple[str, str]]()
                params.body = (await self.manager.acall(stage, params, notes=notes)).body
                trace.add(stage, stage_started, "", notes)
            if out_format != request.format:
                stage, stage_started, notes = "response.translate", perf_ns(), list[tuple[str, str]]()
                params.body = await self._translate(
                    out_format,
                    request.format,
                    ereq.model,
                    False,
                    params.body,
                    notes,
                    request=False,
                    original=request.body,
                    translated=ereq.payload,
                )
                trace.add(stage, stage_started, f"{out_format} → {request.format}", notes)
            if self._has("response.normalize_after"):
                stage, stage_started, notes = "response.normalize_after", perf_ns(), list[tuple[str, str]]()
                params.body = (await self.manager.acall(stage, params, notes=notes)).body
                trace.add(stage, stage_started, "", notes)
        except PluginKitError as exc:
            raise StageError(stage, exc, trace) from None
        return params.body

    def _finish_usage(
        self,
        usage: t.UsageRecord,
        pick: Pick | None,
        choice: ExecutorChoice | None,
        started: int,
        ttft: int | None,
        trace: Trace,
    ) -> None:
        usage.latency_ns = perf_ns() - started
        if pick is not None and choice is not None:
            usage.provider, usage.auth_id = choice.provider, pick.credential.id
            usage.executor_type = "native" if choice.native is not None else f"plugin:{choice.plugin}"
        stage_started = perf_ns()
        queued = self.usage.offer(usage)
        if queued or self.usage.dropped:
            trace.add("usage.handle", stage_started, "queued" if queued else f"dropped ({self.usage.dropped} so far)")

    # -- lifecycle and sync facade -----------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Deliver queued usage records and stop the usage worker."""
        await self.usage.close()

    def execute_sync(self, request: Request) -> Response:
        """:meth:`execute` for synchronous hosts (runs on the manager's event-loop thread)."""
        response: Response = self.manager._loop_thread.run(self.execute(request), None)
        return response

    def stream_sync(self, request: Request) -> Iterator[bytes]:
        """:meth:`stream` for synchronous hosts: a plain iterator of chunks."""
        iterator = self._stream_chunks(StreamResponse(self, request))
        run = self.manager._loop_thread.run
        try:
            while True:
                try:
                    yield run(anext(iterator), None)
                except StopAsyncIteration:
                    return
        finally:
            run(iterator.aclose(), None)

    def close_sync(self) -> None:
        self.manager._loop_thread.run(self.aclose(), None)
