"""A native library as a pluginkit plugin (``pluginkit.native._plugin``): loaded by path or by the seed host's
discovery, registered with what it declares, called through ``invoke`` with the seed's JSON, its host callbacks
answered by the manager, its errors and refusals contained."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pluginkit import PluginManager, PluginState, abi, hookimpl
from pluginkit import types as t
from pluginkit.native._discovery import extension, go_platform
from pluginkit.native._plugin import load_native
from pluginkit.pipeline import Pipeline, Request
from pluginkit.scheduling import Credential

CANDIDATES = {"Model": "m", "Candidates": [{"ID": "other"}, {"ID": "native-pick"}]}


def manager_with(build: Callable[..., Path], *defines: str, name: str = "good") -> PluginManager:
    manager = PluginManager(entry_points=False, environ={})
    load_native(manager, None, paths={"native-sched": build(name, *defines)})
    return manager


def test_a_native_scheduler_answers_through_invoke_and_logs_through_the_host(
    build: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    manager = manager_with(build)
    info = manager.plugin("native-sched")
    assert info.state is PluginState.ACTIVE and info.capabilities == ("scheduler",)
    assert "scheduler_pick" in info.hooks and info.metadata.name == "native-test"
    with caplog.at_level(logging.INFO, logger="pluginkit.plugin.native-sched"):
        envelope = manager.invoke("scheduler.pick", CANDIDATES)
    assert envelope.ok and envelope.result.auth_id == "native-pick" and envelope.result.handled
    assert any(r.getMessage() == "native pick" for r in caplog.records)
    manager.shutdown()


def test_an_error_envelope_is_the_plugins_answer(build: Callable[..., Path]) -> None:
    manager = manager_with(build)
    envelope = manager.invoke("scheduler.pick", {**CANDIDATES, "Model": "refuse"})
    assert not envelope.ok and envelope.error is not None
    assert envelope.error.code == "scheduler_denied" and envelope.error.message == "no credential for you"
    assert manager.plugin("native-sched").state is PluginState.ACTIVE


def test_a_non_zero_return_code_is_an_error_carrying_the_raw_response(build: Callable[..., Path]) -> None:
    manager = manager_with(build)
    envelope = manager.invoke("scheduler.pick", {**CANDIDATES, "Model": "fail"})
    assert not envelope.ok and envelope.error is not None
    assert "plugin call scheduler.pick returned 3: boom" in envelope.error.message
    assert manager.plugin("native-sched").state is PluginState.ACTIVE


def test_a_refused_library_is_left_out_and_nothing_else_is_affected(
    build: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    manager = PluginManager(entry_points=False, environ={})
    loaded = load_native(manager, None, paths={
        "broken": build("init-fails", "INIT_RC=7"), "native-sched": build("good"),
    })
    assert [info.id for info in loaded] == ["native-sched"]
    assert any("cliproxy_plugin_init returned 7" in r.getMessage() for r in caplog.records)
    assert manager.invoke("scheduler.pick", CANDIDATES).ok


def test_libraries_are_found_under_the_plugins_directory(build: Callable[..., Path], tmp_path: Path) -> None:
    goos, goarch = go_platform()
    directory = tmp_path / goos / goarch
    directory.mkdir(parents=True)
    shutil.copy(build("good"), directory / f"found{extension(goos)}")
    manager = PluginManager(entry_points=False, environ={})
    assert [info.id for info in load_native(manager, tmp_path)] == ["found"]
    assert manager.invoke("scheduler.pick", CANDIDATES).result.auth_id == "native-pick"


def test_a_native_executor_streams_through_the_pipeline_with_host_stream_emit(build: Callable[..., Path]) -> None:
    """The seed's executors push their chunks from inside the call (``host.stream.emit``, then
    ``host.stream.close``): a native one streams through pluginkit's pipeline that way."""
    manager = PluginManager(entry_points=False, environ={})
    [info] = load_native(manager, None, paths={"native-exec": build("executor", "EXECUTOR")})
    assert info.capabilities == ("executor",) and "executor_execute_stream" in info.hooks
    pipeline = Pipeline(manager, credentials=[Credential("key-1", "native")], routes={"*": ["native"]})

    async def read() -> list[bytes]:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True})
        try:
            stream = pipeline.stream(Request(format="openai", model="m", body=body.encode(), stream=True))
            return [chunk async for chunk in stream]
        finally:
            await pipeline.aclose()

    assert asyncio.run(read()) == [b"one ", b"two ", b"three"]
    manager.shutdown()


