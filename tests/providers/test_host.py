"""``ProviderHost``: lazy start in the seed host's order, statuses, request modes checked against the manifest,
per-service time limits, the error catalogue, progress, bidirectional calls, health checks. Providers here are
registered in code; the example plugins' tests run the pip-installed ones."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from pluginkit import PluginContext, PluginKitError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.providers import (
    BidiCall,
    BidiMessage,
    EngineInstalled,
    EngineModel,
    EngineStart,
    ModelList,
    ProgressResponse,
    ProviderError,
    ProviderHost,
    ProviderStatus,
    PullModelRequest,
    ServiceCall,
    ServiceChunk,
    ServiceResponse,
    incoming,
    report_progress,
)

MANIFEST: dict[str, Any] = {
    "provider": {"name": "fake", "type": "local", "engine_host": "http://127.0.0.1:0"},
    "services": [
        {"service_name": "chat", "capabilities": {"support_streaming": True}, "support_models": ["m1", "m2"],
         "default_model": "m1"},
        {"service_name": "embed", "timeout": 1},
        {"service_name": "slow", "timeout": -1},
        {"service_name": "talk", "expose_protocol": "WEBSOCKET"},
    ],
}


class FakeEngine:
    """A local provider whose engine is a flag; it records every hook the host calls, in order."""

    def __init__(self, *, installed: bool = True, healthy_after: int = 1) -> None:
        self.calls: list[str] = []
        self.installed = installed
        self.running = False
        self.health_checks_to_pass = healthy_after

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(capabilities=t.Capabilities(ai_provider=True))

    @hookimpl
    def provider_check_engine(self) -> EngineInstalled:
        self.calls.append("check_engine")
        return EngineInstalled(installed=self.installed)

    @hookimpl
    def provider_install_engine(self) -> None:
        self.calls.append("install_engine")
        self.installed = True

    @hookimpl
    def provider_init_env(self) -> None:
        self.calls.append("init_env")

    @hookimpl
    def provider_start_engine(self, params: EngineStart) -> None:
        self.calls.append(f"start_engine:{params.mode}")
        self.running = True

    @hookimpl
    def provider_stop_engine(self) -> None:
        self.calls.append("stop_engine")
        self.running = False

    @hookimpl
    async def provider_health_check(self) -> None:
        self.calls.append("health_check")
        if not self.running:
            raise ProviderError(2006, "engine not running")
        if self.health_checks_to_pass > 1:  # a started engine takes a few checks to come up
            self.health_checks_to_pass -= 1
            raise ProviderError(2006, "engine starting")

    @hookimpl
    async def provider_invoke_service(self, params: ServiceCall) -> ServiceResponse:
        self.calls.append(f"invoke:{params.service_name}")
        if params.service_name == "embed" and params.request == b"sleep":
            await asyncio.sleep(5)
        if params.request == b"unknown model":
            raise ProviderError(3000, "model not found", "m9")
        return ServiceResponse(response=b"answer to " + params.request + b" with " + params.auth_info.encode())

    @hookimpl
    async def provider_invoke_service_stream(self, params: ServiceCall) -> AsyncIterator[ServiceChunk]:
        for word in params.request.split():
            if word == b"fail":
                yield ServiceChunk(error="engine not running")
            yield ServiceChunk(data=word)
        yield ServiceChunk(data=b"[DONE]", is_final=True)
        yield ServiceChunk(data=b"after the final chunk")

    @hookimpl
    async def provider_invoke_service_bidirectional(
        self, params: BidiCall, ctx: PluginContext
    ) -> AsyncIterator[BidiMessage]:
        async for message in incoming(ctx, params):
            if message.message_type == "close":
                return
            if message.message_type == "ping":
                yield BidiMessage(message_type="pong")
                continue
            yield BidiMessage(data=message.data.upper(), metadata={"conn": message.metadata["ws_conn_id"]})

    @hookimpl
    def provider_pull_model(self, params: PullModelRequest, ctx: PluginContext) -> ProgressResponse:
        for done in (25, 50, 100):
            report_progress(ctx, params, ProgressResponse(status="pulling", total=100, completed=done))
        return ProgressResponse(status="success", total=100, completed=100)

    @hookimpl
    def provider_list_models(self) -> ModelList:
        return ModelList(models=[EngineModel(name="m1", size=1)])

    @hookimpl
    def provider_pull_model_stream(self, params: PullModelRequest) -> Iterator[ProgressResponse]:
        yield ProgressResponse(status="pulling", total=2, completed=1)
        yield ProgressResponse(status="success", total=2, completed=2)


def host_with(plugin: Any, manifest: dict[str, Any] | None = None) -> ProviderHost:
    manager = PluginManager(entry_points=False)
    host = ProviderHost(manager, start_timeout=2.0)
    assert manager.register(plugin, "fake").state is PluginState.ACTIVE
    host.add("fake", manifest or MANIFEST)
    return host


def test_a_local_provider_starts_on_first_use_in_the_seed_hosts_order() -> None:
    engine = FakeEngine(installed=False, healthy_after=3)
    host = host_with(engine)
    assert host.status("fake") is ProviderStatus.STOPPED and engine.calls == []
    assert asyncio.run(host.invoke("fake", "chat", b"hi")) == b"answer to hi with "
    # AOG's InitEngine: CheckEngine → InstallEngine → InitEnv → HealthCheck → StartEngine → HealthCheck until up
    assert engine.calls == [
        "check_engine", "install_engine", "init_env", "health_check", "start_engine:auto",
        "health_check", "health_check", "health_check", "invoke:chat",
    ]
    assert host.status("fake") is ProviderStatus.RUNNING
    asyncio.run(host.invoke("fake", "chat", b"again"))
    assert engine.calls[-1] == "invoke:chat" and engine.calls.count("start_engine:auto") == 1


def test_concurrent_first_uses_start_the_engine_once() -> None:
    engine = FakeEngine()
    host = host_with(engine)

    async def main() -> list[bytes]:
        return list(await asyncio.gather(*(host.invoke("fake", "chat", str(i)) for i in range(5))))

    assert len(asyncio.run(main())) == 5 and engine.calls.count("start_engine:auto") == 1


def test_an_engine_that_never_becomes_healthy_fails_to_start_and_is_tried_again() -> None:
    engine = FakeEngine(healthy_after=10_000)
    host = host_with(engine)
    host.start_timeout = 0.3
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(host.invoke("fake", "chat", b"hi"))
    assert caught.value.code == "engine_start_failed"
    assert host.status("fake") is ProviderStatus.STOPPED and "engine_start_failed" in host.provider("fake").reason
    engine.health_checks_to_pass = 1
    assert asyncio.run(host.invoke("fake", "chat", b"hi")).startswith(b"answer")


def test_health_checks_mark_an_engine_down_and_the_next_use_starts_it_again() -> None:
    engine = FakeEngine()
    host = host_with(engine)
    asyncio.run(host.start("fake", "gpu"))
    assert asyncio.run(host.health("fake")).healthy
    engine.running = False  # the engine died
    health = asyncio.run(host.health("fake"))
    assert not health.healthy and health.status is ProviderStatus.STOPPED
    assert "engine_health_check_failed" in health.error
    asyncio.run(host.invoke("fake", "chat", b"hi"))
    assert engine.calls.count("start_engine:gpu") == 1 and engine.calls.count("start_engine:auto") == 1
    asyncio.run(host.stop("fake"))
    assert engine.calls[-1] == "stop_engine" and host.status("fake") is ProviderStatus.STOPPED


def test_a_plugin_that_is_not_loaded_is_unloaded() -> None:
    host = host_with(FakeEngine())
    host.manager.exclude("fake", "taken out for the test")
    assert host.status("fake") is ProviderStatus.UNLOADED
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(host.start("fake"))
    assert caught.value.code == "provider_load_failed" and "taken out for the test" in caught.value.message
    with pytest.raises(PluginKitError, match="no provider is named") as missing:
        host.status("nobody")
    assert missing.value.code == "provider_not_found"


def test_request_modes_are_checked_against_the_manifest_with_the_seeds_codes() -> None:
    host = host_with(FakeEngine())
    with pytest.raises(PluginKitError) as streaming:
        asyncio.run(host.invoke_stream("fake", "embed", b"x"))
    assert streaming.value.code == "streaming_not_supported"  # seed 4005
    with pytest.raises(PluginKitError) as bidi:
        asyncio.run(host.invoke_bidirectional("fake", "chat", []))
    assert bidi.value.code == "bidirectional_not_supported"  # seed 4006
    with pytest.raises(PluginKitError) as unknown:
        asyncio.run(host.invoke("fake", "vision", b"x"))
    assert unknown.value.code == "service_not_found" and "it offers chat, embed, slow, talk" in unknown.value.message


def test_a_manifest_that_declares_streaming_without_the_hook_is_an_error() -> None:
    class Unary(FakeEngine):
        provider_invoke_service_stream = None  # type: ignore[assignment]

    host = host_with(Unary())
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(host.invoke_stream("fake", "chat", b"x"))
    assert caught.value.code == "streaming_not_supported" and "does not implement" in caught.value.message


def test_streams_end_at_the_final_chunk_and_an_error_chunk_is_coded_by_its_words() -> None:
    host = host_with(FakeEngine())

    async def read(request: bytes) -> list[bytes]:
        return [chunk.data async for chunk in await host.invoke_stream("fake", "chat", request)]

    assert asyncio.run(read(b"a b")) == [b"a", b"b", b"[DONE]"]
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(read(b"a fail b"))
    # MapErrorToPluginCode's order: "engine not" (412) is tested before "not running" (503); the plugin is named,
    # and it is not fused (an error chunk is its answer)
    assert caught.value.code == "failed_precondition" and "'fake'" in caught.value.message
    assert host.manager.plugin("fake").state is PluginState.ACTIVE


def test_per_service_time_limits() -> None:
    host = host_with(FakeEngine())
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(host.invoke("fake", "embed", b"sleep"))
    assert caught.value.code == "timeout" and "1s" in caught.value.message  # the manifest's timeout: 1
    asyncio.run(host.invoke("fake", "chat", b"x"))
    asyncio.run(host.invoke("fake", "slow", b"x"))
    limits = {key.split("~")[1] for key in host.manager.runtime.plans if key.startswith("provider.invoke_service@")}
    assert limits == {"1.0", "60.0", "None"}  # 0 → 60 s unary; < 0 → none


def test_errors_keep_the_seeds_numbers() -> None:
    host = host_with(FakeEngine())
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(host.invoke("fake", "chat", b"unknown model"))
    assert caught.value.code == "model_not_found" and caught.value.message == "model not found: m9"
    assert caught.value.http_status == 404


def test_auth_info_reaches_the_service() -> None:
    host = host_with(FakeEngine())
    assert asyncio.run(host.invoke("fake", "chat", {"q": 1}, auth_info="key")) == b'answer to {"q":1} with key'


def test_pull_progress_reaches_the_callers_callback_and_a_failing_callback_stops_the_pull() -> None:
    host = host_with(FakeEngine())
    seen: list[int] = []
    final = asyncio.run(host.pull_model("fake", "m2", progress=lambda p: seen.append(p.completed)))
    assert seen == [25, 50, 100] and final.status == "success"
    assert asyncio.run(host.pull_model("fake", "m2")).status == "success"  # no callback: progress is dropped

    def refuse(progress: ProgressResponse) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(PluginKitError) as caught:
        asyncio.run(host.pull_model("fake", "m2", progress=refuse))
    assert "disk full" in caught.value.message

    async def stream() -> list[str]:
        return [step.status async for step in await host.pull_model_stream("fake", "m2")]

    assert asyncio.run(stream()) == ["pulling", "success"]


def test_bidirectional_calls_carry_the_connection_id_and_typed_messages() -> None:
    host = host_with(FakeEngine())

    async def main() -> list[BidiMessage]:
        sent = [BidiMessage(data=b"hello"), BidiMessage(message_type="ping"), BidiMessage(message_type="close"),
                BidiMessage(data=b"never read")]
        stream = await host.invoke_bidirectional("fake", "talk", sent, ws_conn_id="c1")
        return [message async for message in stream]

    replies = asyncio.run(main())
    assert [(m.message_type, m.data, m.metadata) for m in replies] == [
        ("text", b"HELLO", {"conn": "c1"}), ("pong", b"", {}),
    ]
    assert host._connections == {}  # the connection is forgotten once the call ends


def test_a_plugin_reaches_only_its_own_connections() -> None:
    host = host_with(FakeEngine())
    with pytest.raises(PluginKitError):
        host.connection("someone-else", "c1")


def test_the_supported_model_list_needs_no_plugin_call() -> None:
    host = host_with(FakeEngine())
    assert [m.id for m in host.support_model_list("fake")] == ["fake:chat:m1", "fake:chat:m2"]


def test_a_client_whose_messages_fail_ends_its_connection_without_blaming_the_plugin() -> None:
    host = host_with(FakeEngine())

    async def dropped() -> AsyncIterator[BidiMessage]:
        yield BidiMessage(data=b"hello")
        raise ConnectionResetError("the client went away")

    async def main() -> list[bytes]:
        async with await host.invoke_bidirectional("fake", "talk", dropped(), ws_conn_id="c2") as replies:
            return [reply.data async for reply in replies]

    assert asyncio.run(main()) == [b"HELLO"]
    assert host.manager.plugin("fake").state is PluginState.ACTIVE and host._connections == {}


def test_a_connection_is_released_when_its_stream_is_dropped_unclosed() -> None:
    host = host_with(FakeEngine())

    async def main() -> None:
        replies = await host.invoke_bidirectional("fake", "talk", [BidiMessage(data=b"a")], ws_conn_id="c3")
        async for _ in replies:
            break  # leaves without closing the stream

    asyncio.run(main())
    import gc  # deferred: only this test forces a collection

    gc.collect()
    assert "c3" not in host._connections


def test_a_start_is_not_shared_across_event_loops() -> None:
    engine = FakeEngine(healthy_after=10_000)
    host = host_with(engine)
    host.start_timeout = 5.0

    async def give_up() -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await host.start("fake")

    asyncio.run(give_up())  # that loop ends, cancelling its start
    engine.health_checks_to_pass = 1
    assert asyncio.run(host.invoke("fake", "chat", b"hi")).startswith(b"answer")


def test_keep_alive_watches_the_others_when_one_provider_fails() -> None:
    host = host_with(FakeEngine())
    other = FakeEngine()
    host.manager.register(other, "other")
    host.add("other", {**MANIFEST, "provider": {**MANIFEST["provider"], "name": "other"}})

    async def main() -> None:
        await host.start("fake")
        await host.start("other")
        host.manager.exclude("fake", "taken out for the test")
        other.running = False  # its engine died
        watcher = asyncio.ensure_future(host.keep_alive(interval=0.05))
        await asyncio.sleep(0.3)
        assert not watcher.done()
        watcher.cancel()

    asyncio.run(main())
    assert other.running and other.calls.count("start_engine:auto") == 2
