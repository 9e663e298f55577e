"""What the request pipeline costs on top of the plugins it runs: per request, per stream chunk, under load.

Four tables, each against what a host would write without pluginkit:

* every stage, non-streamed: a no-op synchronous plugin on each of the 12 stages of a whole request, answering
  prebuilt results.  ``await pipeline.execute(request)`` is compared with calling the same hookimpls through a bare
  pluggy manager, hook by hook, building the params objects the pipeline builds (the baseline), and with calling
  the 12 functions directly (the floor).  Target: the pipeline costs at most half of raw pluggy.
* per stream chunk, no interceptor: a native async executor yielding prebuilt chunks in the client's format (no
  translation, no response plugin), against a plain async generator passing the chunks through.  Target: 2x.
  A chunk's cost is the marginal one (long stream minus one-chunk stream, per extra chunk, see :func:`marginal`).
* per stream chunk, one interceptor: what one synchronous ``response.intercept_stream_chunk`` plugin adds per chunk
  (per-chunk time with it minus per-chunk time without it), against one raw pluggy call of the same hookimpl.
  Target: half of the pluggy call.
* 1000 concurrent streams: 20 chunks each from an async executor sleeping 1 ms between chunks (simulated network),
  all consumed at once with ``asyncio.gather``; the pipeline's share of the wall time, against the same executors
  consumed directly.  Target: under 20 %.  Peak memory per open stream is reported (tracemalloc, no target).

The product's "per stream chunk" table is printed as two tables (a harness table has one baseline): the plain
generator is the baseline of the no-interceptor row, the raw pluggy call that of the interceptor's added cost.

Rows of a table are timed interleaved, round by round (:func:`benchmarks._harness.compare`); async rows are
batches of awaits inside one run of the event loop (:func:`async_sampler`), so ``Runner.run`` is paid once per
sample, not per call.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import statistics
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pluggy

import pluginkit.abi._hookspecs
from benchmarks._harness import Case, Sampler, Table, Timing, compare, sync_sampler
from pluginkit import PluginManager, PluginState, abi, hookimpl
from pluginkit import types as t
from pluginkit.pipeline import Pipeline, Request
from pluginkit.scheduling import Credential
from pluginkit.scheduling._credentials import candidates_for

# --------------------------------------------------------------------------------------------------------------
# Shared: async timing, derived timings, tables with notes
# --------------------------------------------------------------------------------------------------------------


async def _arun(fn: Callable[[], Awaitable[object]], loops: int) -> int:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in itertools.repeat(None, loops):
            await fn()
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def timing_of(samples: list[float], loops: int = 1) -> Timing:
    """A :class:`Timing` from per-call samples, summarised as the harness does (median, interpolated p95)."""
    ordered = sorted(samples)
    p95 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=20, method="inclusive")[18]
    return Timing(statistics.median(ordered), p95, loops, tuple(ordered))


@dataclass
class NotedTable(Table):
    """A harness table followed by free-text lines: derived numbers and measurements that are not times."""

    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join([super().render(), *(f"  {note}" for note in self.notes)])


def _ns(value: float) -> str:
    """A duration for the notes: ns below 10 us, then us, then ms (ASCII ``us``, as the harness prints)."""
    if abs(value) < 1e4:
        return f"{value:.0f} ns"
    return f"{value / 1e3:.1f} us" if abs(value) < 1e6 else f"{value / 1e6:.1f} ms"


def raw_pluggy(*plugins: tuple[str, object]) -> pluggy.PluginManager:
    """The same hookspecs and plugin objects in a bare pluggy manager: exactly what pluginkit builds on."""
    pm = pluggy.PluginManager("pluginkit")
    pm.add_hookspecs(pluginkit.abi._hookspecs.hookspecs())
    for name, plugin in plugins:
        pm.register(plugin, name)
    return pm


def pipeline_with(stack: ExitStack, *plugins: tuple[str, object]) -> Pipeline:
    """A pipeline over a manager holding exactly ``plugins`` (no entry points, no ``PLUGINKIT_*`` from the shell),
    one credential ``auth-1`` for provider ``local``, which serves every model."""
    manager = PluginManager(entry_points=False, environ={})
    stack.callback(manager.shutdown)
    for plugin_id, plugin in plugins:
        info = manager.register(plugin, plugin_id)
        if info.state is not PluginState.ACTIVE:
            raise AssertionError(f"plugin {plugin_id!r} is {info.state.value}: {info.reason}")
    manager.load()
    return Pipeline(manager, credentials=[Credential("auth-1", "local")], routes={"*": ["local"]})


def check(condition: bool, message: str) -> None:
    """A correctness check before timing (not ``assert``: ``python -O`` must not skip it)."""
    if not condition:
        raise AssertionError(message)


# --------------------------------------------------------------------------------------------------------------
# 1. a whole request through every stage
# --------------------------------------------------------------------------------------------------------------

EXECUTE_BASELINE = "raw pluggy, hook by hook"
EXECUTE_TARGET = 0.5  # the whole pipeline may cost at most half of calling its hooks through pluggy
REQUESTS_PER_BATCH = 100  # requests between two drains of the usage queue (it holds 1024)

#: The stages of a whole request, in the ABI's order (abi.Stage): at each request-pipeline stage, the first method
#: the table defines there (tests/abi/test_abi.py holds this to the seed's order).
STAGES = tuple(
    next(m.name for m in abi.METHODS.values() if m.stage is stage) for stage in sorted(abi.Stage)
    if stage.in_request_pipeline
)
#: The order a request's trace shows them in here: with a plugin translator (no native one) the seed host
#: normalises the client-format body before translating it (sdk/translator/registry.go).
PLUGIN_TRANSLATOR_ORDER = tuple(
    {"request.translate": "request.normalize", "request.normalize": "request.translate"}.get(s, s) for s in STAGES
)

# Prebuilt answers: the hookimpls do no work, so the rows show the framework.  Every body differs, so a stage
# whose answer was lost shows in the checks.
AUTHENTICATED = t.FrontendAuthResult(authenticated=True, principal="bench")
INTERCEPTED_BEFORE = t.InterceptResult(body=b"intercepted-before")
NOT_HANDLED = t.SchedulerPickResult(handled=False)
TRANSLATED = t.BodyResult(body=b"claude-body")
NORMALIZED = t.BodyResult(body=b"normalized")
THOUGHT = t.BodyResult(body=b"thinking-applied")
EXECUTED = t.ExecutorResponse(payload=b"executed")
NORMALIZED_BEFORE = t.BodyResult(body=b"normalized-before")
TRANSLATED_BACK = t.BodyResult(body=b"openai-body")
NORMALIZED_AFTER = t.BodyResult(body=b"normalized-after")
INTERCEPTED_AFTER = t.InterceptResult(body=b"intercepted-after")
USED = t.Empty()
EXECUTOR_REGISTRATION = t.Registration(
    metadata=t.PluginMetadata(name="bench-executor", version="1"),
    capabilities=t.Capabilities(executor=True, executor_input_formats=["claude"], executor_output_formats=["claude"]),
)
LOCAL = t.Identifier(identifier="local")


class Authenticate:
    @hookimpl
    def frontend_auth_authenticate(self, params: t.FrontendAuthRequest) -> t.FrontendAuthResult:
        return AUTHENTICATED


class InterceptBefore:
    @hookimpl
    def request_intercept_before(self, params: t.RequestInterceptRequest) -> t.InterceptResult:
        return INTERCEPTED_BEFORE


class Schedule:
    @hookimpl
    def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
        return NOT_HANDLED


class Translate:
    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return TRANSLATED


class Normalize:
    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return NORMALIZED


class Think:
    @hookimpl
    def thinking_identifier(self) -> t.Identifier:
        return LOCAL

    @hookimpl
    def thinking_apply(self, params: t.ThinkingApplyRequest) -> t.BodyResult:
        return THOUGHT


class Execute:
    @hookimpl
    def plugin_register(self) -> t.Registration:
        return EXECUTOR_REGISTRATION

    @hookimpl
    def executor_identifier(self) -> t.Identifier:
        return LOCAL

    @hookimpl
    def executor_execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
        return EXECUTED


class NormalizeBefore:
    @hookimpl
    def response_normalize_before(self, params: t.ResponseTranslateRequest) -> t.BodyResult:
        return NORMALIZED_BEFORE


class TranslateBack:
    @hookimpl
    def response_translate(self, params: t.ResponseTranslateRequest) -> t.BodyResult:
        return TRANSLATED_BACK


class NormalizeAfter:
    @hookimpl
    def response_normalize_after(self, params: t.ResponseTranslateRequest) -> t.BodyResult:
        return NORMALIZED_AFTER


class InterceptAfter:
    @hookimpl
    def response_intercept_after(self, params: t.ResponseInterceptRequest) -> t.InterceptResult:
        return INTERCEPTED_AFTER


class Usage:
    @hookimpl
    def usage_handle(self, params: t.UsageRecord) -> t.Empty:
        return USED


def stage_plugins() -> dict[str, Any]:
    """One plugin object per stage, keyed by the plugin ID it is registered under (in stage order)."""
    return {
        "auth": Authenticate(),
        "intercept-before": InterceptBefore(),
        "scheduler": Schedule(),
        "translate": Translate(),
        "normalize": Normalize(),
        "thinking": Think(),
        "executor": Execute(),
        "normalize-before": NormalizeBefore(),
        "translate-back": TranslateBack(),
        "normalize-after": NormalizeAfter(),
        "intercept-after": InterceptAfter(),
        "usage": Usage(),
    }


def whole_request() -> Request:
    return Request(
        format="openai",
        model="m",
        body=b'{"model":"m","messages":[{"role":"user","content":"hi"}]}',
        headers={"Authorization": ["Bearer ok"], "Content-Type": ["application/json"]},
        thinking=t.ThinkingConfig(mode="budget"),
    )


def hand_written(plugins: dict[str, Any]) -> Callable[[], bytes]:
    """The floor: the 12 hookimpl functions called one after another with prebuilt params."""
    request = whole_request()
    auth_f = plugins["auth"].frontend_auth_authenticate
    before_f = plugins["intercept-before"].request_intercept_before
    pick_f = plugins["scheduler"].scheduler_pick
    translate_f = plugins["translate"].request_translate
    normalize_f = plugins["normalize"].request_normalize
    think_f = plugins["thinking"].thinking_apply
    execute_f = plugins["executor"].executor_execute
    nb_f = plugins["normalize-before"].response_normalize_before
    back_f = plugins["translate-back"].response_translate
    na_f = plugins["normalize-after"].response_normalize_after
    after_f = plugins["intercept-after"].response_intercept_after
    usage_f = plugins["usage"].usage_handle
    auth_p = t.FrontendAuthRequest(headers=request.headers, body=request.body)
    before_p = t.RequestInterceptRequest(source_format="openai", model="m", headers=request.headers, body=request.body)
    pick_p = t.SchedulerPickRequest(provider="local", providers=["local"], model="m")
    translate_p = t.RequestTranslateRequest(from_format="openai", to_format="claude", model="m", body=request.body)
    think_p = t.ThinkingApplyRequest(
        provider="local", model=t.ModelInfo(id="m"), config=t.ThinkingConfig(mode="budget")
    )
    execute_p = t.ExecutorRequest(auth_id="auth-1", auth_provider="local", model="m", format="claude")
    response_p = t.ResponseTranslateRequest(from_format="claude", to_format="openai", model="m")
    after_p = t.ResponseInterceptRequest(source_format="openai", model="m", status_code=200)
    usage_p = t.UsageRecord(model="m", source="openai")

    def chain() -> bytes:
        auth_f(auth_p)
        before_f(before_p)
        pick_f(pick_p)
        translate_f(translate_p)
        normalize_f(translate_p)
        think_f(think_p)
        execute_f(execute_p)
        nb_f(response_p)
        back_f(response_p)
        na_f(response_p)
        body: bytes = after_f(after_p).body
        usage_f(usage_p)
        return body

    return chain


def hook_by_hook(pm: pluggy.PluginManager) -> Callable[[], bytes]:
    """The baseline: each stage's params built as the pipeline builds them, then ``pm.hook.<name>(params=...,
    ctx=None)``; each answer's body feeds the next stage."""
    request = whole_request()
    credential = Credential("auth-1", "local")
    thinking = request.thinking
    check(thinking is not None, "the request must carry a thinking config")
    assert thinking is not None  # for the type checker
    hook = pm.hook

    def chain() -> bytes:
        headers, body = {k: list(v) for k, v in request.headers.items()}, request.body
        auth = hook.frontend_auth_authenticate(
            params=t.FrontendAuthRequest(
                method=request.method, path=request.path, headers=headers, query=request.query, body=body
            ),
            ctx=None,
        )[0]
        metadata = {**request.metadata, "principal": auth.principal}
        body = hook.request_intercept_before(
            params=t.RequestInterceptRequest(
                source_format=request.format,
                model=request.model,
                requested_model=request.model,
                stream=request.stream,
                headers=headers,
                body=body,
                metadata=dict(metadata),
            ),
            ctx=None,
        )[0].body
        hook.scheduler_pick(
            params=t.SchedulerPickRequest(
                plugin=EXECUTOR_REGISTRATION.metadata,
                provider="local",
                providers=["local"],
                model=request.model,
                stream=request.stream,
                options=t.SchedulerOptions(headers={k: list(v) for k, v in headers.items()}, metadata=dict(metadata)),
                candidates=candidates_for([credential]),
            ),
            ctx=None,
        )
        body = hook.request_translate(
            params=t.RequestTranslateRequest(
                from_format=request.format, to_format="claude", model=request.model, stream=request.stream, body=body
            ),
            ctx=None,
        ).body
        body = hook.request_normalize(
            params=t.RequestTranslateRequest(
                from_format=request.format, to_format="claude", model=request.model, stream=request.stream, body=body
            ),
            ctx=None,
        )[0].body
        body = hook.thinking_apply(
            params=t.ThinkingApplyRequest(
                provider="local", model=t.ModelInfo(id=request.model), config=thinking, body=body
            ),
            ctx=None,
        ).body
        ereq = t.ExecutorRequest(
            auth_id=credential.id,
            auth_provider=credential.provider,
            model=request.model,
            format="claude",
            stream=request.stream,
            headers=headers,
            query=dict(request.query),
            original_request=request.body,
            source_format="claude",
            payload=body,
            metadata=dict(metadata),
            storage_json=credential.storage_json,
            auth_metadata=dict(credential.metadata),
            auth_attributes=dict(credential.attributes),
        )
        answer = hook.executor_execute(params=ereq, ctx=None)
        params = t.ResponseTranslateRequest(
            from_format="claude",
            to_format=request.format,
            model=request.model,
            stream=False,
            original_request=request.body,
            translated_request=ereq.payload,
            body=answer.payload,
        )
        params.body = hook.response_normalize_before(params=params, ctx=None)[0].body
        params.body = hook.response_translate(
            params=t.ResponseTranslateRequest(
                from_format="claude",
                to_format=request.format,
                model=request.model,
                stream=False,
                original_request=request.body,
                translated_request=ereq.payload,
                body=params.body,
            ),
            ctx=None,
        ).body
        params.body = hook.response_normalize_after(params=params, ctx=None)[0].body
        final: bytes = hook.response_intercept_after(
            params=t.ResponseInterceptRequest(
                source_format=request.format,
                model=request.model,
                requested_model=request.model,
                stream=False,
                request_headers=headers,
                response_headers={k: list(v) for k, v in answer.headers.items()},
                original_request=request.body,
                request_body=body,
                body=params.body,
                status_code=200,
                metadata=dict(metadata),
            ),
            ctx=None,
        )[0].body
        hook.usage_handle(
            params=t.UsageRecord(model=request.model, requested_at=datetime.now(UTC), source=request.format),
            ctx=None,
        )
        return final

    return chain