def test_native_plugins_come_from_the_configuration(build: Callable[..., Path], tmp_path: Path) -> None:
    goos, goarch = go_platform()
    (tmp_path / goos / goarch).mkdir(parents=True)
    shutil.copy(build("good"), tmp_path / goos / goarch / f"found{extension(goos)}")
    config = {
        "pluginkit": {"native": {"enabled": True, "dir": str(tmp_path)}},
        "plugins": {"named": {"library": str(build("good")), "region": "eu", "priority": 5}},
    }
    manager = PluginManager(config, entry_points=False, environ={})
    assert sorted(info.id for info in load_native(manager)) == ["found", "named"]
    named = manager.plugin("named")
    assert named.state is PluginState.ACTIVE and manager.config.for_plugin("named").settings == {"region": "eu"}
    off = PluginManager({"pluginkit": {"native": {"dir": str(tmp_path)}}}, entry_points=False, environ={})
    assert load_native(off) == []  # enabled defaults to false, as in the seed host


def test_a_library_in_a_process_of_its_own_crashes_alone(build: Callable[..., Path]) -> None:
    """The seed host lacks this: a segfault in an in-process library ends the host. With ``isolation =
    "process"`` it ends the child; the plugin is fused (a crash), every other plugin goes on, and the host too."""
    good = build("good")
    config = {"plugins": {"isolated": {"library": str(good), "isolation": "process"}, "other": {"library": str(good)}}}
    manager = PluginManager(config, entry_points=False, environ={})
    assert sorted(info.id for info in load_native(manager)) == ["isolated", "other"]
    assert manager.call_plugin("isolated", "scheduler.pick", CANDIDATES).auth_id == "native-pick"  # through the child
    crashed = manager.invoke("scheduler.pick", {**CANDIDATES, "Model": "crash"})  # "isolated" runs first (by ID)
    assert not crashed.ok and crashed.error is not None and "its process died" in crashed.error.message
    assert "signal 11" in crashed.error.message
    assert manager.plugin("isolated").state is PluginState.FUSED
    assert manager.invoke("scheduler.pick", CANDIDATES).result.auth_id == "native-pick"  # "other" answers now
    manager.shutdown()


