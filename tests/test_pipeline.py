"""The request pipeline: stage order, streams, cancellation, failures, usage and the trace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import PluginError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.pipeline import HISTORY_CHUNKS, Pipeline, Request, StageError
from pluginkit.scheduling import Credential

STAGES = [
    "frontend_auth.authenticate",
    "request.intercept_before",
    "scheduler.pick",
    "request.translate",
    "request.normalize",
    "thinking.apply",
    "executor.execute",
    "response.normalize_before",
    "response.translate",
    "response.normalize_after",
    "response.intercept_after",
    "usage.handle",
]


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
    assert response.body == b"openai(<claude(hi+ib)+n+think:budget>+nb)+na+ia"
    assert response.headers == {"X-Up": ["1"], "X-Done": ["1"]}
    assert [step.stage for step in response.trace.steps] == STAGES
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
    assert pipeline.manager.host._streams == {}


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

    pipeline = build(("bad", BadTranslate()), ("exec", Executor()))
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
        ("hang", Hang()), ("exec", Executor()), config={"pluginkit": {"timeouts": {"request.translate": 0.05}}}
    )
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert (caught.value.stage, caught.value.code, caught.value.retryable) == ("request.translate", "timeout", True)


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
