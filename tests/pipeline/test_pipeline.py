"""The request pipeline: stage order, streams, cancellation, failures, usage and the trace."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import PluginError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.pipeline import HISTORY_CHUNKS, Pipeline, Request, Response, StageError
from pluginkit.scheduling import Credential
from tests.helpers import whole_request_stages

#: The order every stage runs in: the ABI's (see tests.helpers.whole_request_stages).
STAGES = whole_request_stages()


class Executor:
    """A plugin executor for provider ``local`` reading and writing ``claude``; streams by emitting."""

    def __init__(self, chunks: int = 5, fail: PluginError | None = None, hang: bool = False) -> None:
        self.chunks, self.fail, self.hang = chunks, fail, hang
        self.cancelled = asyncio.Event()
        self.seen: list[t.ExecutorRequest] = []

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(
            metadata=t.PluginMetadata(name="exec", version="1"),
            capabilities=t.Capabilities(
                executor=True, executor_input_formats=["anthropic"], executor_output_formats=["claude"]
            ),
        )

    @hookimpl
    def executor_identifier(self) -> t.Identifier:
        return t.Identifier(identifier="local")

    @hookimpl
    def executor_execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
        self.seen.append(params)
        if self.fail:
            raise self.fail
        return t.ExecutorResponse(payload=b"<" + params.payload + b">", headers={"X-Up": ["1"]})

    @hookimpl
    async def executor_execute_stream(self, params: t.ExecutorRequest, ctx: Any) -> t.ExecutorStreamResult:
        self.seen.append(params)
        if self.fail:
            raise self.fail
        try:
            for index in range(self.chunks):
                ctx.emit(params.stream_id, f"c{index};".encode())
                if self.hang:
                    await asyncio.sleep(0.01)
            while self.hang:
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        ctx.close_stream(params.stream_id)
        return t.ExecutorStreamResult()


class EveryStage:
    """One plugin on every other stage, each leaving a visible mark."""

    def __init__(self) -> None:
        self.usage: list[t.UsageRecord] = []
        self.chunk_calls: list[int] = []

    @hookimpl
    def frontend_auth_authenticate(self, params: t.FrontendAuthRequest) -> t.FrontendAuthResult:
        token = params.headers.get("Authorization", [""])[0]
        return t.FrontendAuthResult(authenticated=token == "Bearer ok", principal="alice")

    @hookimpl
    def request_intercept_before(self, params: t.RequestInterceptRequest) -> t.InterceptResult:
        return t.InterceptResult(body=params.body + b"+ib", headers={"X-Seen": ["1"]}, clear_headers=["Authorization"])

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        if (params.from_format, params.to_format) != ("openai", "claude"):
            return t.BodyResult()
        return t.BodyResult(body=b"claude(" + params.body + b")")

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=params.body + b"+n")

    @hookimpl
    def thinking_identifier(self) -> t.Identifier:
        return t.Identifier(identifier="local")

    @hookimpl
    def thinking_apply(self, params: t.ThinkingApplyRequest) -> t.BodyResult:
        return t.BodyResult(body=params.body + f"+think:{params.config.mode}".encode())

    @hookimpl
    def response_normalize_before(self, params: t.ResponseTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=params.body + b"+nb")

    @hookimpl
    def response_translate(self, params: t.ResponseTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=b"openai(" + params.body + b")")

    @hookimpl
    def response_normalize_after(self, params: t.ResponseTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=params.body + b"+na")

    @hookimpl
    def response_intercept_after(self, params: t.ResponseInterceptRequest) -> t.InterceptResult:
        return t.InterceptResult(body=params.body + b"+ia", headers={"X-Done": ["1"]})

    @hookimpl
    def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
        self.chunk_calls.append(params.chunk_index)
        if params.chunk_index == -1:
            assert params.body == b""
            return t.StreamChunkInterceptResult(headers={"X-Stream": ["yes"]})
        if params.chunk_index == 1:
            return t.StreamChunkInterceptResult(drop_chunk=True)
        return t.StreamChunkInterceptResult(body=params.body.upper())

    @hookimpl
    def usage_handle(self, params: t.UsageRecord) -> None:
        self.usage.append(params)


def build(*plugins: tuple[str, object], credentials: int = 2, **kwargs: Any) -> Pipeline:
    manager = PluginManager(kwargs.pop("config", None), entry_points=False, environ={})
    for plugin_id, plugin in plugins:
        info = manager.register(plugin, plugin_id)
        assert info.state is PluginState.ACTIVE, info.reason
    creds = [Credential(f"auth-{i}", "local") for i in range(1, credentials + 1)]
    return Pipeline(manager, credentials=creds, routes={"*": ["local"]}, **kwargs)


def request(**kwargs: Any) -> Request:
    defaults: dict[str, Any] = {
        "format": "openai",
        "model": "m",
        "body": b"hi",
        "headers": {"Authorization": ["Bearer ok"]},
    }
    return Request(**{**defaults, **kwargs})


def test_every_stage_runs_in_the_abi_order() -> None:
    every, executor = EveryStage(), Executor()
    pipeline = build(("every", every), ("exec", executor))

    async def run() -> Any:
        response = await pipeline.execute(request(thinking=t.ThinkingConfig(mode="budget", budget=100)))
        await pipeline.usage.drain()
        return response

    response = asyncio.run(run())
    # Seed behaviour (CLIProxyAPI sdk/translator/registry.go, TranslateRequest): with a plugin translator and no
    # native one, request.normalize sees the client-format body before request.translate does.
    assert response.body == b"openai(<claude(hi+ib+n)+think:budget>+nb)+na+ia"
    assert response.headers == {"X-Up": ["1"], "X-Done": ["1"]}
    swapped = {"request.translate": "request.normalize", "request.normalize": "request.translate"}
    assert [step.stage for step in response.trace.steps] == [swapped.get(s, s) for s in STAGES]
    sent = executor.seen[0]
    assert sent.source_format == "claude" and sent.format == "claude" and sent.original_request == b"hi"
    assert sent.headers == {"X-Seen": ["1"]}  # Authorization cleared by the interceptor before the executor
    assert every.usage and every.usage[0].auth_id == "auth-1" and every.usage[0].latency_ns > 0
    assert "principal 'alice'" in response.trace.steps[0].decision


def test_unauthenticated_requests_stop_at_the_first_stage() -> None:
    pipeline = build(("every", EveryStage()), ("exec", Executor()))
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request(headers={})))
    assert caught.value.stage == "frontend_auth.authenticate" and caught.value.code == "unauthenticated"
    assert caught.value.http_status == 401


def test_stream_header_call_indexes_and_drop() -> None:
    every = EveryStage()
    pipeline = build(("every", every), ("exec", Executor(chunks=4)))

    async def run() -> tuple[list[bytes], Any]:
        stream = pipeline.stream(request(stream=True))
        return [chunk async for chunk in stream], stream

    chunks, stream = asyncio.run(run())
    # translated per chunk, normalised before and after, chunk 1 dropped, the rest upper-cased
    assert chunks == [b"OPENAI(C0;+NB)+NA", b"OPENAI(C2;+NB)+NA", b"OPENAI(C3;+NB)+NA"]
    assert every.chunk_calls == [-1, 0, 1, 2, 3]
    assert stream.headers["X-Stream"] == ["yes"]
    assert "executor.execute_stream" in [s.stage for s in stream.trace.steps]


def test_a_thousand_emitted_chunks_in_one_call_do_not_deadlock() -> None:
    pipeline = build(("exec", Executor(chunks=1000)))
    pipeline.add_translator(
        "openai", "claude", request=lambda body, model, stream: body, response=lambda body, model, stream: body
    )
    chunks = list(pipeline.stream_sync(request(stream=True)))
    assert len(chunks) == 1000 and chunks[-1] == b"c999;"


def test_history_is_bounded() -> None:
    class Recorder:
        lengths: list[int] = []

        @hookimpl
        def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> None:
            self.lengths.append(len(params.history_chunks))

    recorder = Recorder()
    pipeline = build(("rec", recorder), ("exec", Executor(chunks=100)))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert len(list(pipeline.stream_sync(request(stream=True)))) == 100
    assert max(recorder.lengths) == HISTORY_CHUNKS and recorder.lengths[:3] == [0, 0, 1]


def test_client_cancel_stops_the_executor_and_releases_the_stream() -> None:
    executor = Executor(chunks=10_000, hang=True)
    pipeline = build(("exec", executor))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)

    async def run() -> int:
        stream = pipeline.stream(request(stream=True))
        received = 0
        async for _ in stream:
            received += 1
            if received == 3:
                break
        await stream.aclose()
        await asyncio.wait_for(executor.cancelled.wait(), 2)
        return received

    assert asyncio.run(run()) == 3
    assert pipeline.manager.host.streams == {}


def test_native_executor_and_translators_win() -> None:
    class Native:
        async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse:
            return t.ExecutorResponse(payload=b"native:" + request.payload)

        async def execute_stream(self, request: t.ExecutorRequest) -> Any:
            for word in (b"a", b"b"):
                yield word

    every = EveryStage()
    pipeline = build(("every", every), ("exec", Executor()))
    pipeline.add_executor("local", Native(), input_formats=["openai"], output_formats=["openai"])
    response = asyncio.run(pipeline.execute(request()))
    assert response.body == b"native:hi+ib+n+nb+na+ia"  # no translation: the native executor speaks openai
    assert "request.translate" not in [s.stage for s in response.trace.steps]
    assert list(pipeline.stream_sync(request(stream=True))) == [b"A+NB+NA"]  # chunk 1 is dropped by "every"


@pytest.mark.parametrize(
    ("answer", "expected_decision"),
    [
        (t.SchedulerPickResult(handled=False), "did not handle"),
        (t.SchedulerPickResult(auth_id="nope", handled=True), "unknown credential"),
        # seed: normalizeSchedulerResponse (internal/pluginhost/scheduler.go) refuses an unknown auth id whatever the
        # delegate, so the built-in strategy picks, not the delegate
        (t.SchedulerPickResult(auth_id="nope", delegate_builtin="fill-first", handled=True), "unknown credential"),
        (t.SchedulerPickResult(delegate_builtin="random", handled=True), "invalid delegate"),
        (t.SchedulerPickResult(auth_id="auth-2", delegate_builtin="garbage", handled=True), "picked 'auth-2'"),
        (t.SchedulerPickResult(delegate_builtin="fill-first", handled=True), "fill-first delegate"),
    ],
)
def test_scheduler_fallback_table(answer: t.SchedulerPickResult, expected_decision: str) -> None:
    class Sched:
        @hookimpl
        def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
            assert [c.id for c in params.candidates] == ["auth-1", "auth-2"]
            return answer

    pipeline = build(("sched", Sched()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    response = asyncio.run(pipeline.execute(request()))
    decision = response.trace.steps[0].decision
    assert expected_decision in decision
    if "picked 'auth-2'" in expected_decision:
        assert response.credential == "auth-2"


def test_scheduler_error_stops_the_pick_and_a_crash_falls_back() -> None:
    class Deny:
        @hookimpl
        def scheduler_pick(self) -> None:
            raise PluginError("scheduler_denied", "no")

    pipeline = build(("deny", Deny()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert (caught.value.stage, caught.value.code) == ("scheduler.pick", "scheduler_denied")

    class Crash:
        @hookimpl
        def scheduler_pick(self) -> None:
            raise KeyError("bug")

    pipeline = build(("crash", Crash()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    response = asyncio.run(pipeline.execute(request()))
    assert "crashed and was fused" in response.trace.steps[0].decision
    assert pipeline.manager.plugin("crash").state is PluginState.FUSED


def test_scheduler_sees_redacted_copies_of_the_top_tier() -> None:
    seen: list[t.SchedulerPickRequest] = []

    class Look:
        @hookimpl
        def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
            seen.append(params)
            params.candidates[0].attributes["region"] = "mutated"
            return t.SchedulerPickResult(handled=False)

    manager = PluginManager(entry_points=False, environ={})
    manager.register(Look(), "look")
    manager.register(Executor(), "exec")
    creds = [
        Credential("b", "local", priority=5, attributes={"region": "eu", "api_key": "sk-secret"}),
        Credential("a", "local", priority=5, attributes={"region": "us"}),
        Credential("low", "local", priority=1),
        Credential("off", "local", priority=9, disabled=True),
        Credential("other", "remote", priority=9),
    ]
    pipeline = Pipeline(manager, credentials=creds, routes={"*": ["local"]}, strategy="fill-first")
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert asyncio.run(pipeline.execute(request())).credential == "a"
    assert [c.id for c in seen[0].candidates] == ["a", "b"]
    assert seen[0].candidates[1].attributes == {"region": "eu"}
    assert creds[1].attributes == {"region": "us"}  # the plugin got copies
    assert seen[0].provider == "local" and seen[0].model == "m"
    seen[0].candidates[1].attributes["region"] = "mars"  # what a plugin does to its copies stays with them
    seen[0].candidates[0].metadata["touched"] = True
    seen[0].candidates.clear()
    assert asyncio.run(pipeline.execute(request())).credential == "a"
    assert [(c.id, c.attributes, c.metadata) for c in seen[1].candidates] == [
        ("a", {"region": "mutated"}, {}),  # the plugin's own change, made to this request's copy
        ("b", {"region": "eu"}, {}),
    ]
    pipeline.scheduler.strategy = "round-robin"  # a new selector: decisions are no longer fill-first's
    picked = [asyncio.run(pipeline.execute(request())).credential for _ in range(2)]
    assert sorted(picked) == ["a", "b"]
    with pytest.raises(PluginKitError, match="strategy must be one of"):
        pipeline.scheduler.strategy = "random"


def test_round_robin_rotates_and_cooldowns_move_on() -> None:
    executor = Executor()
    pipeline = build(("exec", executor), credentials=3)
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)

    async def picks(n: int) -> list[str]:
        return [(await pipeline.execute(request())).credential for _ in range(n)]

    assert asyncio.run(picks(4)) == ["auth-1", "auth-2", "auth-3", "auth-1"]
    executor.fail = PluginError("upstream_error", "slow down", True, http_status=429, retry_after=30)
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert caught.value.code == "upstream_error" and len(executor.seen) == 4 + 3  # moved on twice: max_retries=2
    with pytest.raises(StageError) as cooling:
        asyncio.run(pipeline.execute(request()))
    assert cooling.value.code == "model_cooldown" and cooling.value.retryable and 25 < cooling.value.retry_after <= 30


def test_stage_failures_name_the_stage() -> None:
    class BadTranslate:
        @hookimpl
        def request_translate(self) -> None:
            raise PluginError("invalid_request", "cannot translate tools")

    pipeline = build(("bad", BadTranslate()), ("exec", Executor()), strict_translation=True)
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert caught.value.stage == "request.translate" and "cannot translate tools" in caught.value.message

    class Garbage:
        @hookimpl
        def request_normalize(self) -> int:
            return 7

    pipeline = build(("garbage", Garbage()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert asyncio.run(pipeline.execute(request())).body == b"<hi>"  # chain keeps the payload
    assert pipeline.manager.plugin("garbage").state is PluginState.FUSED


def test_a_hanging_stage_times_out() -> None:
    class Hang:
        @hookimpl
        async def request_translate(self) -> None:
            await asyncio.Event().wait()

    pipeline = build(
        ("hang", Hang()), ("exec", Executor()), config={"pluginkit": {"timeouts": {"request.translate": 0.05}}},
        strict_translation=True,
    )
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert (caught.value.stage, caught.value.code, caught.value.retryable) == ("request.translate", "timeout", True)
    failed = caught.value.trace.steps[-1]  # an async plugin's note reaches the trace too, under its own stage
    assert (failed.stage, failed.plugins, failed.decision) == (
        "request.translate", ("hang (error:timeout)",), "failed: timeout"
    )


def test_usage_queue_never_blocks_and_counts_drops() -> None:
    gate = asyncio.Event()

    class SlowUsage:
        @hookimpl
        async def usage_handle(self) -> None:
            await gate.wait()

    pipeline = build(("slow", SlowUsage()), ("exec", Executor()), usage_queue_size=2)
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)

    async def run() -> None:
        for _ in range(6):
            await asyncio.wait_for(pipeline.execute(request()), 1)
        assert pipeline.usage.dropped >= 3
        gate.set()
        await pipeline.aclose()

    asyncio.run(run())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["openai", "claude", "gemini", ""]),
    model=st.text(max_size=5),
    body=st.binary(max_size=20),
    stream=st.booleans(),
    headers=st.dictionaries(st.text(max_size=5), st.lists(st.text(max_size=5), max_size=2), max_size=3),
)
def test_random_requests_never_crash_the_host(fmt: str, model: str, body: bytes, stream: bool, headers: Any) -> None:
    pipeline = _RANDOM_PIPELINE
    req = Request(format=fmt, model=model, body=body, stream=stream, headers=headers)
    try:
        if stream:
            list(pipeline.stream_sync(req))
        else:
            pipeline.execute_sync(req)
    except StageError as exc:
        assert exc.code and exc.stage


_RANDOM_PIPELINE = build(("every", EveryStage()), ("exec", Executor()))


# -- the fast paths: one interceptor, pass-through, plans changing mid-stream, in-flight counting -------------------


class NativeChunks:
    """A native executor streaming ``chunks`` in the client's format; records whether its iterator was closed."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse:
        return t.ExecutorResponse(payload=b"".join(self.chunks))

    async def execute_stream(self, request: t.ExecutorRequest) -> Any:
        try:
            for chunk in self.chunks:
                yield chunk
        finally:
            self.closed = True


