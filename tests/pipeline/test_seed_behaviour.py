"""The pipeline where a plugin ported from the seed host would notice: each test names the seed behaviour it pins
(CLIProxyAPI at 693ce1c55; file and function in the docstring)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pluginkit import PluginError, PluginManager, hookimpl
from pluginkit import types as t
from pluginkit.pipeline import Pipeline, StageError
from pluginkit.scheduling import Credential
from tests.pipeline.test_pipeline import Executor, build, request, stream_all


class Thinker:
    """A ``thinking.apply`` plugin for provider ``local`` answering as ``mode`` says."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    @hookimpl
    def thinking_identifier(self) -> t.Identifier:
        return t.Identifier(identifier="local")

    @hookimpl
    def thinking_apply(self, params: t.ThinkingApplyRequest) -> Any:
        if self.mode == "empty":
            return t.BodyResult(body=b"")
        if self.mode == "none":
            return None
        if self.mode == "refuse":
            raise PluginError("invalid_request", "cannot apply budget")
        raise RuntimeError("crashed")


@pytest.mark.parametrize("mode", ["empty", "none", "refuse", "crash"])
def test_thinking_apply_that_answers_nothing_or_fails_keeps_the_body(mode: str) -> None:
    """Seed behaviour (CLIProxyAPI internal/pluginhost/adapters.go, thinkingAdapter.Apply at 693ce1c55): when
    ApplyThinking returns an error or an empty Body, the host keeps the original body and the request goes on."""
    executor = Executor()
    pipeline = build(("thinker", Thinker(mode)), ("exec", executor))
    response = asyncio.run(pipeline.execute(request(format="claude", thinking=t.ThinkingConfig(mode="budget"))))
    assert executor.seen[0].payload == b"hi"  # the executor got the body, not b""
    assert response.body == b"<hi>"
    step = next(s for s in response.trace.steps if s.stage == "thinking.apply")
    assert ("body kept" in step.decision) == (mode in ("refuse", "crash"))


def test_thinking_apply_through_invoke_passes_an_empty_answer_through() -> None:
    """The same rule through ``invoke``: thinking.apply's fallback is the body unchanged."""
    with PluginManager(entry_points=False, environ={}) as manager:
        manager.register(Thinker("empty"), "thinker")
        answer = manager.call("thinking.apply", t.ThinkingApplyRequest(provider="local", body=b"keep me"))
    assert answer.body == b"keep me"


class LocalExecutor:
    """An executor plugin for provider ``local`` reading and writing ``format``."""

    format = "claude"

    @hookimpl
    def plugin_register(self) -> t.Registration:
        formats = [self.format]
        return t.Registration(
            metadata=t.PluginMetadata(name=type(self).__name__, version="1"),
            capabilities=t.Capabilities(executor=True, executor_input_formats=formats, executor_output_formats=formats),
        )

    @hookimpl
    def executor_identifier(self) -> t.Identifier:
        return t.Identifier(identifier="local")


class ModelEcho(LocalExecutor):
    """Answers with the body it was sent."""

    @hookimpl
    def executor_execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
        return t.ExecutorResponse(payload=params.payload)


class RefusesToTranslate:
    @hookimpl
    def request_translate(self) -> None:
        raise PluginError("invalid_request", "cannot translate tools")

    @hookimpl
    def response_translate(self) -> None:
        raise PluginError("invalid_request", "cannot translate back")


@pytest.mark.parametrize("translators", [(), (("refuses", RefusesToTranslate()),)], ids=["none", "failing"])
def test_without_a_translator_the_body_goes_on_untranslated_with_the_resolved_model(translators: Any) -> None:
    """Seed behaviour (CLIProxyAPI sdk/translator/registry.go, Registry.TranslateRequest and TranslateNonStream at
    693ce1c55): with no native translator and no plugin translating, the request goes on untranslated with its
    ``model`` field set to the resolved model, and the response comes back untranslated."""
    pipeline = build(*translators, ("echo", ModelEcho()))
    body = b'{"model": "copilot/gpt-5-mini", "messages": []}'
    response = asyncio.run(pipeline.execute(request(model="gpt-5-mini", body=body)))
    assert json.loads(response.body) == {"model": "gpt-5-mini", "messages": []}
    steps = {s.stage: s.decision for s in response.trace.steps}
    assert steps["request.translate"].startswith("not translated (")
    assert steps["response.translate"].startswith("not translated (")


def test_strict_translation_fails_the_request_instead() -> None:
    pipeline = build(("echo", ModelEcho()), strict_translation=True)
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert caught.value.stage == "request.translate" and caught.value.code == "not_handled"


