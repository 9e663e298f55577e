"""Streamed responses: each executor chunk through the response stages, and the object the caller iterates.

Per chunk: ``response.normalize_before`` → translation back to the client's format → ``response.normalize_after``
→ ``response.intercept_stream_chunk``. Interceptors get a header call (``chunk_index=-1``, no body) before the first
chunk, then one call per chunk; ``chunk_index`` counts dropped chunks too; ``history_chunks`` holds the chunks
already delivered, bounded to 64 chunks / 1 MiB. Stages nobody implements are skipped without a call.

Headers travel as the seed host carries ``rawStreamHeaders`` (CLIProxyAPI ``sdk/api/handlers/handlers.go``): the
executor's upstream headers are what the header call sees; each interceptor answer's header changes are applied
and seen by the next call; the caller's :attr:`StreamResponse.headers` are those in force when the first chunk is
delivered (later changes reach only later interceptor calls, as headers already sent cannot change).

After the first chunk a stream settles on one of three loops: a pure pass-through when no per-chunk stage has
plugins (one generator step per chunk, and a native executor's own iterator is the source, not re-yielded); a
synchronous per-chunk step when every per-chunk plan can run inline (no coroutine per chunk); otherwise the general
``await``-ing step. Which stages run is fixed when the stream starts; their plans are re-read whenever the manager's
plan table changes, so a plugin fused mid-stream stops being called, as it would for a new call.

Every chunk is scanned for token usage with ``chunk.partition(b"usage")[1]``: on Python 3.11 ``bytes.find`` and
``in`` parse their arguments the slow way (~90 and ~170 ns per chunk against ~60 ns, where a pass-through generator
step costs ~110 ns); ``partition`` copies only when it finds the word, in the one or two chunks that carry usage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.pipeline._formats import usage_from_body
from pluginkit.pipeline._model import (
    ExecutorChoice,
    Front,
    Request,
    Route,
    StageError,
    Stages,
    Trace,
    response_params,
    usage_record,
)
from pluginkit.runtime import (
    ExecutorStream,
    Plan,
    copy_headers,
    copy_metadata,
    current_request_id,
    merge_headers,
    run_async,
)
from pluginkit.wire._payload import builder

if TYPE_CHECKING:
    from pluginkit.pipeline._pipeline import Pipeline
    from pluginkit.scheduling import Pick

__all__ = ["HISTORY_BYTES", "HISTORY_CHUNKS", "ChunkProcessor", "StreamResponse", "Upstream", "stream_chunks"]

HISTORY_CHUNKS = 64
HISTORY_BYTES = 1 << 20
perf_ns = time.perf_counter_ns
_chunk_request = builder(
    t.StreamChunkInterceptRequest, "source_format", "model", "requested_model", "request_headers",
    "response_headers", "original_request", "request_body", "metadata",
)
#: :meth:`ChunkProcessor.process_sync` cannot run this chunk without awaiting (a plan stopped being inline).
AWAIT: Any = object()


def _must_await(processor: ChunkProcessor, chunk: bytes) -> Any:
    return AWAIT


class Upstream:
    """The upstream headers of one stream as they become known: a plugin executor's answer, headers it declared
    with ``host.stream.emit``, or a native stream's ``headers`` attribute. Before the first chunk they are kept
    for the header call; after it they go to the stream's processor (seen from the next interceptor call)."""

    __slots__ = ("headers", "processor")

    def __init__(self) -> None:
        self.headers: t.Headers = {}
        self.processor: ChunkProcessor | None = None

    def arrived(self, headers: t.Headers | None) -> None:
        if not headers:
            return
        if self.processor is None:
            self.headers = merge_headers(self.headers, [], headers)
        else:
            self.processor.change_headers([], headers)


