"""What the pipeline derives once and reuses — credential pools, routes, the trace's clock readings, the usage
worker — must follow every change it is derived from."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import attrs
import pytest

from pluginkit import PluginError, PluginManager, hookimpl
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.pipeline import Pipeline, StageError, Trace
from pluginkit.scheduling import Credential, Scheduler
from tests.pipeline.test_pipeline import EveryStage, Executor, build, request


def passthrough(body: bytes, model: str, stream: bool) -> bytes:
    return body


# -- credentials ------------------------------------------------------------------------------------------------


def test_credentials_are_frozen_and_replaced_through_the_scheduler() -> None:
    pipeline = build(("exec", Executor()), credentials=2, strategy="fill-first")
    pipeline.add_translator("openai", "claude", request=passthrough, response=passthrough)
    scheduler = pipeline.scheduler
    first = scheduler.credentials[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.disabled = True  # type: ignore[misc]
    assert asyncio.run(pipeline.execute(request())).credential == "auth-1"

    scheduler.replace(attrs.evolve(first, disabled=True))  # the route's pool is rebuilt: auth-1 is out
    assert [c.id for c in scheduler.credentials] == ["auth-1", "auth-2"]
    assert asyncio.run(pipeline.execute(request())).credential == "auth-2"

    scheduler.replace(Credential("auth-0", "local", priority=5))  # a new ID is added, and its tier wins
    assert asyncio.run(pipeline.execute(request())).credential == "auth-0"

    scheduler.credentials = [Credential("only", "local")]
    assert asyncio.run(pipeline.execute(request())).credential == "only"

    scheduler.credentials = []
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert caught.value.code == "auth_unavailable"


def test_credential_ids_must_be_unique() -> None:
    manager = PluginManager(entry_points=False, environ={})
    with pytest.raises(PluginKitError) as caught:
        Scheduler(manager, [Credential("a", "x"), Credential("b", "x"), Credential("a", "y")])
    assert caught.value.code == "invalid_config" and "a" in caught.value.message


def test_pools_are_per_route_and_model() -> None:
    """A credential limited to some models, and a route with two providers, each get their own candidates."""
    manager = PluginManager(entry_points=False, environ={})
    scheduler = Scheduler(
        manager,
        [Credential("a", "one", models=frozenset({"m1"})), Credential("b", "two"), Credential("c", "one")],
        strategy="fill-first",
    )
    none: frozenset[str] = frozenset()

    def pick(providers: list[str], model: str) -> str:
        chosen = scheduler.pick_now(providers[0], providers, model, False, {}, {}, none)
        assert chosen is not None
        return chosen.credential.id

    assert pick(["one"], "m1") == "a"
    assert pick(["one"], "m2") == "c"  # a does not serve m2
    assert pick(["two", "one"], "m2") == "b"  # both providers' credentials, sorted by ID: b before c
    assert pick(["one"], "m1") == "a"  # the first route's pool is still right after the others were built


def test_round_robin_rotates_and_reuses_its_decisions() -> None:
    manager = PluginManager(entry_points=False, environ={})
    scheduler = Scheduler(manager, [Credential("b", "p"), Credential("a", "p")])
    none: frozenset[str] = frozenset()

    def pick(tried: frozenset[str] = none) -> Any:
        chosen = scheduler.pick_now("p", ["p"], "m", False, {}, {}, tried)
        assert chosen is not None
        return chosen

    first, second, third = pick(), pick(), pick()
    assert [p.credential.id for p in (first, second, third)] == ["a", "b", "a"]  # sorted by ID
    assert third is first and first.decision == "picked 'a' via built-in round-robin"  # one immutable Pick
    retried = pick(frozenset({"a"}))  # a request that already tried a: the general rule, a new Pick
    assert retried.credential.id == "b" and retried is not second


# -- routes -----------------------------------------------------------------------------------------------------


def test_routes_follow_translators_and_executors_added_later() -> None:
    executor = Executor()
    pipeline = build(("exec", executor), strict_translation=True)  # a missing translator fails the request
    with pytest.raises(PluginKitError) as caught:  # no translator to the executor's format (claude) yet
        asyncio.run(pipeline.execute(request()))
    assert caught.value.stage == "request.translate"  # type: ignore[attr-defined]
    pipeline.add_translator("openai", "claude", request=lambda b, m, s: b"A" + b)
    with pytest.raises(PluginKitError) as caught:  # the request side is served now, the answer is not
        asyncio.run(pipeline.execute(request()))
    assert caught.value.stage == "response.translate"  # type: ignore[attr-defined]
    pipeline.add_translator("openai", "claude", response=lambda b, m, s: b"back:" + b)
    assert asyncio.run(pipeline.execute(request())).body == b"back:<Ahi>"

    class Native:
        async def execute(self, params: t.ExecutorRequest) -> t.ExecutorResponse:
            return t.ExecutorResponse(payload=b"native:" + params.payload)

        async def execute_stream(self, params: t.ExecutorRequest) -> Any:
            yield b"native"

    calls = len(executor.seen)
    pipeline.add_executor("local", Native(), input_formats=["openai"], output_formats=["openai"])
    response = asyncio.run(pipeline.execute(request()))
    assert response.body == b"native:hi" and len(executor.seen) == calls  # the native executor took over


def test_thinking_goes_to_the_provider_owner_or_passes_through() -> None:
    class OtherThinker:
        @hookimpl
        def thinking_identifier(self) -> t.Identifier:
            return t.Identifier(identifier="elsewhere")

        @hookimpl
        def thinking_apply(self, params: t.ThinkingApplyRequest) -> t.BodyResult:
            return t.BodyResult(body=b"wrong")

    thinking = t.ThinkingConfig(mode="budget")
    pipeline = build(("every", EveryStage()), ("other", OtherThinker()), ("exec", Executor()))
    response = asyncio.run(pipeline.execute(request(thinking=thinking)))
    assert b"+think:budget" in response.body and b"wrong" not in response.body
    step = next(s for s in response.trace.steps if s.stage == "thinking.apply")
    assert step.plugins == ("every",) and step.decision == "mode budget"

    pipeline = build(("other", OtherThinker()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=passthrough, response=passthrough)
    response = asyncio.run(pipeline.execute(request(thinking=thinking)))  # nobody serves "local": pass-through
    assert response.body == b"<hi>"
    step = next(s for s in response.trace.steps if s.stage == "thinking.apply")
    assert step.plugins == ()


# -- the trace --------------------------------------------------------------------------------------------------


def test_trace_durations_add_up_and_decisions_are_formatted_when_read() -> None:
    pipeline = build(("every", EveryStage()), ("exec", Executor()))
    response = asyncio.run(pipeline.execute(request()))
    steps = response.trace.steps
    assert all(step.seconds >= 0 for step in steps)
    assert sum(step.seconds for step in steps) < 5
    executed = next(s for s in steps if s.stage == "executor.execute")
    assert executed.decision.startswith("exec answered ") and executed.decision.endswith(" bytes")
    assert steps[0].decision == "principal 'alice'"
    assert "executor.execute" in response.trace.table()


def test_explicit_spans_and_marks_mix() -> None:
    trace = Trace()
    start = trace.started_ns
    trace.mark(("first", None, start + 1_000, "one", None))
    trace.add("overlapping", start, "span")  # ends now, started with the trace
    trace.mark(("second", (("p", "empty"),), trace._raw[-1][2] + 2_000, ("{} and {}", "a", "b"), None))
    steps = trace.steps
    assert [s.stage for s in steps] == ["first", "overlapping", "second"]
    assert steps[0].seconds == pytest.approx(1e-6)
    assert steps[1].seconds >= 1e-6
    assert steps[2].seconds == pytest.approx(2e-6) and steps[2].plugins == ("p (empty)",)
    assert steps[2].decision == "a and b" and len(trace) == 3


def test_notes_written_to_the_trace_belong_to_the_next_stage() -> None:
    """The dispatcher writes a stage's notes to ``trace.notes`` before the stage's entry; notes after the last
    entry (a stage that failed before it was recorded) belong to no stage."""
    trace = Trace()
    trace.notes.append(("auth", "answered"))
    trace.notes.append(("backup", "error:plugin_error"))
    trace.mark(("frontend_auth.authenticate", None, trace.started_ns + 10, "principal 'a'", None))
    trace.notes.append(("pick", "answered"))
    trace.mark(("scheduler.pick", (("own", "answered"),), trace.started_ns + 20, "picked", None))
    trace.mark(("request.normalize", None, trace.started_ns + 30, "", None))
    trace.close("request.normalize", "never")  # nothing noted since the last entry: nothing to close
    trace.notes.append(("late", "error:timeout"))
    steps = trace.steps
    assert [s.plugins for s in steps] == [("auth", "backup (error:plugin_error)"), ("pick", "own"), ()]
    assert len(trace) == 3 and all(s.seconds == pytest.approx(1e-8) for s in steps)
    trace.close("thinking.apply", ("failed: {}", "timeout"))  # a stage that failed keeps its notes
    assert (trace.steps[-1].stage, trace.steps[-1].plugins, trace.steps[-1].decision) == (
        "thinking.apply", ("late (error:timeout)",), "failed: timeout"
    )


def test_a_failed_stage_keeps_its_plugins_in_the_trace() -> None:
    class Broken:
        @hookimpl
        def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            raise PluginError("bad_request", "no")

        @hookimpl
        def usage_handle(self, params: t.UsageRecord) -> None:
            pass

    pipeline = build(("broken", Broken()), ("exec", Executor()), strict_translation=True)
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(request()))
    assert caught.value.stage == "request.translate"
    steps = {step.stage: step for step in caught.value.trace.steps}
    failed = steps["request.translate"]
    assert failed.plugins == ("broken (error:bad_request)",) and failed.decision == "failed: bad_request"
    assert steps["usage.handle"].plugins == ()  # the failed stage's plugin is not taken for the next stage's
    assert [s.stage for s in caught.value.trace.steps] == ["scheduler.pick", "request.translate", "usage.handle"]


# -- the usage worker -------------------------------------------------------------------------------------------


def test_usage_is_delivered_in_bursts_and_across_event_loops() -> None:
    every = EveryStage()
    pipeline = build(("every", every), ("exec", Executor()))

    async def burst(n: int) -> None:
        for _ in range(n):
            await pipeline.execute(request())
        await pipeline.usage.drain()

    asyncio.run(burst(5))
    assert len(every.usage) == pipeline.usage.delivered == 5
    asyncio.run(burst(3))  # a new loop: the old worker was ended with its loop, a new one takes over
    assert len(every.usage) == 8
    asyncio.run(pipeline.aclose())
    assert all(record.model == "m" and record.latency_ns > 0 for record in every.usage)


def test_usage_worker_survives_failing_plugins_and_counts_refusals(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.seen = 0

        @hookimpl
        def usage_handle(self, params: t.UsageRecord) -> None:
            self.seen += 1
            if self.seen % 2:
                raise RuntimeError("disk full")

    flaky = Flaky()
    pipeline = build(("flaky", flaky), ("exec", Executor()), config={"pluginkit": {"fuse": {"usage.handle": False}}})
    pipeline.add_translator("openai", "claude", request=passthrough, response=passthrough)

    async def run() -> None:
        for _ in range(4):
            await pipeline.execute(request())
        with caplog.at_level(logging.ERROR, "pluginkit"):
            await pipeline.usage.drain()
        assert flaky.seen == 4  # every record was offered, failures did not stop the worker
        await pipeline.execute(request())
        pipeline.manager.shutdown()  # the burst is refused: the record is dropped and counted
        await pipeline.usage.drain()

    asyncio.run(run())
    assert pipeline.usage.dropped == 1 and flaky.seen == 4
    assert "disk full" in caplog.text


def test_drain_gives_up_after_its_timeout() -> None:
    gate = asyncio.Event()

    class Stuck:
        @hookimpl
        async def usage_handle(self) -> None:
            await gate.wait()

    pipeline = build(("stuck", Stuck()), ("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=passthrough, response=passthrough)

    async def run() -> None:
        await pipeline.execute(request())
        await pipeline.usage.drain(timeout=0.05)  # returns although the plugin still holds the record
        assert pipeline.usage.delivered == 0
        gate.set()
        await pipeline.usage.drain()
        assert pipeline.usage.delivered == 1

    asyncio.run(run())


def test_a_pipeline_without_usage_plugins_queues_nothing() -> None:
    pipeline: Pipeline = build(("exec", Executor()))
    pipeline.add_translator("openai", "claude", request=passthrough, response=passthrough)
    response = asyncio.run(pipeline.execute(request()))
    assert "usage.handle" not in [s.stage for s in response.trace.steps]
    assert pipeline.usage.dropped == 0 and pipeline.usage.delivered == 0


def test_the_callers_request_is_left_as_it_was() -> None:
    """The principal an authenticator names reaches every later stage, but not the host's ``Request``."""
    executor = Executor(chunks=2)
    pipeline = build(("every", EveryStage()), ("exec", executor))
    sent = request(metadata={"tenant": "t1"})
    asyncio.run(pipeline.execute(sent))

    async def stream() -> bytes:
        return await pipeline.stream(sent).read()

    assert asyncio.run(stream())
    assert [seen.metadata for seen in executor.seen] == [{"tenant": "t1", "principal": "alice"}] * 2
    assert sent.metadata == {"tenant": "t1"} and sent.headers == {"Authorization": ["Bearer ok"]}


def test_sync_callers_on_many_threads_share_one_pipeline() -> None:
    from concurrent.futures import ThreadPoolExecutor

    every = EveryStage()
    pipeline = build(("every", every), ("exec", Executor()))
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: pipeline.execute_sync(request()), range(40)))
    assert {r.body for r in responses} == {responses[0].body} and len(responses) == 40
    pipeline.close_sync()
    assert len(every.usage) == pipeline.usage.delivered == 40
    pipeline.manager.shutdown()
