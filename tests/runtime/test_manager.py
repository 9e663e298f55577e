"""The manager against real, pip-installed plugin distributions."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginManager, PluginState, current_request_id, hookimpl
from pluginkit import types as t

#: The test-fixture plugins (tests/plugins) plus the scheduler example; other example plugins are installed too.
ALL = {"good", "broken-import", "foreign", "raises", "hangs", "dup", "scheduler"}


def manager(site: Path, config: dict | None = None, **kwargs: object) -> PluginManager:
    return PluginManager(config, search_path=[str(site)], cache=False, environ={}, **kwargs).load()


def test_listing_does_not_import_plugins(plugin_site: Path) -> None:
    code = (
        "import sys, pluginkit; m = pluginkit.PluginManager(search_path=[sys.argv[1]], cache=False);"
        "ids = sorted(p.id for p in m.installed().plugins);"
        "print(' '.join(ids)); print([n for n in sys.modules if n.startswith(('pk_', 'pluginkit_'))])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(plugin_site)], capture_output=True, text=True, check=True)
    ids, imported = out.stdout.strip().splitlines()
    assert set(ids.split()) >= ALL
    assert imported == "[]"


def test_scan_matches_importlib_metadata(plugin_site: Path) -> None:
    import importlib_metadata

    from pluginkit.runtime._discovery import scan

    ours = {(p.id, p.value) for p in scan([str(plugin_site)]).plugins}
    theirs = {
        (ep.name, ep.value)
        for dist in importlib_metadata.distributions(path=[str(plugin_site)])
        for ep in dist.entry_points.select(group="pluginkit")
    }
    assert ours <= theirs and {name for name, _ in theirs} == {name for name, _ in ours}


def test_load_isolates_every_failure(on_path: Path) -> None:
    m = manager(on_path)
    states = {p.id: p for p in m.plugins()}
    assert set(states) >= ALL
    assert states["good"].state is PluginState.ACTIVE
    assert states["good"].distribution == "pk_good" and states["good"].version == "1.0.0"
    assert states["good"].import_seconds > 0
    assert states["broken-import"].state is PluginState.FAILED
    assert "ImportError" in states["broken-import"].reason
    foreign = states["foreign"]
    assert foreign.state is PluginState.FAILED and foreign.reason.startswith("abi_mismatch")
    assert "'foreign'" in foreign.reason and "ABI 2.1" in foreign.reason and "speaks ABI 1" in foreign.reason
    assert states["dup"].distribution == "pk_dup_a"
    assert [(c.id, c.winner.distribution, c.loser.distribution) for c in m.conflicts] == [
        ("dup", "pk_dup_a", "pk_dup_b")
    ]
    # Everything that loaded answers.
    assert m.call("response.normalize_after", {"Body": "eA=="}).body == b"x|dup-a"


def test_registration_metadata_and_capability_checks(on_path: Path) -> None:
    m = manager(on_path)
    good = m.plugin("good")
    assert good.metadata.name == "good" and [f.name for f in good.metadata.config_fields] == ["suffix", "mode"]
    assert set(good.capabilities) == {"request_normalizer", "request_translator", "executor"}
    assert any("executor_execute" in h for h in good.hooks)
    dup = m.plugin("dup")  # no plugin.register: metadata from the distribution, capabilities from its hooks
    assert dup.metadata.name == "pk_dup_a" and dup.metadata.github_repository == "https://github.com/example/pk-dup-a"
    assert dup.capabilities == ("response_after_translator",)


def test_declared_config_fields_are_checked(on_path: Path) -> None:
    m = manager(on_path, {"plugins": {"good": {"mode": "medium"}}})
    good = m.plugin("good")
    assert good.state is PluginState.FAILED
    assert "invalid_config" in good.reason and "'mode'" in good.reason and "'fast'" in good.reason
    m = manager(on_path, {"plugins": {"good": {"suffix": 3}}})
    assert "must be a string" in m.plugin("good").reason


def test_plugin_settings_reach_hooks_and_reconfigure_changes_them(on_path: Path) -> None:
    m = manager(on_path, {"plugins": {"good": {"suffix": "|one"}}})
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x|one"
    m.reconfigure({"plugins": {"good": {"suffix": "|two", "priority": 5}}})
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x|two"
    assert m.plugin("good").priority == 5


def test_unexpected_exception_fuses_and_the_next_plugin_answers(
    on_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    m = manager(on_path, {"plugins": {"raises": {"priority": 10}}})
    answer = m.invoke("request.translate", {"Body": "eA=="})
    assert answer.ok and answer.result.body == b"translated:x"
    raises = m.plugin("raises")
    assert raises.state is PluginState.FUSED and "RuntimeError in request.translate" in raises.reason
    assert "plugin 'raises' failed in request.translate" in caplog.text and "bug in the plugin" in caplog.text
    # Fused for the life of the manager: it is out of every hook, including scheduler.pick.
    assert m.invoke("scheduler.pick", {}).result.auth_id == ""


def test_plugin_error_is_the_envelope_error_and_does_not_fuse(on_path: Path) -> None:
    m = manager(on_path)
    envelope = m.invoke("scheduler.pick", {"Candidates": [{"ID": "auth-1"}]})
    assert envelope.to_wire() == {
        "ok": False,
        "error": {"code": "scheduler_denied", "message": "no credentials for you", "http_status": 403},
    }
    assert m.plugin("raises").state is PluginState.ACTIVE


def test_only_the_highest_priority_scheduler_is_asked(on_path: Path) -> None:
    m = manager(on_path, {"plugins": {"scheduler": {"priority": 10, "auth_id": "auth-2"}}})
    result = m.call("scheduler.pick", {"Candidates": [{"ID": "auth-1"}, {"ID": "auth-2"}]})
    assert result == t.SchedulerPickResult(auth_id="auth-2", handled=True)
    m = manager(on_path, {"plugins": {"scheduler": {"priority": 10, "deny": True}}})
    denied = m.invoke("scheduler.pick", {})
    assert denied.error is not None and denied.error.message == "denied by scheduler config"


def test_a_hanging_async_hook_times_out_retryably(on_path: Path) -> None:
    m = manager(on_path, {"pluginkit": {"timeouts": {"auth.login.start": 0.2, "response.normalize_before": 0.2}}})
    envelope = m.invoke("auth.login.start", {"Provider": "SlowAuth"})
    assert envelope.error is not None
    assert (envelope.error.code, envelope.error.retryable) == ("timeout", True)
    assert "'hangs'" in envelope.error.message
    # In a chain a timeout skips the plugin and keeps the payload; the manager keeps serving.
    assert m.call("response.normalize_before", {"Body": "eA=="}).body == b"x"
    assert m.plugin("hangs").state is PluginState.ACTIVE

    async def run() -> None:
        envelope = await m.ainvoke("auth.login.start", {"Provider": "slowauth"})
        assert envelope.error is not None and envelope.error.code == "timeout"

    asyncio.run(run())


def test_executor_owner_is_chosen_by_provider_identifier(on_path: Path) -> None:
    m = manager(on_path)
    assert m.call("executor.execute", {"AuthProvider": "local", "Payload": "aGk="}).payload == b"echo:hi"
    missing = m.invoke("executor.execute", {"AuthProvider": "nobody"})
    assert missing.error is not None and missing.error.code == "not_handled" and "'nobody'" in missing.error.message


def test_environment_selects_plugins(on_path: Path) -> None:
    def active(environ: dict[str, str]) -> set[str]:
        m = PluginManager(search_path=[str(on_path)], cache=False, environ=environ).load()
        return {p.id for p in m.plugins() if p.state is PluginState.ACTIVE}

    assert active({"PLUGINKIT_LOAD_PLUGINS": ""}) == set()
    assert active({"PLUGINKIT_LOAD_PLUGINS": "good,scheduler"}) == {"good", "scheduler"}
    assert "good" not in active({"PLUGINKIT_DISABLE_PLUGINS": "good"})
    m = PluginManager(search_path=[str(on_path)], cache=False, environ={"PLUGINKIT_LOAD_PLUGINS": "good"}).load()
    assert m.plugin("scheduler").state is PluginState.DISABLED
    assert "PLUGINKIT_LOAD_PLUGINS" in m.plugin("scheduler").reason


def test_config_file(on_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "pluginkit.toml"
    config.write_text('[pluginkit]\ndisable = ["dup"]\n\n[plugins.good]\npriority = 7\nsuffix = "|file"\n')
    m = PluginManager(config, search_path=[str(on_path)], cache=False, environ={}).load()
    assert m.plugin("good").priority == 7
    assert m.plugin("dup").state is PluginState.DISABLED
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x|file"


def test_order_is_priority_then_id_whatever_the_install_order(on_path: Path) -> None:
    m = manager(on_path, {"plugins": {"scheduler": {"priority": 3}, "hangs": {"priority": 3}}})
    order = [p.id for p in m.plugins()]
    assert order[:2] == ["hangs", "scheduler"]
    assert order[2:] == sorted(order[2:])


def test_plugin_logs_carry_request_id_and_hide_secrets(on_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    m = manager(on_path)
    caplog.set_level(logging.INFO, logger="pluginkit.plugin.good")

    async def run() -> None:
        current_request_id.set("req-42")
        await m.acall("executor.execute", {"AuthProvider": "local"})

    asyncio.run(run())
    record = next(r for r in caplog.records if r.name == "pluginkit.plugin.good")
    assert record.request_id == "req-42" and record.plugin_id == "good"
    assert "sk-abcdefghijklmnop" not in record.getMessage() and "[redacted]" in record.getMessage()
    assert record.fields == {"token": "[redacted]"}


def test_many_threads_and_tasks_at_once(on_path: Path) -> None:
    m = manager(on_path)
    errors: list[object] = []

    def worker() -> None:
        for _ in range(100):
            result = m.call("request.normalize", {"Body": "eA=="})
            if result.body != b"x|good":
                errors.append(result)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()

    async def tasks() -> list[object]:
        return await asyncio.gather(*(m.ainvoke("request.translate", {"Body": "eA=="}) for _ in range(200)))

    answers = asyncio.run(tasks())
    for thread in threads:
        thread.join()
    assert not errors
    assert all(a.ok and a.result.body == b"translated:x" for a in answers)  # type: ignore[attr-defined]


def test_shutdown_waits_calls_plugin_shutdown_and_refuses_new_calls(on_path: Path) -> None:
    import pluginkit

    calls: list[str] = []

    class Closer:
        @pluginkit.hookimpl
        def plugin_shutdown(self) -> None:
            calls.append("shutdown")

    with manager(on_path) as m:
        m.register(Closer(), "closer")
    assert calls == ["shutdown"]
    refused = m.invoke("request.normalize", {})
    assert refused.error is not None and refused.error.code == "plugin_unavailable" and refused.error.retryable
    assert m.plugin("good").state is PluginState.STOPPED


def test_cli_list_doctor_invoke(on_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(on_path), "PLUGINKIT_NO_CACHE": "1"}
    env.pop("PLUGINKIT_LOAD_PLUGINS", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pluginkit.cli", *args], capture_output=True, text=True, env=env)

    listed = run("list", "--json")
    assert listed.returncode == 0, listed.stderr
    states = {p["id"]: p["state"] for p in json.loads(listed.stdout)}
    assert states["good"] == "active" and states["broken-import"] == "failed" and states["foreign"] == "failed"
    doctor = run("doctor")
    assert doctor.returncode == 1
    assert "conflict: plugin ID 'dup'" in doctor.stdout and "ABI mismatch: foreign" in doctor.stdout
    assert "import time" in doctor.stdout
    assert "failed: seed-capless: invalid_registration: plugin.register declared no capability" in doctor.stdout
    invoked = run("invoke", "request.normalize", '{"Body": "eA=="}')
    assert invoked.returncode == 0 and json.loads(invoked.stdout)["result"]["Body"] == "eHxnb29k"
    bad = run("invoke", "request.normalize", "{oops")
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["code"] == "invalid_request"
    missing = run("--config", "/no/such/file.toml", "list")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "invalid_config" in missing.stderr


class Configurable:
    def __init__(self) -> None:
        self.configs: list[dict[str, Any]] = []

    @hookimpl
    def plugin_register(self, params: t.LifecycleRequest) -> t.Registration:
        self.configs.append(params.config)
        return t.Registration(
            metadata=t.PluginMetadata(name="configurable", version="1"),
            capabilities=t.Capabilities(request_normalizer=True),
        )

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=b"normalized")


def test_a_plugin_registered_from_code_comes_back_when_reconfigure_enables_it() -> None:
    """Issue 13, item 7: a plugin registered from code must not stay disabled when re-enabled by reconfigure; it
    gets its settings as the seed host sends them (YAML, with enabled and priority)."""
    plugin = Configurable()
    disabled = {"plugins": {"c": {"enabled": False, "region": "eu"}}}
    enabled = {"plugins": {"c": {"enabled": True, "priority": 3, "region": "eu"}}}
    with PluginManager(disabled, entry_points=False, environ={}) as manager:
        assert manager.register(plugin, "c").state is PluginState.DISABLED
        manager.reconfigure(enabled)
        assert manager.plugin("c").state is PluginState.ACTIVE
        assert manager.call("request.normalize", {}).body == b"normalized"
        assert plugin.configs == [{"region": "eu", "enabled": True, "priority": 3}]
        manager.reconfigure(disabled)
        assert manager.plugin("c").state is PluginState.DISABLED
        manager.reconfigure(enabled)
        assert manager.plugin("c").state is PluginState.ACTIVE