class ChunkProcessor:
    """The response stages of one stream, with what they need precomputed once per stream."""

    # Slots: a thousand open streams each hold one; a slotted instance is a fraction of a dict-backed one.
    __slots__ = (
        "after_plan",
        "before_plan",
        "chunk_plan",
        "dropped",
        "ereq",
        "history",
        "history_bytes",
        "index",
        "intercepting",
        "native",
        "normalizing_after",
        "normalizing_before",
        "notes",
        "out_format",
        "params",
        "passthrough",
        "pipeline",
        "read_usage",
        "request",
        "response_headers",
        "runtime",
        "step",
        "sync",
        "token",
        "trace",
        "transforming",
        "translate_notes",
        "translate_params",
        "translate_plan",
        "translating",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        request: Request,
        ereq: t.ExecutorRequest,
        route: Route,
        request_headers: t.Headers,
        request_body: bytes,
        metadata: t.Metadata,
        trace: Trace,
        read_usage: Callable[[bytes], None],
        upstream: Upstream,
    ) -> None:
        self.pipeline = pipeline
        self.runtime = pipeline.runtime
        self.request = request
        self.ereq = ereq
        self.out_format = out_format = route.out_format
        #: Reads a chunk's token counts: at once for a usage plugin, else when the caller asks (StreamResponse).
        self.read_usage = read_usage
        self.trace = trace
        stages = pipeline._stages()  # fresh: plugins may have changed while the executor's first chunk came
        self.translating = out_format != request.format
        self.normalizing_before = bool(stages.normalize_before.impls)
        self.normalizing_after = bool(stages.normalize_after.impls)
        self.intercepting = bool(stages.chunk.impls)
        self.transforming = self.normalizing_before or self.translating or self.normalizing_after
        #: No per-chunk stage: chunks go through untouched (only usage is read).
        self.passthrough = not (self.transforming or self.intercepting)
        self.index = 0
        self.dropped = 0
        #: Who translated the first chunk (per-chunk stages are summarised once in the trace, not per chunk).
        self.translate_notes: list[tuple[str, str]] | None = [] if self.translating else None
        self.notes: list[tuple[str, str]] = []
        #: A list, copied by slicing for each call (a deque would need ``list()``); at most 64 entries.
        self.history: list[bytes] = []
        self.history_bytes = 0
        # the upstream's headers; the stream is SSE whatever they say, so a missing Content-Type is filled in
        self.response_headers: t.Headers = copy_headers(upstream.headers)
        if not any(name.lower() == "content-type" for name in self.response_headers):
            self.response_headers["Content-Type"] = ["text/event-stream"]
        upstream.processor = self
        #: The native translator back to the client's format, if the host registered one for the pair.
        self.native = route.from_output if self.translating else None
        self._take_plans(stages)
        # One params object per stream and stage family, updated per chunk: building an 11-field object per chunk
        # would cost more than the interceptor call itself. Built only for the stages that run. Its headers and
        # metadata are the interceptors' own: a change they make in place reaches neither the caller's
        # StreamResponse.headers nor the pipeline's (a lone interceptor sees it again in its later calls).
        if self.intercepting:
            self.params = _chunk_request(
                request.format, ereq.model, request.model, request_headers, copy_headers(self.response_headers),
                request.body, request_body, copy_metadata(metadata) if metadata else {},
            )
        if self.transforming:
            self.translate_params = self._response_params(b"")

    def _take_plans(self, stages: Stages) -> bool:
        """Take the per-chunk plans from ``stages``; returns whether every stage that runs can run inline."""
        self.token = stages.token
        self.before_plan: Plan = stages.normalize_before
        self.after_plan: Plan = stages.normalize_after
        self.translate_plan: Plan = stages.response_translate
        self.chunk_plan: Plan = stages.chunk
        # every stage that runs per chunk can run inline (a stage that does not run cannot get in the way)
        self.sync = (
            (not self.normalizing_before or self.before_plan.inline)
            and (not self.normalizing_after or self.after_plan.inline)
            and (not self.translating or self.native is not None or self.translate_plan.inline)
            and (not self.intercepting or self.chunk_plan.inline)
        )
        #: ``step(processor, chunk)``: one chunk without awaiting (:data:`AWAIT` when that is not possible). A plain
        #: function, not a bound method: storing ``self.method`` on ``self`` would make a reference cycle, and keep
        #: the stream's history alive until the cyclic collector runs.
        self.step: Callable[[ChunkProcessor, bytes], Any] = (
            _must_await
            if not self.sync
            else ChunkProcessor._intercepting_only
            if self.intercepting and not self.transforming
            else ChunkProcessor.process_sync
        )
        return self.sync

    def _response_params(self, body: bytes) -> t.ResponseTranslateRequest:
        return response_params(self.request, self.ereq, self.out_format, body, True)

    def change_headers(self, clear: list[str], headers: t.Headers) -> None:
        """Apply header changes (an interceptor's, or upstream headers known late): the next call sees them."""
        self.response_headers = merge_headers(self.response_headers, clear, headers)
        if self.intercepting:  # the interceptors' own copy: what they change in place stays theirs
            self.params.response_headers = copy_headers(self.response_headers)

    async def header_call(self) -> t.Headers:
        """The ``chunk_index=-1`` call: interceptors may change the response headers before anything is sent."""
        if self.intercepting:
            started = perf_ns()
            params, plan, runtime = self.params, self.chunk_plan, self.runtime
            params.chunk_index, params.body, params.history_chunks = -1, b"", []
            answer = (
                plan.runner(plan, params, runtime, self.notes)
                if plan.inline
                else await run_async(plan, params, runtime, self.notes)
            )
            if answer.headers or answer.clear_headers:
                self.change_headers(answer.clear_headers, answer.headers)
            self.trace.add("response.intercept_stream_chunk", started, "header call (index -1)", list(self.notes))
            # the per-chunk calls are summarised at the end of the stream under the same plugins
            self.notes[:] = [(plugin, "answered") for plugin, _ in self.notes]
        return self.response_headers

    def _translation_notes(self) -> list[tuple[str, str]] | None:
        """Notes for this chunk's translation: only the first chunk's are kept for the trace."""
        return [] if self.translate_notes == [] else None

    def process_sync(self, chunk: bytes) -> Any:
        """:meth:`process` without awaiting, for streams whose per-chunk plans all run inline: the bytes to
        deliver, ``None`` when an interceptor dropped the chunk, or :data:`AWAIT` (nothing done) when a plan
        changed and can no longer run inline."""
        runtime = self.runtime
        if runtime.plans is not self.token and not self._take_plans(self.pipeline._stages()):
            return AWAIT
        if chunk.partition(b"usage")[1]:
            self.read_usage(chunk)
        body = chunk
        if self.transforming:
            params = self.translate_params
            params.body = body
            if self.normalizing_before:
                plan = self.before_plan
                params.body = plan.runner(plan, params, runtime, None).body
            if self.translating:
                notes = self._translation_notes()
                if self.native is not None:
                    if notes is not None:
                        notes.append(("native", "answered"))
                    params.body = self.native(params.body, self.ereq.model, True)
                else:
                    plan = self.translate_plan
                    try:
                        params.body = plan.runner(plan, self._response_params(params.body), runtime, notes).body
                    except PluginKitError:  # the seed host streams the event untranslated (TranslateStream)
                        if self.pipeline.strict_translation:
                            raise
                if notes is not None:
                    self.translate_notes = notes
            if self.normalizing_after:
                plan = self.after_plan
                params.body = plan.runner(plan, params, runtime, None).body
            body = params.body
        if not self.intercepting:
            self.index += 1
            return body
        return self._intercept_sync(body)

    def _intercepting_only(self, chunk: bytes) -> Any:
        """:meth:`process_sync` for streams whose only per-chunk stage is the interceptors (the common case), with
        :meth:`_intercept_sync`, :meth:`_chunk_params`, :meth:`_intercepted` and :meth:`_delivered` written out:
        their four calls per chunk cost about half the interceptor's own (``benchmarks``, ``pipeline``)."""
        runtime = self.runtime
        if runtime.plans is not self.token:
            return self.process_sync(chunk)
        if chunk.partition(b"usage")[1]:
            self.read_usage(chunk)
        params = self.params
        history = self.history
        index = self.index
        params.body, params.chunk_index, params.history_chunks = chunk, index, history[:]
        plan = self.chunk_plan
        answer = plan.runner(plan, params, runtime, None)
        self.index = index + 1
        if answer.headers or answer.clear_headers:
            self.change_headers(answer.clear_headers, answer.headers)
        if answer.drop_chunk:
            self.dropped += 1
            return None
        chunk = answer.body or chunk
        history.append(chunk)
        size = self.history_bytes + len(chunk)
        if len(history) > HISTORY_CHUNKS:  # full: the oldest goes (the usual case once 64 chunks went by)
            size -= len(history.pop(0))
        while size > HISTORY_BYTES and history:  # chunks are small: this loop rarely runs
            size -= len(history.pop(0))
        self.history_bytes = size
        return chunk

    def _intercept_sync(self, body: bytes) -> bytes | None:
        """``response.intercept_stream_chunk`` for one chunk after the other stages, inline."""
        plan = self.chunk_plan
        return self._intercepted(plan.runner(plan, self._chunk_params(body), self.runtime, None), body)

    def _chunk_params(self, body: bytes) -> t.StreamChunkInterceptRequest:
        params = self.params
        params.body, params.chunk_index, params.history_chunks = body, self.index, self.history[:]
        return params

    def _intercepted(self, answer: t.StreamChunkInterceptResult, body: bytes) -> bytes | None:
        """The chunk the interceptors' combined answer leaves (``None``: dropped), remembered in the history."""
        self.index += 1
        if answer.headers or answer.clear_headers:
            self.change_headers(answer.clear_headers, answer.headers)
        if answer.drop_chunk:
            self.dropped += 1
            return None
        return self._delivered(answer.body or body)

    async def process(self, chunk: bytes) -> bytes | None:
        """One executor chunk → the bytes to deliver, or ``None`` when an interceptor dropped it."""
        runtime = self.runtime
        if runtime.plans is not self.token:
            self._take_plans(self.pipeline._stages())
        if chunk.partition(b"usage")[1]:
            self.read_usage(chunk)
        body = chunk
        if self.transforming:
            params = self.translate_params
            params.body = body
            if self.normalizing_before:
                params.body = (await self._run(self.before_plan, params, None)).body
            if self.translating:
                notes = self._translation_notes()
                if self.native is not None:
                    if notes is not None:
                        notes.append(("native", "answered"))
                    params.body = self.native(params.body, self.ereq.model, True)
                else:
                    try:
                        params.body = (
                            await self._run(self.translate_plan, self._response_params(params.body), notes)
                        ).body
                    except PluginKitError:  # as in process_sync
                        if self.pipeline.strict_translation:
                            raise
                if notes is not None:
                    self.translate_notes = notes
            if self.normalizing_after:
                params.body = (await self._run(self.after_plan, params, None)).body
            body = params.body
        if self.intercepting:
            return self._intercepted(await self._run(self.chunk_plan, self._chunk_params(body), None), body)
        self.index += 1
        return body

    async def _run(self, plan: Plan, params: Any, notes: list[tuple[str, str]] | None) -> Any:
        if plan.inline:
            return plan.runner(plan, params, self.runtime, notes)
        return await run_async(plan, params, self.runtime, notes)

    def _delivered(self, body: bytes) -> bytes:
        """Remember a delivered chunk in the bounded history."""
        history = self.history
        history.append(body)
        size = self.history_bytes + len(body)
        if len(history) > HISTORY_CHUNKS:
            size -= len(history.pop(0))
        while size > HISTORY_BYTES and history:
            size -= len(history.pop(0))
        self.history_bytes = size
        return body