def test_host_callbacks_and_errors_cross_the_process_boundary(
    build: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = {"plugins": {"isolated": {"library": str(build("good")), "isolation": "process"}}}
    manager = PluginManager(config, entry_points=False, environ={})
    load_native(manager)
    with caplog.at_level(logging.INFO, logger="pluginkit.plugin.isolated"):
        assert manager.invoke("scheduler.pick", CANDIDATES).ok
    assert any(r.getMessage() == "native pick" for r in caplog.records)  # host.log, from the child
    failed = manager.invoke("scheduler.pick", {**CANDIDATES, "Model": "fail"})
    assert failed.error is not None and "returned 3: boom" in failed.error.message
    refused = PluginManager(
        {"plugins": {"bad": {"library": str(build("abi-2", "PLUGIN_ABI=2")), "isolation": "process"}}},
        entry_points=False, environ={},
    )
    assert load_native(refused) == []
    assert "plugin ABI version 2 is not supported" in refused.plugin("bad").reason
    manager.shutdown()


#: The capability flags of the seed ABI's families (pluginkit's own — tools, sessions, messages, providers — are
#: Python families).
SEED_FLAGS = sorted({
    m.capability for m in abi.METHODS.values()
    if m.capability and m.family not in ("tool", "session", "message", "provider")
})


@pytest.mark.parametrize("flag", SEED_FLAGS)
def test_every_capability_family_of_the_seed_abi_is_served_by_a_native_library(
    build: Callable[..., Path], flag: str
) -> None:
    """A library declaring one capability gets exactly that family's hooks, and each of them reaches it: the
    params go out as the seed's JSON and its (empty) result comes back typed."""
    manager = PluginManager(entry_points=False, environ={})
    [info] = load_native(manager, None, paths={"family": build(f"family-{flag}", f'CAPABILITY="{flag}"')})
    assert info.state is PluginState.ACTIVE, info.reason
    methods = abi.METHODS.capability_methods(flag)
    assert {m.hook_name for m in methods} <= set(info.hooks)
    for method in methods:
        answer = manager.call_plugin("family", method.name, method.params())
        assert isinstance(answer, method.result), method.name
    manager.shutdown()


def test_a_reload_reconfigures_the_loaded_library_with_the_seeds_config_yaml(build: Callable[..., Path]) -> None:
    path = str(build("good"))
    manager = PluginManager({"plugins": {"native": {"library": path}}}, entry_points=False, environ={})
    assert [info.id for info in load_native(manager)] == ["native"]
    manager.reconfigure({"plugins": {"native": {"library": path, "region": "eu", "priority": 3}}})
    assert manager.plugin("native").state is PluginState.ACTIVE and manager.plugin("native").priority == 3
    plugin = manager.runtime.record("native").obj
    sent = json.loads(plugin.library.call("test.config"))
    # the plugin's own settings, then the host keys the seed host adds (runtimeConfigYAML)
    assert base64.b64decode(sent["config_yaml"]).decode() == "region: eu\nenabled: true\npriority: 3\n"
    manager.shutdown()


def test_an_isolated_library_whose_crash_does_not_fuse_is_started_again(build: Callable[..., Path]) -> None:
    """By policy (``[pluginkit.fuse]``): a method whose crashes do not fuse gets a new child on its next call."""
    config = {
        "pluginkit": {"fuse": {"scheduler.pick": False}},
        "plugins": {"isolated": {"library": str(build("good")), "isolation": "process"}},
    }
    manager = PluginManager(config, entry_points=False, environ={})
    load_native(manager)
    assert not manager.invoke("scheduler.pick", {**CANDIDATES, "Model": "crash"}).ok
    assert manager.plugin("isolated").state is PluginState.ACTIVE
    assert manager.invoke("scheduler.pick", CANDIDATES).result.auth_id == "native-pick"
    assert manager.runtime.record("isolated").obj.library.restarts == 1
    manager.shutdown()


def test_native_and_python_plugins_are_ordered_and_combined_by_the_same_rules(build: Callable[..., Path]) -> None:
    class PythonScheduler:
        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(capabilities=t.Capabilities(scheduler=True))

        @hookimpl
        def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
            return t.SchedulerPickResult(auth_id="other", handled=True)

    for native_priority, expected in ((5, "native-pick"), (-5, "other")):
        config = {"plugins": {"native": {"library": str(build("good")), "priority": native_priority}}}
        manager = PluginManager(config, entry_points=False, environ={})
        manager.register(PythonScheduler(), "python")
        load_native(manager)
        assert manager.invoke("scheduler.pick", CANDIDATES).result.auth_id == expected  # priority decides
        manager.shutdown()


def test_a_library_in_a_process_of_its_own_that_hangs_is_stopped_on_time(build: Callable[..., Path]) -> None:
    config = {
        "pluginkit": {"timeouts": {"scheduler.pick": 0.5}},
        "plugins": {"isolated": {"library": str(build("good")), "isolation": "process"}},
    }
    manager = PluginManager(config, entry_points=False, environ={})
    load_native(manager)
    started = time.monotonic()
    hung = manager.invoke("scheduler.pick", {**CANDIDATES, "Model": "hang"})
    assert not hung.ok and hung.error is not None and hung.error.code == "timeout"
    assert time.monotonic() - started < 3
    assert manager.invoke("scheduler.pick", CANDIDATES).result.auth_id == "native-pick"  # a new child answers
    manager.shutdown()


def test_a_library_answering_garbage_to_register_is_left_out_alone(build: Callable[..., Path]) -> None:
    for isolation in ("", "process"):
        config = {"plugins": {
            "a-bad": {"library": str(build("bad-register", "BAD_REGISTER")), "isolation": isolation},
            "b-good": {"library": str(build("good"))},
        }}
        manager = PluginManager(config, entry_points=False, environ={})
        assert [info.id for info in load_native(manager)] == ["b-good"]
        assert "not a Registration" in manager.plugin("a-bad").reason
        manager.shutdown()
