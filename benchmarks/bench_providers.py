"""AI-service providers (seed 003): a service call and a streamed chunk through ``ProviderHost``.

* unary: the overhead of ``await host.invoke(provider, service, body)`` — its time less that of awaiting the
  plugin's own ``async def`` hookimpl directly, the same coroutine (it yields to the loop once, as a call to an
  engine does) — against that direct await. Target: the overhead at most 2x the direct await, as the issue puts it
  (the whole call then costs at most 3x). The host looks the route up (provider, service, mode checked once per
  plan table), builds the call's params, counts the call in flight and awaits the plugin in the caller's task under
  the service's time limit, containing whatever it does. The baseline is the harshest there is: a real provider's
  coroutine waits on an engine or an API for far longer than one turn of the loop.
* streamed: one more chunk of ``async for chunk in await host.invoke_stream(...)`` against one more step of the
  plugin's own async generator, iterated directly. Target: at most 2x. Each chunk is checked and the stream's end
  rule applied (``is_final``, an error chunk); the stream's time limit is one timer, not a cost per chunk. A step
  sends to the generator's ``__anext__`` rather than awaiting it, so that a step that waits can be driven and a
  generator ignoring its cancellation left behind: ~155 ns a chunk over an ``await`` (1.6x → 1.95-2.08x).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack

from benchmarks._harness import Case, Table, compare
from benchmarks.bench_pipeline import async_sampler, marginal
from pluginkit import PluginManager, hookimpl
from pluginkit import types as t
from pluginkit.providers import ProviderHost, ServiceCall, ServiceChunk, ServiceResponse

TARGET = 2.0
CHUNKS = 200
DIRECT = "await the plugin's coroutine directly"
HOSTED = "host.invoke(...) overhead (its time - the direct await)"
PLAIN = "the plugin's async generator, directly"
STREAMED = "host.invoke_stream(...) chunks"
MANIFEST = {
    "provider": {"name": "bench", "type": "remote"},
    "services": [{"service_name": "chat", "capabilities": {"support_streaming": True}}],
}
ANSWER = ServiceResponse(response=b'{"choices": []}')


class Bench:
    """A remote provider answering at once: what is measured is the host, not the plugin."""

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(capabilities=t.Capabilities(ai_provider=True))

    @hookimpl
    async def provider_invoke_service(self, params: ServiceCall) -> ServiceResponse:
        await asyncio.sleep(0)
        return ANSWER

    @hookimpl
    async def provider_invoke_service_stream(self, params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        count = int(params.request)
        for index in range(count):
            yield ServiceChunk(data=b"data: {}\n\n", is_final=index == count - 1)


def _host(stack: ExitStack) -> tuple[ProviderHost, Bench]:
    manager = PluginManager(entry_points=False, environ={})
    stack.callback(manager.shutdown)
    host = ProviderHost(manager)
    plugin = Bench()
    manager.register(plugin, "bench")
    host.add("bench", MANIFEST)
    return host, plugin


def unary_table(quick: bool) -> Table:
    table = Table("a unary service call", baseline=DIRECT)
    with ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner())
        host, plugin = _host(stack)
        call = ServiceCall(service_name="chat", request=b"{}")

        async def direct() -> ServiceResponse:
            return await plugin.provider_invoke_service(call)

        async def hosted() -> bytes:
            return await host.invoke("bench", "chat", b"{}")

        if runner.run(hosted()) != ANSWER.response:
            raise AssertionError("the host did not answer the plugin's response")
        direct_sampler, hosted_sampler = async_sampler(runner, direct), async_sampler(runner, hosted)
        compare(table, [
            Case(DIRECT, direct_sampler),
            Case(HOSTED, lambda loops: hosted_sampler(loops) - direct_sampler(loops), target=TARGET),
        ], quick=quick)
    return table


def stream_table(quick: bool) -> Table:
    table = Table(f"one more chunk of a stream ({CHUNKS} chunks, marginal)", baseline=PLAIN)
    with ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner())
        host, plugin = _host(stack)

        async def plain(chunks: int) -> int:
            call = ServiceCall(service_name="chat", request=str(chunks).encode())
            count = 0
            async for _ in plugin.provider_invoke_service_stream(call):
                count += 1
            return count

        async def streamed(chunks: int) -> int:
            count = 0
            async for _ in await host.invoke_stream("bench", "chat", str(chunks).encode()):
                count += 1
            return count

        if runner.run(streamed(CHUNKS)) != CHUNKS:
            raise AssertionError("the host did not deliver every chunk")
        compare(table, [
            Case(PLAIN, marginal(runner, plain, CHUNKS)),
            Case(STREAMED, marginal(runner, streamed, CHUNKS), target=TARGET),
        ], quick=quick)
    return table


def run(quick: bool) -> list[Table]:
    return [unary_table(quick), stream_table(quick)]