class StreamResponse:
    """What :meth:`Pipeline.stream` returns: iterate it for the chunks; ``headers``, ``trace`` and ``usage`` fill in
    as the stream runs. Leaving the loop early cancels the executor and releases the stream."""

    __slots__ = ("_iterator", "_unread", "_usage", "credential", "headers", "pipeline", "provider", "request", "trace")

    def __init__(self, pipeline: Pipeline, request: Request) -> None:
        self.pipeline = pipeline
        self.request = request
        self.trace = Trace()
        self.headers: t.Headers = {}
        self.credential = ""
        self.provider = ""
        self._usage = usage_record(request.model, datetime.now(UTC), request.format)
        #: Chunks carrying token counts nobody has read yet (no usage plugin): read when ``usage`` is asked for.
        self._unread: list[bytes] = []
        self._iterator: AsyncGenerator[bytes, None] | None = None

    @property
    def usage(self) -> t.UsageRecord:
        """The request's usage record (complete once the stream is over), token counts included."""
        if self._unread:
            self.read_unread()
        return self._usage

    def read_unread(self) -> None:
        detail = self._usage.detail
        for chunk in self._unread:
            usage_from_body(chunk, detail)
        self._unread.clear()

    def usage_reader(self) -> Callable[[bytes], None]:
        """How the stream reads a chunk's token counts: at once when a usage plugin will get the record, else
        later, if the caller asks (most never do; parsing them was a measurable part of a short stream)."""
        if self.pipeline.usage.wanted():
            detail = self._usage.detail
            return lambda chunk: usage_from_body(chunk, detail)
        return self._unread.append

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        if self._iterator is None:
            self._iterator = self.pipeline._stream_chunks(self)
        return self._iterator

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def read(self) -> bytes:
        """The whole stream joined (for tests and simple hosts)."""
        return b"".join([chunk async for chunk in self])