def native_pipeline(chunks: list[bytes], *plugins: tuple[str, object]) -> tuple[Pipeline, NativeChunks]:
    pipeline = build(*plugins)
    native = NativeChunks(chunks)
    pipeline.add_executor("local", native, input_formats=["openai"], output_formats=["openai"])
    return pipeline, native


def stream_all(pipeline: Pipeline, **kwargs: Any) -> tuple[list[bytes], Any]:
    async def run() -> tuple[list[bytes], Any]:
        stream = pipeline.stream(request(stream=True, **kwargs))
        return [chunk async for chunk in stream], stream

    return asyncio.run(run())


class Intercept:
    """One synchronous interceptor: records what it saw, drops ``drop``, upper-cases the rest, vandalises history."""

    def __init__(self, drop: int = -2, fail_at: int = -2) -> None:
        self.drop, self.fail_at = drop, fail_at
        self.seen: list[tuple[int, int, int]] = []  # (index, history chunks, history bytes)

    @hookimpl
    def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
        history = params.history_chunks
        self.seen.append((params.chunk_index, len(history), sum(map(len, history))))
        history.append(b"garbage")  # a fresh list each call: this must not reach the next call
        if params.chunk_index == self.fail_at:
            raise RuntimeError("interceptor bug")
        if params.chunk_index == self.drop:
            return t.StreamChunkInterceptResult(drop_chunk=True)
        return t.StreamChunkInterceptResult(body=params.body.upper())


