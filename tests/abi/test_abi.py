"""The ABI table is the one source of truth: hookspecs, docs and the seed's names are checked against it."""

from __future__ import annotations

from pathlib import Path

import attrs
import pluggy
import pytest

import pluginkit
from pluginkit import abi, types
from pluginkit.abi import _hookspecs
from pluginkit.cli._docgen import render_all
from tests.helpers import whole_request_stages

SEED_METHOD_NAMES = [
    "plugin.register",
    "plugin.reconfigure",
    "plugin.shutdown",
    "model.register",
    "model.static",
    "model.for_auth",
    "auth.identifier",
    "auth.parse",
    "auth.login.start",
    "auth.login.poll",
    "auth.refresh",
    "frontend_auth.identifier",
    "frontend_auth.authenticate",
    "scheduler.pick",
    "executor.identifier",
    "executor.execute",
    "executor.execute_stream",
    "executor.count_tokens",
    "executor.http_request",
    "request.translate",
    "request.normalize",
    "request.intercept_before",
    "response.translate",
    "response.normalize_before",
    "response.normalize_after",
    "response.intercept_after",
    "response.intercept_stream_chunk",
    "thinking.identifier",
    "thinking.apply",
    "usage.handle",
    "command_line.register",
    "command_line.execute",
    "management.register",
    "management.handle",
    "host.http.do",
    "host.http.do_stream",
    "host.http.stream_read",
    "host.http.stream_close",
    "host.stream.emit",
    "host.stream.close",
    "host.log",
]


def test_versions() -> None:
    assert pluginkit.ABI_VERSION == 1
    assert pluginkit.SCHEMA_VERSION == 1


def test_seed_method_names_are_verbatim_and_in_order() -> None:
    assert list(abi.SEED_METHODS) == SEED_METHOD_NAMES


def test_hook_names_replace_dots_with_underscores() -> None:
    for method in abi.METHODS.values():
        assert method.hook_name == method.name.replace(".", "_")
        assert abi.METHODS.by_hook(method.hook_name) is method


def test_one_hookspec_per_plugin_method_and_nothing_else() -> None:
    specs = {name for name in dir(_hookspecs.hookspecs()) if not name.startswith("_")}
    assert specs == {m.hook_name for m in abi.METHODS.hooks()}
    host = {m.name for m in abi.METHODS.values() if not m.is_hook}
    seed_host = {name for name in SEED_METHOD_NAMES if name.startswith("host.")}
    assert seed_host <= host and all(name.startswith("host.") for name in host)
    # beyond the seed's, only families' own callbacks: host.<family>.<name>
    assert {name.split(".")[1] for name in host - seed_host} == {"message", "provider"}


def test_hookspecs_carry_the_table_docs_types_and_result_mode() -> None:
    pm = pluggy.PluginManager(_hookspecs.PROJECT)
    pm.add_hookspecs(_hookspecs.hookspecs())
    for method in abi.METHODS.hooks():
        caller = getattr(pm.hook, method.hook_name)
        assert caller.spec is not None
        function = caller.spec.function
        assert function.__doc__ == _hookspecs.spec_docstring(method)
        assert method.doc in function.__doc__
        assert function.__annotations__["params"] is method.params
        assert function.__annotations__["return"] is method.result
        assert caller.spec.argnames == ("params", "ctx")
        expect_first = method.combine in (abi.Combine.FIRST_SUCCESS, abi.Combine.SINGLE_OWNER)
        assert caller.spec.opts["firstresult"] is expect_first


def test_every_capability_flag_declares_a_method() -> None:
    flags = {f.name for f in attrs.fields(types.Capabilities) if f.type in ("bool", bool)} - {
        "frontend_auth_provider_exclusive"
    }
    assert flags == {m.capability for m in abi.METHODS.values() if m.capability}
    assert types.Capabilities(scheduler=True, executor=True).declared() == {"scheduler", "executor"}


def test_identifiers_and_flag_registration_are_sync_only() -> None:
    sync_only = {m.name for m in abi.METHODS.values() if m.is_hook and not m.may_be_async}
    assert sync_only == {
        "auth.identifier",
        "frontend_auth.identifier",
        "executor.identifier",
        "thinking.identifier",
        "command_line.register",
    }


def test_pipeline_stages_follow_the_seed_order() -> None:
    """The seed contract, spelled out: CLIProxyAPI's pipeline order. Everything else (the pipeline's tests, the
    benchmarks) reads the order from the ABI (``abi.Stage``); this literal holds the ABI to the seed host."""
    ordered = sorted(
        (m for m in abi.METHODS.values() if m.stage is not None and m.stage.in_request_pipeline),
        key=lambda m: m.stage,  # type: ignore[arg-type, return-value]
    )
    names = [m.name for m in ordered]
    expected_order = [
        "frontend_auth.authenticate",
        "request.intercept_before",
        "scheduler.pick",
        "request.translate",
        "request.normalize",
        "thinking.apply",
        "executor.execute",
        "response.normalize_before",
        "response.translate",
        "response.normalize_after",
        "response.intercept_after",
        "usage.handle",
    ]
    positions = [names.index(name) for name in expected_order]
    assert positions == sorted(positions)
    assert whole_request_stages() == expected_order


def test_seed_combination_rules() -> None:
    rules = {name: m.combine for name, m in abi.METHODS.items()}
    C = abi.Combine
    assert rules["request.translate"] is rules["response.translate"] is C.FIRST_SUCCESS
    for name in ("request.normalize", "response.normalize_before", "response.normalize_after"):
        assert rules[name] is C.CHAIN
    for name in ("request.intercept_before", "response.intercept_after", "response.intercept_stream_chunk"):
        assert rules[name] is C.HEADER_CHAIN
    assert rules["scheduler.pick"] is C.SINGLE_OWNER and abi.get("scheduler.pick").owner == "priority"
    assert abi.get("executor.execute").owner == "provider"
    assert rules["usage.handle"] is C.FAN_OUT
    assert rules["frontend_auth.authenticate"] is C.ANY_ACCEPTS


def test_unknown_method_raises_unknown_method() -> None:
    with pytest.raises(pluginkit.PluginKitError) as caught:
        abi.get("scheduler.pik")
    assert caught.value.code == "unknown_method"


def test_define_rejects_bad_and_duplicate_names() -> None:
    with pytest.raises(ValueError, match="already defined"):
        abi.define("scheduler.pick", types.Empty, types.Empty, abi.Combine.FAN_OUT, summary="", doc="")
    with pytest.raises(ValueError, match="dotted"):
        abi.define("Bad Name", types.Empty, types.Empty, abi.Combine.FAN_OUT, summary="", doc="")


def test_reference_docs_match_the_code() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    for relative, text in render_all().items():
        committed = (docs / relative).read_text(encoding="utf-8")
        assert committed == text, f"docs/{relative} is stale: run `python -m pluginkit.cli._docgen`"