async def stream_chunks(pipeline: Pipeline, response: StreamResponse) -> AsyncGenerator[bytes, None]:
    """The chunks of a streamed request (``Pipeline._stream_chunks``)."""
    request, trace, usage = response.request, response.trace, response._usage
    read_usage = response.usage_reader()
    started = trace.started_ns = perf_ns()  # the stream starts when it is first read, not when it was made
    # A generator may be resumed from different tasks (the sync facade does): restore by value, not by token.
    previous = current_request_id.get()
    current_request_id.set(request.request_id)
    try:
        pick, choice, source, first, processor, stage_started = await _open(pipeline, response, read_usage)
        try:
            if first is not None:
                if processor.passthrough:  # one generator step per chunk: nothing runs per chunk but the usage scan
                    count = 1
                    if first.partition(b"usage")[1]:
                        read_usage(first)
                    usage.ttft_ns = perf_ns() - started
                    response.headers = copy_headers(processor.response_headers)
                    yield first
                    if source.__class__ is Replay:  # a sync executor's answer, buffered: no await per chunk
                        replay: Any = source
                        for chunk in replay.rest:
                            if chunk.partition(b"usage")[1]:
                                read_usage(chunk)
                            count += 1
                            yield chunk
                        replay.end()
                    else:
                        async for chunk in source:
                            if chunk.partition(b"usage")[1]:
                                read_usage(chunk)
                            count += 1
                            yield chunk
                    processor.index = count
                else:
                    # ``step`` runs a chunk without awaiting, or answers AWAIT (then ``process`` runs it and the step
                    # for the next chunks is read again: the plans may have changed)
                    step = processor.step
                    out = step(processor, first)
                    if out is AWAIT:
                        out = await processor.process(first)
                        step = processor.step
                    timed = out is not None
                    if timed:
                        usage.ttft_ns = perf_ns() - started
                        response.headers = copy_headers(processor.response_headers)  # sent with the first chunk
                        yield out
                    async for chunk in source:
                        out = step(processor, chunk)
                        if out is AWAIT:
                            out = await processor.process(chunk)
                            step = processor.step
                        if out is not None:
                            if not timed:
                                usage.ttft_ns, timed = perf_ns() - started, True
                                response.headers = copy_headers(processor.response_headers)
                            yield out
        except PluginKitError as exc:
            raise StageError("executor.execute_stream", exc, trace) from None
        finally:
            await _close(source)
        # decisions as (format, *args): formatted only if the trace is read
        trace.add(
            "executor.execute_stream", stage_started, ("{} streamed {} chunks", choice.name, processor.index),
            ((choice.name, "answered"),),
        )
        if processor.translate_notes is not None:
            trace.add(
                "response.translate", stage_started, ("{} → {}, per chunk", processor.out_format, request.format),
                processor.translate_notes,
            )
        if processor.intercepting:
            trace.add(
                "response.intercept_stream_chunk", stage_started,
                ("{} chunks, {} dropped", processor.index, processor.dropped), processor.notes,
            )
        if response._unread and pipeline.usage.wanted():  # a usage plugin came while the stream ran
            response.read_unread()
        pipeline._finish_usage(usage, pick, choice, started, usage.ttft_ns or None, trace)
    except StageError as exc:
        usage.failed, usage.failure = True, t.UsageFailure(status_code=exc.http_status, body=exc.message.encode())
        pipeline._finish_usage(usage, None, None, started, None, trace)
        raise
    finally:
        current_request_id.set(previous)


