"""What a careless plugin author is told (issue 15): misspelled hooks, undeclared capabilities, the reason a hook
failed, and an installed plugin not configured yet."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pluginkit import PluginManager, PluginState, hookimpl
from pluginkit import types as t


class Misspelled:
    @hookimpl
    def scheduler_pik(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
        return t.SchedulerPickResult()


class Undeclared:
    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(metadata=t.PluginMetadata(name="u", version="1"),
                              capabilities=t.Capabilities(request_normalizer=True))

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=params.body)

    @hookimpl
    def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
        return t.SchedulerPickResult()


def test_a_misspelled_hook_is_a_warning_with_a_guess(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pluginkit"), PluginManager(entry_points=False, environ={}) as m:
        info = m.register(Misspelled(), "typo")
    assert info.state is PluginState.ACTIVE
    assert info.problems == ("implements hooks the ABI does not define: scheduler_pik (did you mean scheduler_pick?)",)
    assert "did you mean scheduler_pick?" in caplog.text  # said at load, not only by doctor


def test_an_undeclared_capability_says_what_to_declare() -> None:
    with PluginManager(entry_points=False, environ={}) as m:
        info = m.register(Undeclared(), "undeclared")
    assert any("Capabilities(scheduler=True)" in problem for problem in info.problems)


def test_a_failing_hook_tells_the_caller_why() -> None:
    class Garbage:
        @hookimpl
        def request_translate(self, params: t.RequestTranslateRequest) -> object:
            return "not a BodyResult"

    with PluginManager(entry_points=False, environ={}) as m:
        m.register(Garbage(), "garbage")
        envelope = m.invoke("request.translate", {})
    assert envelope.error is not None and envelope.error.code == "plugin_error"
    assert envelope.error.message.startswith("plugin 'garbage' failed in request.translate: TypeError: answered str")


def test_list_shows_warnings_and_takes_config_after_the_command(on_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "pluginkit.toml"
    config.write_text('[pluginkit]\nload = ["seed-implied", "good"]\n')
    env = {**os.environ, "PYTHONPATH": str(on_path), "PLUGINKIT_NO_CACHE": "1"}
    env.pop("PLUGINKIT_LOAD_PLUGINS", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pluginkit.cli", *args], capture_output=True, text=True, env=env)

    listed = run("list", "--config", str(config))  # after the command, as cli.md says every command takes it
    assert listed.returncode == 0, listed.stderr
    assert "warning: seed-implied: metadata has no author" in listed.stdout
    as_json = {p["id"]: p for p in json.loads(run("list", "--json", "--config", str(config)).stdout)}
    assert as_json["seed-implied"]["problems"] == ["metadata has no author", "metadata has no github_repository"]
    assert as_json["local-executor"]["state"] == "disabled"  # not in load = [...]
    before = run("--config", str(config), "list")
    assert before.stdout == listed.stdout


def test_an_unconfigured_plugin_is_disabled_quietly(on_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    environ = {"PLUGINKIT_LOAD_PLUGINS": "openai-http"}
    with caplog.at_level(logging.WARNING, logger="pluginkit"), PluginManager(
        search_path=[str(on_path)], cache=False, environ=environ
    ) as manager:
        info = manager.plugin("openai-http")
    assert info.state is PluginState.DISABLED and info.reason.startswith("not configured: ")
    assert "openai-http" not in caplog.text  # nothing printed on every command


@pytest.mark.parametrize(
    ("field", "why"),
    [
        (t.ConfigField(name="ratio", type="float"), "has type 'float'; the types are string, number, integer"),
        (t.ConfigField(name="count", type="int"), "has type 'int'"),
        (t.ConfigField(name="on", type=""), "has type ''"),
        (t.ConfigField(name="mode", type="enum"), "an enum without enum_values"),
        (t.ConfigField(name="", type="string"), "a blank or repeated name"),
    ],
)
def test_a_config_field_a_host_could_not_check_is_refused(field: t.ConfigField, why: str) -> None:
    """The seed's ConfigFieldType set (CLIProxyAPI sdk/pluginapi/types.go): string, number, integer, boolean, enum,
    array, object; anything else would accept any value silently."""

    class Declares:
        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(metadata=t.PluginMetadata(name="d", version="1", config_fields=[field]),
                                  capabilities=t.Capabilities(request_normalizer=True))

        @hookimpl
        def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            return t.BodyResult(body=params.body)

    with PluginManager(entry_points=False, environ={}) as m:
        info = m.register(Declares(), "declares")
    assert info.state is PluginState.FAILED and info.reason.startswith("invalid_registration: config field")
    assert why in info.reason


def test_every_declared_type_is_checked() -> None:
    fields = [t.ConfigField(name=kind, type=kind, enum_values=["a"] if kind == "enum" else []) for kind in
              ("string", "number", "integer", "boolean", "enum", "array", "object")]

    class Typed:
        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(metadata=t.PluginMetadata(name="typed", version="1", config_fields=fields),
                                  capabilities=t.Capabilities(request_normalizer=True))

        @hookimpl
        def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            return t.BodyResult(body=params.body)

    good = {"string": "s", "number": 1.5, "integer": 2, "boolean": True, "enum": "a", "array": [1], "object": {}}
    with PluginManager(entry_points=False, environ={}) as m:
        assert m.register(Typed(), "typed", settings=good).state is PluginState.ACTIVE
        for kind, wrong in (("string", 1), ("number", "x"), ("integer", 1.5), ("boolean", "yes"), ("enum", "b"),
                            ("array", {}), ("object", [])):
            info = m.register(Typed(), f"typed-{kind}", settings={**good, kind: wrong})
            assert info.state is PluginState.FAILED and info.reason.startswith("invalid_config"), kind


def test_load_chooses_among_installed_plugins_only(on_path: Path) -> None:
    """``pluginkit.load`` picks installed plugins; one the host registers from code is its own choice (issue 15)."""
    config = {"pluginkit": {"load": ["good"]}, "plugins": {"off": {"enabled": False}}}
    with PluginManager(config, search_path=[str(on_path)], cache=False, environ={}) as m:
        assert m.register(Misspelled(), "from-code").state is PluginState.ACTIVE
        assert m.register(Misspelled(), "off").state is PluginState.DISABLED  # enabled = false still applies
        assert m.plugin("local-executor").state is PluginState.DISABLED  # installed, not in load
        assert m.installed().plugins and all(p.distribution for p in m.installed().plugins)
        m.reconfigure(config)
        assert m.plugin("from-code").state is PluginState.ACTIVE
