"""What the pipeline costs around real plugins: the example executor and translator, each request against
calling the same plugin functions directly, in sequence — the floor a host without pluginkit would write.

Four tables, two clients (Anthropic, served by ``local-executor`` as it is; OpenAI, translated both ways by
``openai-anthropic``), non-streamed and streamed. The streamed answer is the executor's standard Anthropic event
sequence, one event per word: ~75 events.

* non-streamed, Anthropic: the floor calls ``executor_execute``. Target: the pipeline takes at most 1.5x.
* non-streamed, OpenAI: ``request_translate`` → ``executor_execute`` → ``response_translate``. Target: 1.3x.
* streamed, Anthropic: ``executor_execute_stream`` pushing its events into a list (the floor's ``ctx.emit``).
  Target: 1.3x.
* streamed, OpenAI: the same, then ``response_translate`` for each event, as the pipeline calls it. Target: 1.3x.

The pipeline runs the whole request: scheduler pick (built-in), the plugin stages, usage record; the floor does
only what the plugins do. Rows are timed interleaved (:func:`benchmarks._harness.compare`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pluginkit_executors.local as local_executor
import pluginkit_openai_anthropic as openai_anthropic

from benchmarks._harness import Case, Table, compare, sync_sampler
from benchmarks.bench_pipeline import async_sampler
from pluginkit import PluginManager, PluginState
from pluginkit import types as t
from pluginkit.pipeline import Pipeline, Request
from pluginkit.scheduling import Credential

FLOOR = "the plugins' functions, called directly in sequence"
PIPELINE = "pluginkit pipeline"
MODEL = "local-model"
USER_TEXT = "What does a plugin framework for LLM gateways do?"
TARGETS = {("claude", False): 1.5, ("openai", False): 1.3, ("claude", True): 1.3, ("openai", True): 1.3}
BATCH = 20  # requests per awaited batch: entering the loop once per sample, not per request


class FloorContext:
    """What the floor hands a pushing executor: ``emit`` appends to a list (no threads, no wake-ups)."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.events: list[bytes] = []

    def emit(self, stream_id: str, payload: bytes, error: str = "", *, headers: Any = None) -> None:
        self.events.append(payload)

    def close_stream(self, stream_id: str, error: str = "") -> None:
        pass


def body_for(client: str, stream: bool) -> bytes:
    messages = [{"role": "user", "content": USER_TEXT}]
    if client == "openai":
        return json.dumps({"model": MODEL, "messages": messages, "stream": stream}).encode()
    return json.dumps({"model": MODEL, "max_tokens": 400, "messages": messages, "stream": stream}).encode()


def floor_for(client: str, stream: bool) -> Callable[[], object]:
    """The plugins' functions in the order the pipeline calls them, with the params it would build."""
    body = body_for(client, stream)
    translating = client == "openai"
    ctx = FloorContext()

    def run() -> object:
        payload = body
        if translating:
            payload = openai_anthropic.request_translate(t.RequestTranslateRequest(
                from_format="openai", to_format="claude", model=MODEL, stream=stream, body=body,
            )).body
        ereq = t.ExecutorRequest(
            auth_id="k1", auth_provider="local", model=MODEL, format="claude", stream=stream, payload=payload,
            original_request=body, source_format=client, stream_id="1" if stream else "",
        )
        if not stream:
            answer = local_executor.executor_execute(ereq).payload
            if translating:
                answer = openai_anthropic.response_translate(t.ResponseTranslateRequest(
                    from_format="claude", to_format="openai", model=MODEL, original_request=body,
                    translated_request=payload, body=answer,
                )).body
            return answer
        ctx.events.clear()
        local_executor.executor_execute_stream(ereq, ctx)  # type: ignore[arg-type]
        if not translating:
            return len(ctx.events)
        for event in ctx.events:
            openai_anthropic.response_translate(t.ResponseTranslateRequest(
                from_format="claude", to_format="openai", model=MODEL, stream=True, original_request=body,
                translated_request=payload, body=event,
            ))
        return len(ctx.events)

    return run


def request_table(client: str, stream: bool, quick: bool) -> Table:
    kind = "streamed" if stream else "non-streamed"
    table = Table(f"{kind} {'OpenAI' if client == 'openai' else 'Anthropic'} request to the local example executor"
                  f"{' (translated both ways)' if client == 'openai' else ''}", baseline=FLOOR)
    with ExitStack() as stack:
        manager = stack.enter_context(PluginManager(entry_points=False, environ={}))
        for plugin_id, plugin in (("local-executor", local_executor), ("openai-anthropic", openai_anthropic)):
            info = manager.register(plugin, plugin_id)
            if info.state is not PluginState.ACTIVE:
                raise AssertionError(f"{plugin_id} not active: {info.reason}")
        pipeline = Pipeline(manager, credentials=[Credential("k1", "local")], routes={"*": ["local"]})
        runner = stack.enter_context(asyncio.Runner())
        stack.callback(lambda: runner.run(pipeline.aclose()))
        body = body_for(client, stream)

        async def one() -> object:
            request = Request(format=client, model=MODEL, body=body, stream=stream)
            if stream:
                return [chunk async for chunk in pipeline.stream(request)]
            return (await pipeline.execute(request)).body

        async def batch() -> None:
            for _ in range(BATCH):
                await one()
            await pipeline.usage.drain()

        floor = floor_for(client, stream)
        got = runner.run(one())
        if stream:
            events = floor()
            if not isinstance(got, list) or len(got) != events or events < 50:
                raise AssertionError(f"the pipeline streamed {len(got)} events, the floor {events}")
        elif json.loads(got)["model"] != MODEL or json.loads(floor()) != json.loads(got):
            raise AssertionError("the pipeline and the floor answered differently")
        compare(table, [
            Case(FLOOR, sync_sampler(floor)),
            Case(PIPELINE, async_sampler(runner, batch), target=TARGETS[client, stream], per=BATCH),
        ], quick=quick)
    return table


def run(quick: bool) -> list[Table]:
    return [request_table(client, stream, quick) for stream in (False, True) for client in ("claude", "openai")]