async def _open(
    pipeline: Pipeline, response: StreamResponse, read_usage: Callable[[bytes], None]
) -> tuple[Pick, ExecutorChoice, AsyncIterator[bytes], bytes | None, ChunkProcessor, int]:
    """Everything before the first chunk is delivered: the request stages, the executor's first chunk (moving on to
    the next credential after a retryable failure) and the interceptors' header call.

    The request counts as in flight for the manager only here: a stream parked at a ``yield`` for as long as its
    client likes must not hold up a shutdown (the per-chunk calls are not counted, as before).
    """
    request, trace = response.request, response.trace
    stages, counted = pipeline._begin(trace)
    try:
        front: Front | None = None
        tried: set[str] = set()
        while True:
            front, pick, route, ereq = await pipeline._request_side(request, front, trace, tried, stages)
            choice = route.choice
            stage_started = perf_ns()
            try:
                # A native executor's iterator is the source itself; a plugin's pushed chunks come through a queue.
                native = choice.native
                upstream = Upstream()
                source: AsyncIterator[bytes]
                if native is None:
                    source = plugin_chunks(pipeline, choice, ereq, upstream)
                else:
                    produced = native.execute_stream(ereq)
                    source = aiter(produced)
                first: bytes | None = await anext(source)
                if native is not None:
                    upstream.arrived(getattr(produced, "headers", None))
            except StopAsyncIteration:
                first = None
            except PluginKitError as exc:
                trace.add("executor.execute_stream", stage_started, f"{choice.name} failed: {exc.code}", None)
                if not await pipeline._may_retry(exc, pick, request, tried):
                    raise StageError("executor.execute_stream", exc, trace) from None
                continue
            break
        headers, body, metadata = front
        try:
            processor = ChunkProcessor(
                pipeline, request, ereq, route, headers, body, metadata, trace, read_usage, upstream
            )
            response.headers = copy_headers(await processor.header_call())  # the interceptors' params keep theirs
        except BaseException:
            await _close(source)
            raise
        response.credential, response.provider = pick.credential.id, choice.provider
        return pick, choice, source, first, processor, stage_started
    finally:
        if counted:
            pipeline.runtime.end()