class StreamEcho(ModelEcho):
    @hookimpl
    def executor_execute_stream(self, params: t.ExecutorRequest) -> t.ExecutorStreamResult:
        return t.ExecutorStreamResult(chunks=[t.StreamChunk(payload=b"e1"), t.StreamChunk(payload=b"e2")])


def test_stream_events_no_plugin_translates_are_delivered_untranslated() -> None:
    """Seed behaviour (sdk/translator/registry.go, Registry.TranslateStream): an event no translator handles is
    passed on as it is."""
    pipeline = build(("refuses", RefusesToTranslate()), ("echo", StreamEcho()))

    async def run() -> list[bytes]:
        return [chunk async for chunk in pipeline.stream(request(stream=True))]

    assert asyncio.run(run()) == [b"e1", b"e2"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"model":"copilot/m","x":1}', {"model": "m", "x": 1}),
        (b'{"model": "m"}', {"model": "m"}),
        (b'{"x": {"model": "m"}, "model": "other"}', {"x": {"model": "m"}, "model": "m"}),
        (b'{"x": 1}', {"x": 1, "model": "m"}),
    ],
)
def test_with_model_sets_the_top_level_model(body: bytes, expected: dict[str, Any]) -> None:
    from pluginkit.pipeline._formats import with_model

    assert json.loads(with_model(body, "m")) == expected
    assert with_model(b"not json", "m") == b"not json" and with_model(b"[1]", "m") == b"[1]"


_names = st.sampled_from(["m", "copilot/m", "mo", "m\"x", "ü", ""])
_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=5) | _names,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["model", "a", "b"]), inner, max_size=3),
    max_leaves=8,
)


@given(
    model=_names,
    wanted=_names.filter(bool),
    rest=st.dictionaries(st.sampled_from(["messages", "a", "stream"]), _values, max_size=3),
    first=st.booleans(),
    separators=st.sampled_from([(",", ":"), (", ", ": ")]),
)
@settings(max_examples=300, deadline=None)
def test_with_model_answers_what_parsing_and_setting_would(
    model: str, wanted: str, rest: dict[str, Any], first: bool, separators: tuple[str, str]
) -> None:
    """The shortcut that finds the model already set (no parse) agrees with parsing the body and setting it, for
    a body with a top-level model (what every client sends), wherever it stands and however it is spaced."""
    from pluginkit.pipeline._formats import with_model

    data = {"model": model, **rest} if first else {**rest, "model": model}
    body = json.dumps(data, separators=separators).encode()
    answer = with_model(body, wanted)
    assert json.loads(answer) == {**data, "model": wanted}
    if model == wanted:
        assert answer is body  # nothing to change: the client's bytes go on as they were


def test_a_round_robin_delegate_rotates_per_provider_across_models() -> None:
    """Seed behaviour (CLIProxyAPI internal/pluginhost/scheduler.go at 693ce1c55): a plugin's round-robin delegate
    keeps one rotation per provider, so alternating models still alternate credentials (k1, k3, k1, k3)."""

    class Delegates:
        @hookimpl
        def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
            return t.SchedulerPickResult(delegate_builtin="round-robin", handled=True)

    manager = PluginManager(entry_points=False, environ={})
    manager.register(Delegates(), "delegates")
    manager.register(Executor(), "exec")
    pipeline = Pipeline(manager, credentials=[Credential("k1", "local"), Credential("k3", "local")],
                        routes={"*": ["local"]})
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b, response=lambda b, m, s: b)
    picked = [
        asyncio.run(pipeline.execute(request(model=model))).credential for model in ("m1", "m2", "m1", "m2")
    ]
    assert picked == ["k1", "k3", "k1", "k3"]


class StreamOnly(LocalExecutor):
    """An executor plugin that implements only ``executor.execute_stream``."""

    format = "openai"

    @hookimpl
    def executor_execute_stream(self, params: t.ExecutorRequest) -> t.ExecutorStreamResult:
        return t.ExecutorStreamResult(chunks=[t.StreamChunk(payload=b"s1")])


def test_an_executor_that_only_streams_serves_streams() -> None:
    """Seed behaviour: the host asks an executor plugin for the call it needs; one without executor.execute still
    serves streamed requests (whole ones fail naming the plugin)."""
    pipeline = build(("stream-only", StreamOnly()))
    assert list(pipeline.stream_sync(request(stream=True))) == [b"s1"]
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert caught.value.stage == "executor.execute" and caught.value.code == "executor_not_found"


# -- stream headers: rawStreamHeaders ------------------------------------------------------------------------------