class AsyncIntercept(Intercept):
    @hookimpl
    async def response_intercept_stream_chunk(  # type: ignore[override]
        self, params: t.StreamChunkInterceptRequest
    ) -> t.StreamChunkInterceptResult:
        return Intercept.response_intercept_stream_chunk(self, params)


def test_one_interceptor_counts_drops_and_bounds_history_by_chunks() -> None:
    interceptor = Intercept(drop=2)
    pipeline, _ = native_pipeline([f"c{i};".encode() for i in range(100)], ("icpt", interceptor))
    chunks, stream = stream_all(pipeline)
    assert chunks == [f"C{i};".encode() for i in range(100) if i != 2]
    assert [i for i, _, _ in interceptor.seen] == list(range(-1, 100))
    lengths = [n for _, n, _ in interceptor.seen]
    assert lengths[:5] == [0, 0, 1, 2, 2] and max(lengths) == HISTORY_CHUNKS  # the dropped chunk is not history
    steps = {s.stage: s for s in stream.trace.steps}
    assert steps["response.intercept_stream_chunk"].decision == "100 chunks, 1 dropped"
    assert steps["executor.execute_stream"].decision == "native local streamed 100 chunks"


def test_history_is_bounded_by_bytes_too() -> None:
    from pluginkit.pipeline import HISTORY_BYTES

    big = 300 * 1024
    interceptor = Intercept()
    pipeline, _ = native_pipeline([bytes([65 + i]) * big for i in range(10)], ("icpt", interceptor))
    chunks, _ = stream_all(pipeline)
    assert len(chunks) == 10
    assert max(b for _, _, b in interceptor.seen) <= HISTORY_BYTES
    assert [n for _, n, _ in interceptor.seen][-1] == HISTORY_BYTES // big


