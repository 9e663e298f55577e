"""Plugin streams (seed 000): a chunk from a plugin instance to a frontend through the hub, and many open streams.

* per chunk: ``ctx.send_message_stream`` then the subscriber's ``async for`` step, against an ``asyncio.Queue``
  ``put_nowait`` + ``get`` pair (the least a host hands a value from a producer to a consumer on a loop with).
  Target: at most 2x. The hub does more per chunk than the queue: it checks the stream's state on both sides,
  counts its bytes against the limits, and builds the seed's envelope (``{type, plugin_id, instance_id, data,
  timestamp}``) that the frontends receive. The seed's own path, a plugin building that JSON itself and calling
  ``send_to_frontend``, is shown without a target.
* 10,000 streams open at once, each with its first chunk: the time to open them and the memory each holds on both
  sides (tracemalloc), reported.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from contextlib import ExitStack

from benchmarks._harness import Case, Table, Timing, compare
from benchmarks.bench_pipeline import NotedTable, async_sampler
from pluginkit.messages import CHANNEL_STREAM, FrontendEvent, MessageHub, PluginInstanceContext

QUEUE = "asyncio.Queue put_nowait + get"
HUB = "ctx.send_message_stream + subscriber step"
TARGET = 2.0
OPEN_STREAMS = 10_000


def chunk_table(quick: bool) -> Table:
    table = Table("a chunk through the hub to one subscriber", baseline=QUEUE)
    with ExitStack() as stack:
        runner = stack.enter_context(asyncio.Runner())
        hub = MessageHub(max_stream_bytes=2**62, idle_timeout=None)
        ctx = PluginInstanceContext(hub, "bench")
        subscription = hub.subscribe(instance_id="bench", maxsize=2**31)
        events = aiter(subscription)
        stream_id = ctx.send_message_stream_start()
        queue: asyncio.Queue[str] = asyncio.Queue()
        data = {"stream_id": stream_id, "chunk": "word ", "is_final": False}
        wrapper = json.dumps({"type": "stream_data", "data": data})

        async def through_queue() -> object:
            queue.put_nowait("word ")
            return await queue.get()

        async def through_hub() -> FrontendEvent:
            ctx.send_message_stream(stream_id, "word ")
            return await anext(events)

        async def seed_json() -> object:
            ctx.send_to_frontend(CHANNEL_STREAM, wrapper)
            return await anext(events)

        runner.run(anext(events))  # the stream's start
        if runner.run(through_hub()).chunk != "word ":
            raise AssertionError("the subscriber did not get the chunk")
        compare(table, [
            Case(QUEUE, async_sampler(runner, through_queue)),
            Case(HUB, async_sampler(runner, through_hub), target=TARGET),
            Case("ctx.send_to_frontend(seed JSON) + subscriber step", async_sampler(runner, seed_json)),
        ], quick=quick)
        subscription.close()
    return table


def open_streams_table(quick: bool) -> Table:
    count = 1_000 if quick else OPEN_STREAMS
    table = NotedTable(f"{count:,} streams open at once, one chunk each", baseline="open one and send a chunk")
    per_stream = min(_open_all(count)[0] for _ in range(3))
    held = _open_all(count, traced=True)[1]
    table.add("open one and send a chunk", Timing(per_stream, per_stream, count, (per_stream,), (per_stream,)))
    table.notes.append(
        f"memory per open stream, on the plugin's and the host's side together: {held / count / 1024:.2f} KiB "
        "(tracemalloc; no subscriber)"
    )
    return table


def _open_all(count: int, *, traced: bool = False) -> tuple[float, int]:
    """Open ``count`` streams over 100 instances, one chunk each: ns per stream, and bytes held when traced."""
    hub = MessageHub(max_streams_per_plugin=count, idle_timeout=None)
    contexts = [PluginInstanceContext(hub, "bench", instance_id=f"bench-{i}") for i in range(100)]
    if traced:
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
    started = time.perf_counter_ns()
    for index in range(count):
        ctx = contexts[index % 100]
        ctx.send_message_stream(ctx.send_message_stream_start(), "first words ")
    elapsed = time.perf_counter_ns() - started
    held = 0
    if traced:
        held = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
        tracemalloc.stop()
    if len(hub.streams()) != count or sum(len(c.list_active_streams()) for c in contexts) != count:
        raise AssertionError("not every stream is open")
    return elapsed / count, held


def run(quick: bool) -> list[Table]:
    return [chunk_table(quick), open_streams_table(quick)]