class HeaderStream(LocalExecutor):
    """Streams three events with the upstream header ``X-Up``: returned with inline chunks, returned after pushing
    them, or declared with the first push."""

    format = "openai"

    def __init__(self, how: str) -> None:
        self.how = how

    @hookimpl
    def executor_execute_stream(self, params: t.ExecutorRequest, ctx: Any) -> t.ExecutorStreamResult:
        events = [b"e0", b"e1", b"e2"]
        up = {"X-Up": ["1"]}
        if self.how == "inline":
            return t.ExecutorStreamResult(headers=up, chunks=[t.StreamChunk(payload=e) for e in events])
        for index, event in enumerate(events):
            ctx.emit(params.stream_id, event, headers=up if self.how == "declared" and index == 0 else None)
        ctx.close_stream(params.stream_id)
        return t.ExecutorStreamResult(headers=up)


class HeaderInterceptor:
    """Records the response headers each call sees; adds ``X-A`` at the header call, ``X-B`` at chunk 0, and clears
    ``X-Up`` at chunk 1."""

    def __init__(self) -> None:
        self.seen: dict[int, dict[str, list[str]]] = {}

    @hookimpl
    def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
        self.seen[params.chunk_index] = dict(params.response_headers)
        changes = {-1: {"headers": {"X-A": ["a"]}}, 0: {"headers": {"X-B": ["b"]}}, 1: {"clear_headers": ["x-up"]}}
        return t.StreamChunkInterceptResult(**changes.get(params.chunk_index, {}))


@pytest.mark.parametrize("how", ["inline", "declared"])
def test_upstream_stream_headers_reach_the_interceptors_and_the_client(how: str) -> None:
    """Seed behaviour (CLIProxyAPI sdk/api/handlers/handlers.go, ExecuteStreamWithAuthManager at 693ce1c55): the
    executor's stream headers are ``rawStreamHeaders``; the header call (index -1) sees them as ResponseHeaders,
    each interceptor's header changes are seen by the next call, and the client gets the headers in force when
    the first chunk is sent (``streamHeadersCommitted``): later changes reach only later interceptor calls."""
    interceptor = HeaderInterceptor()
    pipeline = build(("up", HeaderStream(how)), ("icpt", interceptor))
    chunks, stream = stream_all(pipeline)
    assert chunks == [b"e0", b"e1", b"e2"]
    seen = interceptor.seen
    assert seen[-1]["X-Up"] == ["1"] and "X-A" not in seen[-1]
    assert seen[0]["X-A"] == ["a"] and "X-B" not in seen[0]
    assert seen[1]["X-B"] == ["b"] and seen[1]["X-Up"] == ["1"]
    assert "X-Up" not in seen[2]  # cleared by the call for chunk 1
    assert stream.headers["X-Up"] == ["1"] and stream.headers["X-A"] == ["a"] and stream.headers["X-B"] == ["b"]


def test_upstream_stream_headers_reach_the_client_without_interceptors() -> None:
    """Seed behaviour (handlers.go, downstreamHeadersFromExecutor): with nothing intercepting, the executor's stream
    headers are the response's (pluginkit leaves filtering hop-by-hop headers to the HTTP host)."""
    chunks, stream = stream_all(build(("up", HeaderStream("inline"))))
    assert chunks == [b"e0", b"e1", b"e2"]
    assert stream.headers == {"X-Up": ["1"], "Content-Type": ["text/event-stream"]}


def test_headers_a_plugin_returns_after_pushing_its_chunks_still_reach_later_calls() -> None:
    """pluginkit streams chunks pushed from inside the call as they come, so headers returned at the end arrive
    late: they apply from the next interceptor call on (``HostStreamEmit.headers`` sends them up front)."""
    interceptor = HeaderInterceptor()
    pipeline = build(("up", HeaderStream("returned")), ("icpt", interceptor))
    chunks, _ = stream_all(pipeline)
    assert chunks == [b"e0", b"e1", b"e2"]
    assert all("X-A" in seen for index, seen in interceptor.seen.items() if index >= 0)


def test_a_native_stream_may_carry_headers() -> None:
    """A native executor's stream object may have a ``headers`` mapping: the upstream headers, as a plugin's."""

    class Native:
        headers = {"X-Native": ["n"]}

        def __aiter__(self) -> Any:
            return self

        def __init__(self) -> None:
            self.left = [b"n0", b"n1"]

        async def __anext__(self) -> bytes:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop(0)

    class Executes:
        async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse:
            return t.ExecutorResponse()

        def execute_stream(self, request: t.ExecutorRequest) -> Any:
            return Native()

    interceptor = HeaderInterceptor()
    pipeline = build(("icpt", interceptor))
    pipeline.add_executor("local", Executes(), input_formats=["openai"], output_formats=["openai"])
    chunks, stream = stream_all(pipeline)
    assert chunks == [b"n0", b"n1"]
    assert interceptor.seen[-1]["X-Native"] == ["n"] and stream.headers["X-Native"] == ["n"]
