"""Streams a hookimpl answers (``Method.yields``): each item checked, failures contained as for a call, and the
time limit bounding the whole stream. Exercised through ``provider.invoke_service_stream``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from pluginkit import PluginError, PluginKitError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.providers import ServiceCall, ServiceChunk
from pluginkit.runtime import PluginStream

METHOD = "provider.invoke_service_stream"
CALL = ServiceCall(service_name="chat", request=b"a b c")


class Custom(BaseException):
    """A BaseException of a plugin's own."""


class Plugin:
    """A provider plugin whose stream hook is ``stream``."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(capabilities=t.Capabilities(ai_provider=True))

    @hookimpl
    def provider_invoke_service_stream(self, params: ServiceCall) -> Any:
        return self.stream(params)


def manager_with(stream: Any, *, threaded: bool = False) -> PluginManager:
    manager = PluginManager(entry_points=False)
    info = manager.register(Plugin(stream), "streamer", threaded=threaded)
    assert info.state is PluginState.ACTIVE, info.reason
    return manager


async def read(manager: PluginManager, *, timeout: float | None = 5.0) -> list[bytes]:
    stream = await manager.acall_plugin("streamer", METHOD, CALL, timeout=timeout)
    assert isinstance(stream, PluginStream)
    return [chunk.data async for chunk in stream]


def words(params: ServiceCall) -> Iterator[ServiceChunk]:
    for word in params.request.split():
        yield ServiceChunk(data=word)


async def async_words(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
    for word in params.request.split():
        await asyncio.sleep(0)
        yield ServiceChunk(data=word)


@pytest.mark.parametrize("stream", [words, async_words, lambda p: [ServiceChunk(data=w) for w in p.request.split()]])
def test_sync_and_async_generators_and_plain_iterables_stream(stream: Any) -> None:
    assert asyncio.run(read(manager_with(stream))) == [b"a", b"b", b"c"]


def test_dict_items_are_read_as_wire_json_and_none_is_an_empty_stream() -> None:
    def dicts(params: ServiceCall) -> Iterator[Any]:
        yield {"data": "eA==", "is_final": True}  # base64 of b"x", as on the wire

    assert asyncio.run(read(manager_with(dicts))) == [b"x"]
    assert asyncio.run(read(manager_with(lambda params: None))) == []


def test_an_item_of_the_wrong_type_crashes_the_plugin_and_names_it() -> None:
    def garbage(params: ServiceCall) -> Iterator[Any]:
        yield ServiceChunk(data=b"ok")
        yield "not a chunk"

    manager = manager_with(garbage)
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager))
    assert caught.value.code == "plugin_error" and "'streamer'" in caught.value.message
    assert "yielded str" in caught.value.message
    assert manager.plugin("streamer").state is PluginState.FUSED


def test_an_answer_that_is_no_iterator_crashes_the_plugin() -> None:
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager_with(lambda params: 42)))
    assert caught.value.code == "plugin_error" and "expected an iterator" in caught.value.message


def test_a_plugin_error_mid_stream_is_the_plugins_answer_and_does_not_fuse_it() -> None:
    async def refuses(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        raise PluginError("model_not_found", "no such model")

    manager = manager_with(refuses)
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager))
    assert caught.value.code == "model_not_found"
    assert manager.plugin("streamer").state is PluginState.ACTIVE


@pytest.mark.parametrize("exc", [ValueError, SystemExit, KeyboardInterrupt, GeneratorExit, Custom])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_anything_raised_mid_stream_is_contained(exc: type[BaseException], asynchronous: bool) -> None:
    def sync_raises(params: ServiceCall) -> Iterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        raise exc()

    async def async_raises(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        raise exc()

    manager = manager_with(async_raises if asynchronous else sync_raises)
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager))
    assert caught.value.code == "plugin_error" and "'streamer'" in caught.value.message
    assert manager.plugin("streamer").state is PluginState.FUSED  # fused by policy; the manager still answers


def test_a_plugin_raising_cancelled_error_by_itself_is_contained() -> None:
    async def fake_cancel(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        raise asyncio.CancelledError

    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager_with(fake_cancel)))
    assert caught.value.code == "plugin_error"


def test_the_time_limit_bounds_the_whole_stream() -> None:
    async def slow(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        for _ in range(100):
            await asyncio.sleep(0.05)
            yield ServiceChunk(data=b".")

    manager = manager_with(slow)
    started = time.monotonic()
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager, timeout=0.3))
    assert caught.value.code == "timeout" and "0.3s" in caught.value.message
    assert time.monotonic() - started < 2


def test_a_stream_that_hangs_ends_on_time() -> None:
    async def hangs(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        await asyncio.Event().wait()
        yield ServiceChunk(data=b"never")  # pragma: no cover

    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager_with(hangs), timeout=0.2))
    assert caught.value.code == "timeout"


def test_a_blocking_sync_stream_of_a_threaded_plugin_ends_on_time() -> None:
    def blocks(params: ServiceCall) -> Iterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        time.sleep(1.5)
        yield ServiceChunk(data=b"late")

    started = time.monotonic()
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager_with(blocks, threaded=True), timeout=0.3))
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 1.2


def test_the_callers_own_cancellation_propagates_and_does_not_blame_the_plugin() -> None:
    async def endless(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        while True:
            await asyncio.sleep(0.01)
            yield ServiceChunk(data=b".")

    manager = manager_with(endless)

    async def main() -> None:
        task = asyncio.ensure_future(read(manager, timeout=None))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert manager.plugin("streamer").state is PluginState.ACTIVE


def test_leaving_early_closes_the_plugins_generator() -> None:
    closed: list[str] = []

    async def tracked(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        try:
            while True:
                yield ServiceChunk(data=b".")
        finally:
            closed.append("async")

    def sync_tracked(params: ServiceCall) -> Iterator[ServiceChunk]:
        try:
            while True:
                yield ServiceChunk(data=b".")
        finally:
            closed.append("sync")

    async def take_two(manager: PluginManager) -> None:
        async with await manager.acall_plugin("streamer", METHOD, CALL) as stream:
            assert (await anext(stream)).data == b"."
            await anext(stream)

    asyncio.run(take_two(manager_with(tracked)))
    asyncio.run(take_two(manager_with(sync_tracked)))
    assert closed == ["async", "sync"]


def test_ends_at_ends_the_stream_after_the_last_item_and_on_close_runs_once() -> None:
    closes: list[int] = []

    async def main() -> list[bytes]:
        manager = manager_with(words)
        stream = await manager.acall_plugin("streamer", METHOD, CALL)
        stream.ends_at = lambda chunk: chunk.data == b"b"
        stream.on_close = lambda: closes.append(1)
        return [chunk.data async for chunk in stream]

    assert asyncio.run(main()) == [b"a", b"b"]
    assert closes == [1]


def test_a_stream_that_ignores_its_cancellation_is_left_on_time() -> None:
    async def stubborn(params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        yield ServiceChunk(data=b"one")
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # ignores it, and waits again

    async def main() -> tuple[list[bytes], int]:
        got: list[bytes] = []
        with pytest.raises(PluginKitError) as caught:
            async for chunk in await manager_with(stubborn).acall_plugin("streamer", METHOD, CALL, timeout=0.2):
                got.append(chunk.data)
        assert caught.value.code == "timeout"
        task = asyncio.current_task()
        assert task is not None
        return got, task.cancelling()

    started = time.monotonic()
    assert asyncio.run(main()) == ([b"one"], 0)  # and no cancellation left pending on the consumer
    assert time.monotonic() - started < 1.5


def test_a_single_item_answered_for_a_stream_is_the_plugins_bug() -> None:
    manager = manager_with(lambda params: ServiceChunk(data=b"one"))
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager))
    assert caught.value.code == "plugin_error" and "expected an iterator of ServiceChunk" in caught.value.message


def test_an_iterator_whose_own_code_raises_is_contained() -> None:
    class Exits:
        def __aiter__(self) -> Any:
            raise SystemExit(1)

    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(manager_with(lambda params: Exits())))
    assert caught.value.code == "plugin_error"