async def _close(source: AsyncIterator[bytes]) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()


def plugin_chunks(
    pipeline: Pipeline, choice: ExecutorChoice, ereq: t.ExecutorRequest, upstream: Upstream
) -> AsyncIterator[bytes]:
    """A plugin executor's ``executor.execute_stream``: chunks it pushes (``host.stream.emit``) while the call runs,
    or those it returns inline; closing the iterator cancels the call and releases the stream. The headers it
    returns, or declares with an emit, go to ``upstream``.

    A plain sync executor runs to its end inside the call whatever the host does (its plan runs inline): it is
    called here, before anything is read, and its chunks are replayed from the buffer — no task, no event, no
    turn of the event loop per stream (~15 us a stream saved, ``benchmarks``, ``plugins``). Others run as a task whose
    chunks are read as they are pushed.
    """
    manager = pipeline.manager
    stream = manager.host.open_stream()
    ereq.stream_id = stream.id
    plan = _inline_plan(pipeline, choice.plugin)
    if plan is None:
        return _pushed(pipeline, choice, ereq, upstream, stream)
    call = asyncio.get_running_loop().create_future()
    try:  # the request counts in flight already (Pipeline._begin), and ereq is the pipeline's own: no copy
        call.set_result(plan.runner(plan, ereq, pipeline.runtime, None))
    except PluginKitError as exc:
        call.set_exception(exc)
    _finished(stream, upstream, call)
    payloads, error = [], None
    for payload, err in stream.take():
        if err:
            error = _stream_error(err, call)
            break
        payloads.append(payload)
    if stream.headers is not None:
        upstream.arrived(stream.headers)
    manager.host.release_stream(stream)
    return Replay(payloads, error)