@pytest.mark.parametrize("kind", [Intercept, AsyncIntercept])
def test_an_interceptor_fused_mid_stream_is_not_called_again(kind: type[Intercept]) -> None:
    interceptor = kind(fail_at=3)
    pipeline, _ = native_pipeline([f"c{i};".encode() for i in range(8)], ("icpt", interceptor))
    chunks, stream = stream_all(pipeline)
    # chunk 3 keeps its body (a crash is no answer); from then on nobody intercepts
    assert chunks == [b"C0;", b"C1;", b"C2;", b"c3;", b"c4;", b"c5;", b"c6;", b"c7;"]
    assert [i for i, _, _ in interceptor.seen] == [-1, 0, 1, 2, 3]
    assert pipeline.manager.plugin("icpt").state is PluginState.FUSED
    assert "8 chunks, 0 dropped" in [s.decision for s in stream.trace.steps]


@pytest.mark.parametrize("late", [Intercept, AsyncIntercept])
def test_an_interceptor_registered_mid_stream_joins_it(late: type[Intercept]) -> None:
    first, second = Intercept(), late()
    pipeline, _ = native_pipeline([f"c{i};".encode() for i in range(6)], ("first", first))

    async def run() -> list[bytes]:
        out = []
        async for chunk in pipeline.stream(request(stream=True)):
            out.append(chunk)
            if len(out) == 2:
                pipeline.manager.register(second, "second")
        return out

    assert asyncio.run(run()) == [f"C{i};".encode() for i in range(6)]
    assert [i for i, _, _ in second.seen] == [2, 3, 4, 5]  # every chunk after the registration, in order
    assert [i for i, _, _ in first.seen] == list(range(-1, 6))