class CallCounter:
    """A pluggy ``add_hookcall_monitoring`` pair recording which hooks a chain called (for the check only)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def before(self, hook_name: str, hook_impls: object, kwargs: object) -> None:
        self.calls.append(hook_name)

    def after(self, outcome: object, hook_name: str, hook_impls: object, kwargs: object) -> None:
        pass


def execute_table(quick: bool) -> Table:
    table = NotedTable("request through every stage, non-streamed (12 no-op sync plugins)", baseline=EXECUTE_BASELINE)
    with ExitStack() as stack:
        plugins = stage_plugins()
        pipeline = pipeline_with(stack, *plugins.items())
        pm = raw_pluggy(*plugins.items())
        floor = hand_written(plugins)
        baseline = hook_by_hook(pm)
        runner = stack.enter_context(asyncio.Runner())
        request = whole_request()

        async def batch() -> None:
            execute = pipeline.execute
            for _ in range(REQUESTS_PER_BATCH):
                await execute(request)
            await pipeline.usage.drain()  # usage delivery is part of the work; the queue never fills

        # -- correctness, before anything is timed -------------------------------------------------------------
        check(floor() == INTERCEPTED_AFTER.body, "the hand-written chain lost the last stage's answer")
        counter = CallCounter()
        undo = pm.add_hookcall_monitoring(counter.before, counter.after)
        check(baseline() == INTERCEPTED_AFTER.body, "the pluggy chain lost the last stage's answer")
        undo()
        hooks = [abi.get(stage).hook_name for stage in STAGES]
        check(counter.calls == hooks, f"the pluggy chain called {counter.calls}, expected {hooks}")

        async def once() -> Any:
            response = await pipeline.execute(whole_request())
            await pipeline.usage.drain()
            return response

        response = runner.run(once())
        steps = response.trace.steps
        check(response.body == INTERCEPTED_AFTER.body, f"pipeline answered {response.body!r}")
        check([s.stage for s in steps] == list(PLUGIN_TRANSLATOR_ORDER), f"stages ran: {[s.stage for s in steps]}")
        by_stage = dict(zip(STAGES, plugins, strict=True))
        for step, plugin_id in zip(steps, (by_stage[s] for s in PLUGIN_TRANSLATOR_ORDER), strict=True):
            # usage.handle is queued (delivered by the usage worker), so its step names no plugin.
            wanted = () if plugin_id == "usage" else (plugin_id,)
            check(step.plugins == wanted, f"{step.stage} ran {step.plugins}, expected {wanted}")
        check("did not handle the pick" in steps[2].decision, f"scheduler.pick decided {steps[2].decision!r}")
        check(steps[-1].decision == "queued" and pipeline.usage.delivered == 1, "usage record not delivered")
        check(response.credential == "auth-1" and response.provider == "local", "wrong credential or provider")
        runner.run(batch())
        check(pipeline.usage.delivered == 1 + REQUESTS_PER_BATCH and pipeline.usage.dropped == 0, "usage lost")

        compare(table, [
            Case("hand-written chain", sync_sampler(floor)),
            Case(EXECUTE_BASELINE, sync_sampler(baseline)),
            Case("pluginkit pipeline.execute (overhead)", async_sampler(runner, batch), target=EXECUTE_TARGET,
                 per=REQUESTS_PER_BATCH),
        ], quick=quick)
        check(pipeline.usage.dropped == 0, f"{pipeline.usage.dropped} usage records dropped while timing")
        runner.run(pipeline.aclose())
        table.notes.append(
            f"pipeline.execute timed as batches of {REQUESTS_PER_BATCH} awaits in one running loop, usage queue "
            "drained (records delivered) in every batch"
        )
    return table


# --------------------------------------------------------------------------------------------------------------
# 2. per stream chunk
# --------------------------------------------------------------------------------------------------------------

CHUNK = b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok"}}]}\n\n'
CHUNKS_KEY = "bench_chunks"  # request metadata (copied into ExecutorRequest.metadata): how many chunks to stream
PLAIN = "plain async generator passing chunks through"
NO_INTERCEPTOR = "pipeline, no interceptor"
CHUNK_TARGET = 2.0  # a chunk through the pipeline may cost at most twice a pass-through generator
RAW_CHUNK_CALL = "raw pluggy hook call (response_intercept_stream_chunk)"
INTERCEPTOR_TARGET = 0.5  # an interceptor may add at most half of a bare pluggy call of it per chunk
INTERCEPTED_CHUNK = t.StreamChunkInterceptResult(body=b'data: {"intercepted":true}\n\n')
STREAM_RESPONSE = t.ExecutorResponse(payload=b"{}")


class ChunkExecutor:
    """A native executor speaking the client's format: prebuilt chunks, ``delay`` seconds apart.

    It streams ``metadata[CHUNKS_KEY]`` chunks when the request says so, else ``chunks``.
    """

    def __init__(self, chunks: int, delay: float = 0.0) -> None:
        self.chunks = chunks
        self.delay = delay

    async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse:
        return STREAM_RESPONSE

    async def execute_stream(self, request: t.ExecutorRequest) -> AsyncIterator[bytes]:
        count: int = request.metadata.get(CHUNKS_KEY, self.chunks)
        if self.delay:
            for _ in range(count):
                yield CHUNK
                await asyncio.sleep(self.delay)
        else:
            for _ in range(count):
                yield CHUNK


class InterceptChunk:
    @hookimpl
    def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
        return INTERCEPTED_CHUNK


def stream_request(chunks: int | None = None) -> Request:
    metadata: dict[str, Any] = {} if chunks is None else {CHUNKS_KEY: chunks}
    return Request(format="openai", model="m", body=b'{"model":"m","stream":true}', stream=True, metadata=metadata)


def streaming_pipeline(stack: ExitStack, executor: ChunkExecutor, *plugins: tuple[str, object]) -> Pipeline:
    pipeline = pipeline_with(stack, *plugins)
    pipeline.add_executor("local", executor, input_formats=["openai"], output_formats=["openai"])
    return pipeline


async def passthrough(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in source:
        yield chunk


def executor_request(chunks: int | None = None) -> t.ExecutorRequest:
    metadata: dict[str, Any] = {} if chunks is None else {CHUNKS_KEY: chunks}
    return t.ExecutorRequest(
        auth_id="auth-1", auth_provider="local", model="m", format="openai", stream=True, metadata=metadata
    )


async def count_chunks(chunks: AsyncIterator[bytes], expected: bytes) -> int:
    """Consume a stream; every chunk must be ``expected``."""
    count = 0
    async for chunk in chunks:
        if chunk != expected:
            raise AssertionError(f"chunk {count} is {chunk!r}, expected {expected!r}")
        count += 1
    return count


def chunk_tables(quick: bool) -> list[Table]:
    chunks = 200 if quick else 2000
    executor = ChunkExecutor(chunks)
    ereqs = {n: executor_request(n) for n in (1, chunks)}
    requests = {n: stream_request(n) for n in (1, chunks)}
    generator = NotedTable(f"per stream chunk, no interceptor ({chunks}-chunk streams)", baseline=PLAIN)
    intercepted = NotedTable(
        f"per stream chunk, one sync interceptor ({chunks}-chunk streams)", baseline=RAW_CHUNK_CALL
    )
    with ExitStack() as stack:
        bare = streaming_pipeline(stack, executor)
        intercepting = streaming_pipeline(stack, executor, ("intercept", InterceptChunk()))
        pm = raw_pluggy(("intercept", InterceptChunk()))
        runner = stack.enter_context(asyncio.Runner())

        async def plain(n: int) -> None:
            async for _ in passthrough(executor.execute_stream(ereqs[n])):
                pass

        async def through_pipeline(n: int) -> None:
            async for _ in bare.stream(requests[n]):
                pass

        async def through_interceptor(n: int) -> None:
            async for _ in intercepting.stream(requests[n]):
                pass

        # The interceptor's params as the pipeline fills them for a chunk well into a stream (full history).
        body = requests[chunks].body
        params = t.StreamChunkInterceptRequest(
            source_format="openai",
            model="m",
            requested_model="m",
            request_headers={},
            response_headers={"Content-Type": ["text/event-stream"]},
            original_request=body,
            request_body=body,
            body=CHUNK,
            history_chunks=[INTERCEPTED_CHUNK.body] * 64,
            chunk_index=100,
            metadata={CHUNKS_KEY: chunks},
        )
        hook = pm.hook.response_intercept_stream_chunk

        def pluggy_call() -> object:
            return hook(params=params, ctx=None)

        # -- correctness ---------------------------------------------------------------------------------------
        for n in (1, chunks):
            got = runner.run(count_chunks(passthrough(executor.execute_stream(ereqs[n])), CHUNK))
            check(got == n, f"the plain generator delivered {got} chunks, expected {n}")
            got = runner.run(count_chunks(aiter(bare.stream(requests[n])), CHUNK))
            check(got == n, f"the pipeline delivered {got} chunks, expected {n}")
            stream = intercepting.stream(requests[n])
            got = runner.run(count_chunks(aiter(stream), INTERCEPTED_CHUNK.body))
            check(got == n, f"the intercepting pipeline delivered {got} chunks, expected {n}")
            stages = [s.stage for s in stream.trace.steps]
            check(stages[-2:] == ["executor.execute_stream", "response.intercept_stream_chunk"], f"stages: {stages}")
        check(pluggy_call() == [INTERCEPTED_CHUNK], "raw pluggy did not answer the interceptor's result")

        per = chunks - 1
        plain_cost = marginal(runner, plain, chunks)
        without_cost = marginal(runner, through_pipeline, chunks)
        with_cost = marginal(runner, through_interceptor, chunks)
        compare(generator, [
            Case(PLAIN, plain_cost, per=per),
            Case(NO_INTERCEPTOR, without_cost, target=CHUNK_TARGET, per=per),
        ], quick=quick)
        compare(intercepted, [
            Case(RAW_CHUNK_CALL, sync_sampler(pluggy_call)),
            Case("pipeline, one sync interceptor (absolute, per chunk)", with_cost, per=per),
            Case("interceptor's added cost per chunk (with - without)",
                 lambda loops: with_cost(loops) - without_cost(loops), target=INTERCEPTOR_TARGET, per=per),
        ], quick=quick)

    generator.notes.append(
        f"per chunk = marginal cost: (one {chunks}-chunk stream - one 1-chunk stream) / {per}, so the stream's "
        "set-up (scheduler, executor choice, usage record, header call) is not counted"
    )
    intercepted.notes.append(
        "added cost = (stream with the interceptor - the same stream without it), per chunk, round by round"
    )
    return [generator, intercepted]


def async_sampler(runner: asyncio.Runner, fn: Callable[[], Awaitable[object]]) -> Sampler:
    """A sampler awaiting ``fn()`` ``loops`` times in one run of the event loop."""
    return lambda loops: runner.run(_arun(fn, loops))


def marginal(runner: asyncio.Runner, consume: Callable[[int], Awaitable[object]], chunks: int) -> Sampler:
    """A sampler of what the chunks after the first cost: ``loops`` streams of ``chunks`` minus ``loops``
    one-chunk streams (divide by ``chunks - 1`` for one chunk): the marginal cost, without a stream's set-up."""
    long = async_sampler(runner, lambda: consume(chunks))
    one = async_sampler(runner, lambda: consume(1))
    return lambda loops: long(loops) - one(loops)