class Replay:
    """The chunks of an executor that has finished, replayed from its buffer (then its error, if it failed).
    Iterated with ``async for`` like any source; the pass-through loop takes :attr:`rest` as a plain iterator."""

    __slots__ = ("error", "rest")

    def __init__(self, payloads: list[bytes], error: PluginKitError | None) -> None:
        self.rest = iter(payloads)
        self.error = error

    def __aiter__(self) -> Replay:
        return self

    async def __anext__(self) -> bytes:
        for payload in self.rest:
            return payload
        self.end()
        raise StopAsyncIteration

    def end(self) -> None:
        """The buffer is spent: raise the executor's error, if it failed."""
        error, self.error = self.error, None
        if error is not None:
            raise error


def _finished(stream: ExecutorStream, upstream: Upstream, call: asyncio.Future[t.ExecutorStreamResult]) -> None:
    """The executor's call is over: end the stream with its error, or with the chunks it returned inline."""
    if call.cancelled():
        stream.cancel()
        return
    error = call.exception()
    if error is not None:
        code = getattr(error, "code", "plugin_error")
        stream.close(f"{code}:{getattr(error, 'message', str(error))}")
        return
    result = call.result()
    if stream.headers is None:  # headers declared with an emit came first and stand
        upstream.arrived(result.headers)  # before inline chunks: the header call sees them, as in the seed host
    for chunk in result.chunks:  # inline chunks are the whole stream
        try:
            stream.emit(chunk.payload, chunk.err)
        except PluginKitError:
            break
    stream.close()


def _stream_error(err: str, call: asyncio.Future[t.ExecutorStreamResult]) -> PluginKitError:
    """The error a stream ended with: the call's own (with its ``retryable``, ``http_status`` …) when it raised,
    else the ``code:message`` the executor closed the stream with."""
    if call.done() and not call.cancelled() and call.exception() is not None:
        error = call.exception()
        return error if isinstance(error, PluginKitError) else PluginKitError("plugin_error", err)
    code, _, message = err.partition(":")
    return PluginKitError("upstream_error" if not message else code, message or err)


async def _pushed(
    pipeline: Pipeline, choice: ExecutorChoice, ereq: t.ExecutorRequest, upstream: Upstream, stream: ExecutorStream
) -> AsyncGenerator[bytes, None]:
    """The chunks of an executor running as a task, as it pushes them."""
    manager = pipeline.manager
    call = asyncio.ensure_future(manager.acall_plugin(choice.plugin, "executor.execute_stream", ereq))
    call.add_done_callback(lambda task: _finished(stream, upstream, task))
    declared: t.Headers | None = None
    try:
        async for piece in stream:
            if stream.headers is not declared:
                declared = stream.headers
                upstream.arrived(declared)
            if piece.err:
                if not call.done():  # a plugin that closed with an error may be about to raise the real one
                    await asyncio.wait({call}, timeout=1.0)
                raise _stream_error(piece.err, call)
            yield piece.payload
    finally:
        if not call.done():
            call.cancel()
        stream.cancel()
        manager.host.release_stream(stream)


def _inline_plan(pipeline: Pipeline, plugin_id: str) -> Plan | None:
    """``plugin_id``'s ``executor.execute_stream`` plan when it runs inline (a plain sync hookimpl, not isolated)."""
    try:
        plan = pipeline.runtime.plan("executor.execute_stream", plugin_id)
    except PluginKitError:
        return None  # not callable: the task path raises the error as acall_plugin does
    return plan if plan.inline else None
