"""The ``local-engine`` example provider (``example_plugins/provider-local-engine``), pip-installed and driven
through :class:`ProviderHost`, with its engine as the real separate process it is: lazy start, the engine's
lifecycle and health, model pulls with progress, model management, the three invoke modes and the modes its
manifest refuses, and an engine that never outlives its host, even one killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginKitError, PluginManager, PluginState
from pluginkit.providers import BidiMessage, ProgressResponse, ProviderHost, ProviderStatus
from tests.helpers import ROOT, openai_stream_completion

PLUGIN = "local-engine"
#: Each model file: four 64 KiB chunks, so a pull reports four steps before ``success``.
SIZE = 256 * 1024
MODELS = ("tiny-chat", "tiny-chat-mini", "tiny-embed")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never through a proxy


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, str]:
    """The plugin's settings: a model store that does not exist yet, and a source holding the three models."""
    source = tmp_path / "source"
    source.mkdir()
    for index, name in enumerate(MODELS):
        (source / f"{name}.bin").write_bytes(bytes((index + i) % 256 for i in range(256)) * (SIZE // 256))
    return {"models_dir": str(tmp_path / "store"), "source_dir": str(source)}


@contextlib.contextmanager
def provider_host(site: Path, settings: dict[str, str]) -> Iterator[ProviderHost]:
    manager = PluginManager(
        {"plugins": {PLUGIN: settings}}, search_path=[str(site)], cache=False,
        environ={"PLUGINKIT_LOAD_PLUGINS": PLUGIN},
    )
    host = ProviderHost(manager)  # before load(): the host reads the manifests before any plugin is imported
    manager.load()
    try:
        info = manager.plugin(PLUGIN)
        assert info.state is PluginState.ACTIVE, info.reason
        yield host
    finally:
        manager.shutdown()  # plugin_shutdown stops the engine


@pytest.fixture
def host(on_path: Path, settings: dict[str, str]) -> Iterator[ProviderHost]:
    with provider_host(on_path, settings) as host:
        yield host


def chat(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **fields}


async def engine_url(host: ProviderHost) -> str:
    config = await host.engine_config(PLUGIN)
    return f"{config.scheme}://{config.host}"


def get(url: str) -> Any:
    with _DIRECT.open(url, timeout=5) as response:
        return json.loads(response.read())


async def engine_pid(host: ProviderHost) -> int:
    pid: int = get(await engine_url(host) + "/health")["pid"]
    return pid


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def pulling_steps_rise_to_total(steps: list[ProgressResponse]) -> None:
    pulling = [step for step in steps if step.status == "pulling"]
    completed = [step.completed for step in pulling]
    assert len(pulling) == 4 and all(step.total == SIZE for step in pulling), steps
    assert all(a < b for a, b in itertools.pairwise(completed)) and completed[-1] == SIZE, completed
    assert steps[-1].status == "success" and steps[-1].completed == SIZE and steps[:-1] == pulling


async def code_of(awaitable: Any) -> str:
    with pytest.raises(PluginKitError) as info:
        await awaitable
    return info.value.code


# -- discovery and lazy start -----------------------------------------------------------------------------------------
def test_the_provider_starts_on_first_use_with_its_engine_a_process_of_its_own(host: ProviderHost) -> None:
    async def main() -> None:
        provider = host.provider(PLUGIN)
        assert (provider.plugin_id, provider.type, provider.status) == (PLUGIN, "local", ProviderStatus.STOPPED)
        assert provider.source.endswith("pluginkit_local_engine/plugin.yaml")
        models = {m.id: m.is_default for m in host.support_model_list(PLUGIN)}
        assert models["local-engine:chat:tiny-chat"] == "true" and models["local-engine:embed:tiny-embed"] == "true"
        # The first call starts the engine; the engine then refuses a model that is not pulled.
        assert await code_of(host.invoke(PLUGIN, "chat", chat("hello"))) == "model_not_found"
        assert host.status(PLUGIN) is ProviderStatus.RUNNING

        config = await host.engine_config(PLUGIN)
        hostname, port = config.host.split(":")
        assert (config.scheme, hostname, config.origin) == ("http", "127.0.0.1", "127.0.0.1") and int(port) > 0
        pid = await engine_pid(host)
        assert pid != os.getpid() and alive(pid)
        if Path("/proc").is_dir():
            status = Path(f"/proc/{pid}/status").read_text()
            assert f"PPid:\t{os.getpid()}\n" in status  # the host started it
            assert b"engine.py" in Path(f"/proc/{pid}/cmdline").read_bytes()

    asyncio.run(main())


def test_a_dead_engine_is_found_by_the_health_check_and_started_again_on_next_use(host: ProviderHost) -> None:
    async def main() -> None:
        await host.start(PLUGIN)
        assert (await host.health(PLUGIN)).healthy
        pid = await engine_pid(host)
        os.kill(pid, signal.SIGKILL)
        assert gone_within(pid, 5)

        health = await host.health(PLUGIN)
        assert not health.healthy and health.status is ProviderStatus.STOPPED
        assert health.error.startswith("engine_health_check_failed")
        assert host.status(PLUGIN) is ProviderStatus.STOPPED

        assert await code_of(host.invoke(PLUGIN, "chat", chat("again"))) == "model_not_found"  # the engine answers
        assert host.status(PLUGIN) is ProviderStatus.RUNNING
        restarted = await engine_pid(host)
        assert restarted != pid and alive(restarted)

    asyncio.run(main())


# -- models -----------------------------------------------------------------------------------------------------------
def test_a_pull_reports_its_progress_as_it_copies_then_chat_answers(
    host: ProviderHost, settings: dict[str, str]
) -> None:
    async def main() -> None:
        steps: list[ProgressResponse] = []
        final = await host.pull_model(PLUGIN, "tiny-chat", progress=steps.append)
        source = Path(settings["source_dir"], "tiny-chat.bin").read_bytes()
        assert final == steps[-1]
        assert (final.status, final.completed, final.total) == ("success", SIZE, SIZE)
        assert final.digest == "sha256:" + hashlib.sha256(source).hexdigest()
        pulling_steps_rise_to_total(steps)
        assert Path(settings["models_dir"], "tiny-chat.bin").read_bytes() == source
        assert not list(Path(settings["models_dir"]).glob(".*.part"))

        answer = json.loads(await host.invoke(PLUGIN, "chat", chat("hello   there")))
        assert answer["object"] == "chat.completion" and answer["model"] == "tiny-chat"  # the default model
        assert answer["choices"][0]["message"] == {"role": "assistant", "content": "tiny-chat heard: hello there"}
        again = json.loads(await host.invoke(PLUGIN, "chat", chat("hello there", stream=True)))  # unary all the same
        assert again["choices"] == answer["choices"] and again["id"] == answer["id"]

        assert await code_of(host.pull_model(PLUGIN, "no-such-model")) == "model_not_found"
        assert await code_of(host.pull_model(PLUGIN, "../escape")) == "invalid_request"

    asyncio.run(main())


def test_pull_model_stream_yields_the_progress_then_embed_answers(host: ProviderHost) -> None:
    async def main() -> None:
        async with await host.pull_model_stream(PLUGIN, "tiny-embed") as stream:
            steps = [step async for step in stream]
        pulling_steps_rise_to_total(steps)

        def vectors(answer: bytes) -> list[list[float]]:
            body = json.loads(answer)
            assert body["object"] == "list" and body["model"] == "tiny-embed"
            return [item["embedding"] for item in body["data"]]

        first, second = vectors(await host.invoke(PLUGIN, "embed", {"input": ["one", "two"]}))
        assert len(first) == 8 and abs(sum(v * v for v in first) - 1) < 1e-4 and first != second
        assert vectors(await host.invoke(PLUGIN, "embed", {"input": "one"})) == [first]  # deterministic

    asyncio.run(main())


def test_models_are_listed_loaded_unloaded_and_deleted(host: ProviderHost, settings: dict[str, str]) -> None:
    async def main() -> None:
        assert await host.list_models(PLUGIN) == []
        for name in ("tiny-chat", "tiny-chat-mini"):
            await host.pull_model(PLUGIN, name)
        listed = await host.list_models(PLUGIN)
        assert [(m.name, m.size) for m in listed] == [("tiny-chat", SIZE), ("tiny-chat-mini", SIZE)]
        assert all(m.digest.startswith("sha256:") and m.modified_at is not None for m in listed)
        assert await host.running_models(PLUGIN) == []

        await host.load_model(PLUGIN, "tiny-chat-mini")
        assert [m.name for m in await host.running_models(PLUGIN)] == ["tiny-chat-mini"]
        await host.invoke(PLUGIN, "chat", chat("hi", model="tiny-chat"))  # using a model loads it
        assert [m.name for m in await host.running_models(PLUGIN)] == ["tiny-chat", "tiny-chat-mini"]
        await host.unload_model(PLUGIN, "tiny-chat", "tiny-chat-mini")
        assert await host.running_models(PLUGIN) == []
        assert await code_of(host.load_model(PLUGIN, "tiny-embed")) == "model_not_found"  # not pulled

        await host.delete_model(PLUGIN, "tiny-chat")
        assert [m.name for m in await host.list_models(PLUGIN)] == ["tiny-chat-mini"]
        assert not Path(settings["models_dir"], "tiny-chat.bin").exists()
        assert await code_of(host.delete_model(PLUGIN, "tiny-chat")) == "model_not_found"
        assert await code_of(host.invoke(PLUGIN, "chat", chat("hi"))) == "model_not_found"

    asyncio.run(main())


# -- services ---------------------------------------------------------------------------------------------------------
def test_chat_streams_openai_events_and_the_done_event_is_final(host: ProviderHost) -> None:
    async def main() -> None:
        await host.pull_model(PLUGIN, "tiny-chat")
        async with await host.invoke_stream(PLUGIN, "chat", chat("stream me")) as stream:
            chunks = [chunk async for chunk in stream]
        assert [chunk.is_final for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
        assert chunks[-1].data == b"data: [DONE]\n\n"
        assert all(chunk.metadata["content-type"] == "text/event-stream" for chunk in chunks)
        streamed = openai_stream_completion([chunk.data for chunk in chunks])  # checks the framing as a client does
        assert (streamed["role"], streamed["content"]) == ("assistant", "tiny-chat heard: stream me")
        assert streamed["finish_reason"] == "stop" and streamed["models"] == {"tiny-chat"}

        unary = json.loads(await host.invoke(PLUGIN, "chat", chat("stream me")))
        assert unary["choices"][0]["message"]["content"] == streamed["content"]

    asyncio.run(main())


def test_chat_ws_answers_each_text_message_pongs_a_ping_and_stops_at_close(host: ProviderHost) -> None:
    async def main() -> None:
        for name in ("tiny-chat", "tiny-chat-mini"):
            await host.pull_model(PLUGIN, name)
        messages = [
            BidiMessage(data=b"plain words", message_type="text"),
            BidiMessage(data=json.dumps(chat("as json", model="tiny-chat-mini")).encode(), message_type="text"),
            BidiMessage(data=b"are you there", message_type="ping"),
            BidiMessage(message_type="close"),
            BidiMessage(data=b"never read", message_type="text"),
        ]
        async with await host.invoke_bidirectional(PLUGIN, "chat-ws", messages, ws_conn_id="conn-7") as stream:
            answers = [answer async for answer in stream]
        assert [a.message_type for a in answers] == ["text", "text", "pong"]
        assert all(a.metadata["ws_conn_id"] == "conn-7" for a in answers)
        contents = [json.loads(a.data)["choices"][0]["message"]["content"] for a in answers[:2]]
        assert contents == ["tiny-chat heard: plain words", "tiny-chat-mini heard: as json"]
        assert answers[2].data == b"are you there"

    asyncio.run(main())


def test_the_modes_the_manifest_does_not_offer_are_refused_without_starting_the_engine(host: ProviderHost) -> None:
    async def main() -> None:
        assert await code_of(host.invoke_stream(PLUGIN, "embed", {"input": "x"})) == "streaming_not_supported"
        assert await code_of(host.invoke_bidirectional(PLUGIN, "chat", [])) == "bidirectional_not_supported"
        assert await code_of(host.invoke(PLUGIN, "rerank", {})) == "service_not_found"
        assert host.status(PLUGIN) is ProviderStatus.STOPPED
        assert await code_of(host.invoke(PLUGIN, "chat", b"not json")) == "service_invalid_request"

    asyncio.run(main())


# -- the engine's lifecycle -------------------------------------------------------------------------------------------
def test_check_install_init_start_version_config_upgrade_and_stop(host: ProviderHost, settings: dict[str, str]) -> None:
    store = Path(settings["models_dir"])

    async def installed() -> bool:
        answer = await host.manager.acall_plugin(PLUGIN, "provider.check_engine")
        return bool(answer.installed)

    async def main() -> None:
        assert not await installed()  # the store does not exist yet
        assert await code_of(host.start(PLUGIN, mode="turbo")) == "invalid_request"  # ProviderError(2, ...)
        assert host.status(PLUGIN) is ProviderStatus.STOPPED
        assert await installed() and store.is_dir()  # the failed start installed it all the same

        stale = store / ".tiny-chat.123.part"
        stale.write_bytes(b"half a model")
        await host.start(PLUGIN, mode="cpu")
        assert not stale.exists()  # init_env cleared what a pull cut short left
        assert get(await engine_url(host) + "/health")["mode"] == "cpu"

        config = await host.engine_config(PLUGIN)
        assert (config.device_type, config.recommend_model, config.exec_file) == ("cpu", "tiny-chat", "engine.py")
        assert Path(config.exec_path, config.exec_file).is_file() and config.download_path == str(store)
        assert config.download_url == Path(settings["source_dir"]).as_uri()
        assert await host.engine_version(PLUGIN) == "1.0.0"

        pid = await engine_pid(host)
        await host.upgrade_engine(PLUGIN)  # restarts the engine: the installed script runs
        upgraded = await engine_pid(host)
        assert upgraded != pid and gone_within(pid, 5) and (await host.health(PLUGIN)).healthy

        await host.stop(PLUGIN)
        assert host.status(PLUGIN) is ProviderStatus.STOPPED and gone_within(upgraded, 5)
        assert not (await host.health(PLUGIN)).healthy

    asyncio.run(main())


def test_the_operate_status_is_kept_and_follows_the_engine(host: ProviderHost) -> None:
    async def main() -> None:
        assert await host.operate_status(PLUGIN) == 0
        await host.start(PLUGIN)
        assert await host.operate_status(PLUGIN) == 1
        await host.set_operate_status(PLUGIN, 2)
        assert await host.operate_status(PLUGIN) == 2
        await host.stop(PLUGIN)
        assert await host.operate_status(PLUGIN) == 0

    asyncio.run(main())


def test_the_manager_shutting_down_stops_the_engine(on_path: Path, settings: dict[str, str]) -> None:
    with provider_host(on_path, settings) as host:

        async def start() -> int:
            await host.start(PLUGIN)
            return await engine_pid(host)

        pid = asyncio.run(start())
        assert alive(pid)
    assert gone_within(pid, 5)  # plugin_shutdown, without host.close()


HOST_SCRIPT = """
import asyncio, json, sys, urllib.request
from pluginkit import PluginManager
from pluginkit.providers import ProviderHost

async def main() -> None:
    site, settings = sys.argv[1], json.loads(sys.argv[2])
    manager = PluginManager({"plugins": {"local-engine": settings}}, search_path=[site], cache=False,
                            environ={"PLUGINKIT_LOAD_PLUGINS": "local-engine"})
    host = ProviderHost(manager)
    manager.load()
    await host.start("local-engine")
    config = await host.engine_config("local-engine")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://{config.host}/health", timeout=5) as response:
        print(json.loads(response.read())["pid"], flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_the_engine_never_outlives_its_host_even_one_killed_with_sigkill(
    plugin_site: Path, settings: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "host.py"
    script.write_text(HOST_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_site), str(ROOT)])}
    with (tmp_path / "host.err").open("wb") as errors, subprocess.Popen(
        [sys.executable, str(script), str(plugin_site), json.dumps(settings)], env=env, stdout=subprocess.PIPE,
        stderr=errors,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip().isdigit(), (tmp_path / "host.err").read_text()
        pid = int(line)
        assert pid != process.pid and alive(pid)
        process.kill()  # SIGKILL: the host runs no cleanup at all
        process.wait()
    assert gone_within(pid, 5), f"engine {pid} outlived its host"
