"""The plain-loop sync rules (pluginkit.runtime._fastrules) answer exactly as the generator rules they twin."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pluginkit import PluginError, PluginKitError, PluginManager, abi, hookimpl
from pluginkit import types as t
from pluginkit.runtime._dispatch import _drive_async, _generic_sync
from pluginkit.runtime._fastrules import SYNC_RULES, solo

METHODS = [
    "request.translate",
    "request.normalize",
    "request.intercept_before",
    "response.intercept_stream_chunk",
    "scheduler.pick",
    "frontend_auth.authenticate",
    "usage.handle",
    "model.static",
]
NO_FUSE = {"pluginkit": {"fuse": dict.fromkeys(METHODS, False)}}

behaviour = st.one_of(
    st.tuples(
        st.just("answer"),
        st.binary(max_size=3),
        st.dictionaries(st.sampled_from(["A", "b", "C"]), st.lists(st.text(max_size=2), max_size=2), max_size=2),
        st.lists(st.sampled_from(["a", "B"]), max_size=2),
        st.booleans(),
    ),
    st.tuples(st.just("none")),
    st.tuples(st.just("plugin-error")),
    st.tuples(st.just("crash")),
)


class Scripted:
    def __init__(self, script: tuple[Any, ...]) -> None:
        self.script = script

    def _answer(self, result_type: type) -> Any:
        kind = self.script[0]
        if kind == "none":
            return None
        if kind == "plugin-error":
            raise PluginError("scheduler_denied", "scripted")
        if kind == "crash":
            raise RuntimeError("scripted crash")
        _, body, headers, clear, flag = self.script
        if result_type is t.BodyResult:
            return t.BodyResult(body=body)
        if result_type is t.InterceptResult:
            return t.InterceptResult(body=body, headers=headers, clear_headers=clear)
        if result_type is t.StreamChunkInterceptResult:
            return t.StreamChunkInterceptResult(body=body, headers=headers, clear_headers=clear, drop_chunk=flag)
        if result_type is t.FrontendAuthResult:
            return t.FrontendAuthResult(authenticated=flag, principal=body.hex(), metadata={k: "v" for k in headers})
        if result_type is t.Empty:
            return t.Empty()
        if result_type is t.ModelSet:
            return t.ModelSet(provider=body.hex(), models=[t.ModelInfo(id=k) for k in clear])
        return t.SchedulerPickResult(auth_id=body.hex(), handled=flag)

    @hookimpl
    def request_translate(self) -> Any:
        return self._answer(t.BodyResult)

    @hookimpl
    def request_normalize(self) -> Any:
        return self._answer(t.BodyResult)

    @hookimpl
    def request_intercept_before(self) -> Any:
        return self._answer(t.InterceptResult)

    @hookimpl
    def response_intercept_stream_chunk(self) -> Any:
        return self._answer(t.StreamChunkInterceptResult)

    @hookimpl
    def scheduler_pick(self) -> Any:
        return self._answer(t.SchedulerPickResult)

    @hookimpl
    def frontend_auth_authenticate(self) -> Any:
        return self._answer(t.FrontendAuthResult)

    @hookimpl
    def usage_handle(self) -> Any:
        return self._answer(t.Empty)

    @hookimpl
    def model_static(self) -> Any:
        return self._answer(t.ModelSet)


def outcome(run: Any) -> tuple[str, Any]:
    try:
        return "ok", run()
    except PluginKitError as exc:
        return "error", (exc.code, exc.message)


@settings(max_examples=200, deadline=None)
@given(method=st.sampled_from(METHODS), scripts=st.lists(behaviour, max_size=4))
def test_fast_and_generator_rules_agree(method: str, scripts: list[tuple[Any, ...]]) -> None:
    manager = PluginManager(NO_FUSE, entry_points=False, environ={})
    for index, script in enumerate(scripts):
        manager.register(Scripted(script), f"p{index}", priority=-index)
    plan = manager._plan(method)
    expected = solo(plan) if len(scripts) == 1 else None
    if expected is None:
        assert plan.runner is SYNC_RULES[plan.method.combine]
    else:  # one plugin: the plan's solo runner is what is held to the rules here
        assert plan.runner.__qualname__ == expected.__qualname__
        each = plan.method.combine is abi.Combine.FAN_OUT  # fan-out answers are keyed by plugin
        assert expected.__qualname__ == f"solo.<locals>.run_solo{'_each' if each else ''}"
    if method == "scheduler.pick":
        params = t.SchedulerPickRequest(candidates=[t.SchedulerCandidate(id="a")])
    elif method == "frontend_auth.authenticate":
        params = t.FrontendAuthRequest(headers={"A": ["1"]}, body=b"in")
    elif method == "usage.handle":
        params = t.UsageRecord(model="m", response_headers={"A": ["1"]})
    elif method == "model.static":
        params = t.ModelStaticRequest(plugin=t.PluginMetadata(name="x"))
    elif method.endswith("before"):
        params = plan.method.params(body=b"in", headers={"A": ["1"]})
    else:
        params = plan.method.params(body=b"in")
    fast_notes: list[tuple[str, str]] = []
    slow_notes: list[tuple[str, str]] = []
    fast = outcome(lambda: plan.runner(plan, params, manager, fast_notes))
    slow = outcome(lambda: _generic_sync(plan, params, manager, slow_notes))
    asynchronous = outcome(lambda: asyncio.run(_drive_async(plan, params, manager)))
    assert fast == slow == asynchronous
    assert fast_notes == slow_notes
    manager.shutdown()


@settings(max_examples=100, deadline=None)
@given(method=st.sampled_from(METHODS), scripts=st.lists(behaviour, min_size=1, max_size=3), pick=st.integers(0, 2))
def test_pinned_plans_agree_too(method: str, scripts: list[tuple[Any, ...]], pick: int) -> None:
    """``call_plugin``'s plans (one plugin answers, whatever the rule) take the single-owner twin's shortcut."""
    manager = PluginManager(NO_FUSE, entry_points=False, environ={})
    for index, script in enumerate(scripts):
        manager.register(Scripted(script), f"p{index}", priority=-index)
    plugin_id = f"p{min(pick, len(scripts) - 1)}"
    plan = manager._plan(method, plugin_id)
    assert plan.pinned and plan.runner.__qualname__ == "solo.<locals>.run_solo"  # one plugin answers
    params = plan.method.params()
    fast_notes: list[tuple[str, str]] = []
    slow_notes: list[tuple[str, str]] = []
    fast = outcome(lambda: plan.runner(plan, params, manager, fast_notes))
    slow = outcome(lambda: _generic_sync(plan, params, manager, slow_notes))
    assert fast == slow
    assert fast_notes == slow_notes
    manager.shutdown()


def test_each_solo_runner_has_code_of_its_own() -> None:
    """CPython specialises bytecode per code object: solo runners of different plans must not share theirs (a
    shared one would see every plan's hookimpl and result class and stay generic)."""
    manager = PluginManager(NO_FUSE, entry_points=False, environ={})
    manager.register(Scripted(("answer", b"x", {}, [], False)), "p0")
    first, second = manager._plan("request.translate"), manager._plan("request.normalize")
    assert first.runner.__qualname__ == second.runner.__qualname__ == "solo.<locals>.run_solo"
    assert first.runner.__code__ is not second.runner.__code__
    assert first.runner.__code__.co_code == second.runner.__code__.co_code
    params = t.RequestTranslateRequest(body=b"in")
    assert first.runner(first, params, manager, None) == second.runner(second, params, manager, None)
    manager.shutdown()