def test_pass_through_reads_usage_and_closing_early_closes_the_native_iterator() -> None:
    usage = b'data: {"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\n'
    pipeline, native = native_pipeline([b"data: {}\n\n", usage, b"data: [DONE]\n\n"])
    chunks, stream = stream_all(pipeline)
    assert len(chunks) == 3 and stream.usage.detail.total_tokens == 7 and stream.usage.ttft_ns > 0
    assert "native local streamed 3 chunks" in [s.decision for s in stream.trace.steps]

    pipeline, native = native_pipeline([b"a", b"b", b"c", b"d"])

    async def first_two() -> list[bytes]:
        stream = pipeline.stream(request(stream=True))
        out = []
        async for chunk in stream:
            out.append(chunk)
            if len(out) == 2:
                break
        await stream.aclose()
        return out

    assert asyncio.run(first_two()) == [b"a", b"b"] and native.closed


def test_a_request_counts_in_flight_once_and_is_refused_after_shutdown() -> None:
    seen: list[int] = []

    class Watch:
        manager: PluginManager

        @hookimpl
        def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            seen.append(self.manager.in_flight)
            return t.BodyResult()

    watch = Watch()
    pipeline = build(("watch", watch), ("exec", Executor()))
    watch.manager = pipeline.manager
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert asyncio.run(pipeline.execute(request())).body == b"<hi>"
    assert seen == [1] and pipeline.manager.in_flight == 0
    list(pipeline.stream_sync(request(stream=True)))
    assert pipeline.manager.in_flight == 0
    pipeline.manager.shutdown()
    with pytest.raises(StageError) as refused:
        asyncio.run(pipeline.execute(request()))
    # refused where the first plugin would have been called
    assert refused.value.code == "plugin_unavailable" and refused.value.stage == "request.normalize"