# --------------------------------------------------------------------------------------------------------------
# 3. many concurrent streams
# --------------------------------------------------------------------------------------------------------------

CONCURRENT_CHUNKS = 20
NETWORK_DELAY = 0.001  # seconds between two chunks of one stream
PIPELINE_WALL = "pipeline: concurrent pipeline.stream consumers (wall)"
SHARE_TARGET = 0.2  # the pipeline may take at most a fifth of the wall time


def concurrent_table(quick: bool) -> Table:
    streams = 100 if quick else 1000
    executor = ChunkExecutor(CONCURRENT_CHUNKS, delay=NETWORK_DELAY)
    table = NotedTable(
        f"{streams} concurrent streamed requests through an async executor "
        f"({CONCURRENT_CHUNKS} chunks, {NETWORK_DELAY * 1000:g} ms apart)",
        baseline=PIPELINE_WALL,
    )
    with ExitStack() as stack:
        pipeline = streaming_pipeline(stack, executor)
        runner = stack.enter_context(asyncio.Runner())
        requests = [stream_request() for _ in range(streams)]  # the host's work, done before timing
        ereqs = [executor_request() for _ in range(streams)]

        async def consume(chunks: AsyncIterator[bytes]) -> int:
            count = 0
            async for _ in chunks:
                count += 1
            return count

        async def through_pipeline() -> list[int]:
            return await asyncio.gather(*(consume(aiter(pipeline.stream(r))) for r in requests))

        async def direct() -> list[int]:
            return await asyncio.gather(*(consume(executor.execute_stream(e)) for e in ereqs))

        for name, run in (("pipeline", through_pipeline), ("direct", direct)):
            counts = runner.run(run())
            check(counts == [CONCURRENT_CHUNKS] * streams, f"{name}: chunk counts {sorted(set(counts))}")

        wall, floor, share = runner.run(paired(through_pipeline, direct, quick))
        memory = {
            name: runner.run(peak_bytes(run)) / streams
            for name, run in (("pipeline", through_pipeline), ("direct", direct))
        }

    table.add(PIPELINE_WALL, wall)
    table.add("floor: the executors' generators consumed directly (wall)", floor)
    table.add("pipeline's share of the wall time (pipeline - floor)", share, target=SHARE_TARGET)
    table.notes.append(
        f"pipeline's share = median over {len(share.samples)} back-to-back pairs of (pipeline - floor) = "
        f"{_ns(share.median)}, / pipeline wall {_ns(wall.median)} = {share.median / wall.median:.1%} "
        f"(target < {SHARE_TARGET:.0%})"
    )
    table.notes.append(
        f"peak memory per open stream (tracemalloc peak during the run / {streams}): "
        f"pipeline {memory['pipeline'] / 1024:.1f} KiB, executor generators alone {memory['direct'] / 1024:.1f} KiB"
    )
    return table


async def paired(
    first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], quick: bool
) -> tuple[Timing, Timing, Timing]:
    """Wall times of ``first()`` and ``second()`` run alternately, and of their per-pair differences.

    Each run is long (tens of ms), so one run is one sample (no calibration); pairing the runs makes the
    difference robust to the machine getting slower or faster during the table (other processes, CPU clock).
    """
    repeat = 5 if quick else 11
    await first()  # warm-up
    await second()
    firsts, seconds = [], []
    for _ in range(repeat):
        firsts.append(float(await _arun(first, 1)))
        seconds.append(float(await _arun(second, 1)))
    differences = [a - b for a, b in zip(firsts, seconds, strict=True)]
    return timing_of(firsts), timing_of(seconds), timing_of(differences)


async def peak_bytes(run: Callable[[], Awaitable[object]]) -> int:
    """Peak traced memory above the starting point while ``run()`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


def run(quick: bool) -> list[Table]:
    return [execute_table(quick), *chunk_tables(quick), concurrent_table(quick)]