def test_executor_and_exclusive_authenticator_follow_plugin_changes() -> None:
    class Remote(Executor):
        @hookimpl
        def executor_identifier(self) -> t.Identifier:
            return t.Identifier(identifier="remote")

    class Gate:
        def __init__(self, exclusive: bool) -> None:
            self.exclusive, self.calls = exclusive, 0

        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(
                metadata=t.PluginMetadata(name="gate", version="1"),
                capabilities=t.Capabilities(
                    frontend_auth_provider=True, frontend_auth_provider_exclusive=self.exclusive
                ),
            )

        @hookimpl
        def frontend_auth_authenticate(self, params: t.FrontendAuthRequest) -> t.FrontendAuthResult:
            self.calls += 1
            return t.FrontendAuthResult(authenticated=True, principal=f"gate{int(self.exclusive)}")

    pipeline = build(("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert asyncio.run(pipeline.execute(request())).provider == "local"
    with pytest.raises(PluginKitError) as missing:
        pipeline.executor_for("remote")
    assert missing.value.code == "executor_not_found"
    pipeline.manager.register(Remote(), "remote")
    assert pipeline.executor_for("remote").plugin == "remote"

    open_gate, exclusive = Gate(False), Gate(True)
    pipeline.manager.register(open_gate, "a-open", priority=5)
    assert asyncio.run(pipeline.execute(request())).trace.steps[0].plugins == ("a-open",)
    pipeline.manager.register(exclusive, "z-exclusive")
    response = asyncio.run(pipeline.execute(request()))
    assert response.trace.steps[0].plugins == ("z-exclusive",) and "gate1" in response.trace.steps[0].decision
    assert open_gate.calls == 1 and exclusive.calls == 1


def test_translate_gets_fresh_params_after_the_normaliser_changed_its_own() -> None:
    seen: list[tuple[str, str, str]] = []

    class Messy:
        @hookimpl
        def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            params.model, params.from_format, params.to_format = "mangled", "x", "y"
            return t.BodyResult(body=params.body + b"+n")

        @hookimpl
        def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            seen.append((params.model, params.from_format, params.to_format))
            return t.BodyResult(body=b"translated(" + params.body + b")")

    pipeline = build(("messy", Messy()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", response=lambda b, m, s: b)  # the request side stays the plugin's
    response = asyncio.run(pipeline.execute(request()))
    assert seen == [("m", "openai", "claude")]
    assert response.body.startswith(b"<translated(hi+n)>")


def test_with_a_native_translator_the_normalisers_see_its_output() -> None:
    """Seed behaviour (sdk/translator/registry.go, TranslateRequest): a native translator runs first, then the
    normalisers, in the ABI's stage order."""
    every = EveryStage()
    pipeline = build(("every", every), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b"native(" + b + b")")
    response = asyncio.run(pipeline.execute(request()))
    assert response.body.startswith(b"openai(<native(hi+ib)+n>")
    stages = [step.stage for step in response.trace.steps]
    assert stages.index("request.translate") < stages.index("request.normalize")


def test_builders_build_what_the_classes_build() -> None:
    import attrs

    from pluginkit.wire._payload import builder, is_payload

    classes = [getattr(t, name) for name in dir(t) if is_payload(getattr(t, name))]
    assert len(classes) > 40
    for cls in classes:
        build_ = builder(cls)
        first, second = build_(), build_()
        assert first == cls() and type(first) is cls
        for field in attrs.fields(cls):  # factories run per object: nothing shared between two objects
            value = getattr(first, field.name)
            if isinstance(value, list | dict) or attrs.has(type(value)):
                assert value is not getattr(second, field.name), (cls.__name__, field.name)
    record = builder(t.UsageRecord)(model="m", latency_ns=5)
    assert record == t.UsageRecord(model="m", latency_ns=5)


def test_positional_builders_build_what_the_classes_build() -> None:
    """``builder(cls, *names)`` takes those fields positionally; every other field gets its default, fresh."""
    import attrs
    import pytest

    from pluginkit.wire._payload import builder, is_payload

    for cls in [getattr(t, name) for name in dir(t) if is_payload(getattr(t, name))]:
        sample = cls()
        names = [field.name for field in attrs.fields(cls)]
        for chosen in (names, names[::2], names[1::3]):
            build_ = builder(cls, *chosen)
            first = build_(*(getattr(sample, n) for n in chosen))
            assert first == sample and type(first) is cls
            second = build_(*(getattr(sample, n) for n in chosen))
            for name in set(names) - set(chosen):  # defaults made per object
                value = getattr(first, name)
                if isinstance(value, list | dict) or attrs.has(type(value)):
                    assert value is not getattr(second, name), (cls.__name__, name)
    record = builder(t.UsageRecord, "latency_ns", "model")(5, "m")
    assert record == t.UsageRecord(model="m", latency_ns=5)
    assert builder(t.UsageRecord, "model") is builder(t.UsageRecord, "model")  # generated once
    with pytest.raises(ValueError, match="unknown or repeated"):
        builder(t.UsageRecord, "model", "nope")
    with pytest.raises(ValueError, match="unknown or repeated"):
        builder(t.UsageRecord, "model", "model")
    with pytest.raises(ValueError, match=r"required fields not given: headers, body, trace$"):
        builder(Response, "status")


MOSTLY_NOT = st.sampled_from([False, False, False, True])  # most credentials usable: decisions, not errors


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    creds=st.lists(
        st.tuples(st.sampled_from(["local", "LOCAL", "local", "remote"]), st.integers(0, 2), MOSTLY_NOT, MOSTLY_NOT),
        min_size=1,
        max_size=4,
    ),
    strategy=st.sampled_from(["round-robin", "fill-first"]),
    plugin=st.booleans(),
    answers=st.lists(
        st.one_of(
            st.none(),
            st.builds(
                t.SchedulerPickResult,
                auth_id=st.sampled_from(["", "c0", "c2", "nope"]),
                delegate_builtin=st.sampled_from(["", "fill-first", "round-robin", "bad"]),
                handled=st.booleans(),
            ),
        ),
        min_size=4,
        max_size=4,
    ),
    cooling=st.lists(st.integers(0, 3), max_size=1),
    tried=st.frozensets(st.sampled_from(["c0", "c1"]), max_size=1),
)
def test_the_scheduler_fast_path_decides_as_the_general_one(
    creds: list[tuple[str, int, bool, bool]],
    strategy: str,
    plugin: bool,
    answers: list[t.SchedulerPickResult | None],
    cooling: list[int],
    tried: frozenset[str],
) -> None:
    from pluginkit.scheduling import Scheduler
    from pluginkit.scheduling._state import now

    class Sched:
        def __init__(self) -> None:
            self.calls = 0

        @hookimpl
        def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult | None:
            if params.candidates:
                params.candidates[0].attributes["mutated"] = "yes"
            self.calls += 1
            return answers[(self.calls - 1) // 2]  # the general and the fast scheduler ask in turn

    manager = PluginManager(entry_points=False, environ={})
    if plugin:
        manager.register(Sched(), "sched")
    credentials = [
        Credential(f"c{i}", provider, priority=priority, disabled=disabled, attributes={"region": "eu"},
                   models=frozenset({"other"}) if other_model else None)
        for i, (provider, priority, disabled, other_model) in enumerate(creds)
    ]
    general = Scheduler(manager, credentials, strategy=strategy)
    fast = Scheduler(manager, credentials, strategy=strategy)

    async def cool(scheduler: Scheduler) -> None:
        for index in cooling:
            await scheduler.state.cool_down(f"c{index}", "m", now() + 60)

    asyncio.run(cool(general))
    asyncio.run(cool(fast))

    def outcome(run: Any) -> Any:
        try:
            pick = run()
        except PluginKitError as exc:
            return "error", exc.code, exc.message.split(";")[0]
        return pick.credential.id, pick.plugin, pick.decision

    kwargs: dict[str, Any] = {
        "provider": "local", "providers": ["local"], "model": "m", "stream": False, "headers": {"A": ["1"]},
        "metadata": {}, "tried": tried,
    }
    for _ in range(4):  # round-robin cursors advance alike; the plugin's answer changes each time
        slow = outcome(lambda: asyncio.run(general.pick(**kwargs)))
        quick = outcome(lambda: fast.pick_now(**kwargs))
        assert slow == quick
    assert all(c.attributes == {"region": "eu"} for c in credentials)  # the plugin only ever saw copies
    manager.shutdown()


def test_the_scheduler_awaits_when_it_must() -> None:
    from pluginkit.scheduling import MemoryState

    class SlowState(MemoryState):  # a subclass may do I/O in its async methods: never called synchronously
        calls = 0

        async def next_cursor(self, key: str) -> int:
            SlowState.calls += 1
            await asyncio.sleep(0)
            return await super().next_cursor(key)

    class AsyncSched:
        @hookimpl
        async def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
            await asyncio.sleep(0)
            return t.SchedulerPickResult(delegate_builtin="round-robin", handled=True)

    kwargs: dict[str, Any] = {
        "provider": "local", "providers": ["local"], "model": "m", "stream": False, "headers": {}, "metadata": {},
        "tried": frozenset(),
    }
    pipeline = build(("exec", Executor()), state=SlowState())
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert pipeline.scheduler.pick_now(**kwargs) is None
    assert [asyncio.run(pipeline.execute(request())).credential for _ in range(3)] == ["auth-1", "auth-2", "auth-1"]
    assert SlowState.calls == 3

    pipeline = build(("sched", AsyncSched()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    assert pipeline.scheduler.pick_now(**kwargs) is None
    response = asyncio.run(pipeline.execute(request()))
    assert "'sched' delegated; picked 'auth-1' via round-robin delegate" in response.trace.steps[0].decision


def test_one_interceptor_answering_none_or_wire_dicts() -> None:
    class Loose:
        @hookimpl
        def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> Any:
            if params.chunk_index == 1:
                return {"DropChunk": True}  # wire JSON is read as the typed result
            if params.chunk_index == 2:
                return {"Body": "WA=="}  # base64 of b"X"
            if params.chunk_index == 3:
                return 42  # garbage: a plugin bug, fused
            return None  # no change

    pipeline, _ = native_pipeline([b"a", b"b", b"c", b"d", b"e"], ("loose", Loose()))
    chunks, stream = stream_all(pipeline)
    assert chunks == [b"a", b"X", b"d", b"e"]
    assert pipeline.manager.plugin("loose").state is PluginState.FUSED
    assert "5 chunks, 1 dropped" in [s.decision for s in stream.trace.steps]


def test_the_token_counts_are_read_when_asked_for_or_for_a_usage_plugin() -> None:
    """Without a usage plugin the answer's usage is read only when the caller asks for ``response.usage``."""
    body = b'{"id": "x", "usage": {"input_tokens": 3, "output_tokens": 5}}'

    class Counts(Executor):
        @hookimpl
        def executor_execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
            return t.ExecutorResponse(payload=body)

    pipeline = build(("exec", Counts()))
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    response = asyncio.run(pipeline.execute(request()))
    assert response._unread == body  # not read yet
    assert (response.usage.detail.input_tokens, response.usage.detail.output_tokens) == (3, 5)
    assert response._unread == b""
    recorded: list[t.UsageRecord] = []

    class Usage:
        @hookimpl
        def usage_handle(self, params: t.UsageRecord) -> None:
            recorded.append(params)

    pipeline.manager.register(Usage(), "usage")

    async def with_plugin() -> Response:
        answer = await pipeline.execute(request())
        await pipeline.usage.drain()
        return answer

    assert asyncio.run(with_plugin())._unread == b""  # read at once: the plugin gets the counts
    assert recorded[0].detail.output_tokens == 5


def test_a_usage_record_built_when_asked_for_is_the_one_a_usage_plugin_gets() -> None:
    """Without a usage plugin ``response.usage`` is built from what the request noted when it is first read; it
    holds what a usage plugin would have received (every field but the latency, which is each request's own)."""
    from datetime import UTC, datetime

    body = b'{"id": "x", "usage": {"input_tokens": 3, "output_tokens": 5}}'

    class Counts(Executor):
        @hookimpl
        def executor_execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
            return t.ExecutorResponse(payload=body)

    recorded: list[t.UsageRecord] = []

    class Usage:
        @hookimpl
        def usage_handle(self, params: t.UsageRecord) -> None:
            recorded.append(params)

    async def run(pipeline: Pipeline) -> Response:
        response = await pipeline.execute(request(model="m"))
        await pipeline.usage.drain()
        return response

    before = datetime.now(UTC)
    lazy = asyncio.run(run(build(("exec", Counts()))))
    assert lazy._usage is None  # nothing built yet
    delivered = asyncio.run(run(build(("exec", Counts()), ("usage", Usage()))))
    after = datetime.now(UTC)
    assert delivered.usage is recorded[0]
    for record in (lazy.usage, recorded[0]):
        assert before <= record.requested_at <= after and record.requested_at.tzinfo is UTC
        assert record.latency_ns > 0
        assert (record.model, record.source, record.provider, record.auth_id, record.executor_type) == (
            "m", "openai", "local", "auth-1", "plugin:exec"
        )
        assert (record.detail.input_tokens, record.detail.output_tokens, record.failed) == (3, 5, False)
    assert attrs.evolve(lazy.usage, latency_ns=0, requested_at=None) == attrs.evolve(
        recorded[0], latency_ns=0, requested_at=None
    )
    assert lazy.usage is lazy.usage  # built once
