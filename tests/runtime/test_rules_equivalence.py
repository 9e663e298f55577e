"""Each combination rule is written once: its sync and async forms are the same loop (read from their sources), and
a plan's solo runner answers exactly as the rule does, on generated plugin behaviours."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pluginkit import PluginError, PluginKitError, PluginManager, abi, hookimpl
from pluginkit import types as t
from pluginkit.runtime import _rules
from pluginkit.runtime._runners import solo

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


def _normalized(function: Any) -> str:
    """A rule's source with what may differ between its two forms taken out: ``async``/``await``, the name's
    ``a`` prefix, the sync form's ``call`` parameter and the two ways of calling one plugin."""
    source = inspect.getsource(function)
    source = re.sub(r"\basync def a(\w+)", r"def \1", source)
    source = source.replace("await ", "").replace(", call: Call = call_sync", "").replace("call_async(", "call(")
    return source


@pytest.mark.parametrize("combine", list(abi.Combine), ids=lambda c: c.value)
def test_sync_and_async_forms_of_each_rule_are_the_same_loop(combine: abi.Combine) -> None:
    sync, asynchronous = _rules.SYNC_RULES[combine], _rules.ASYNC_RULES[combine]
    assert inspect.iscoroutinefunction(asynchronous) and not inspect.iscoroutinefunction(sync)
    assert asynchronous.__name__ == "a" + sync.__name__
    assert _normalized(sync) == _normalized(asynchronous)


def test_the_parity_check_sees_a_difference() -> None:
    """The check above is not vacuous: two different rules normalise to different sources."""
    assert _normalized(_rules.chain) != _normalized(_rules.afirst_success)


@settings(max_examples=200, deadline=None)
@given(method=st.sampled_from(METHODS), scripts=st.lists(behaviour, max_size=4))
def test_runners_and_both_rule_forms_agree(method: str, scripts: list[tuple[Any, ...]]) -> None:
    manager = PluginManager(NO_FUSE, entry_points=False, environ={})
    for index, script in enumerate(scripts):
        manager.register(Scripted(script), f"p{index}", priority=-index)
    runtime = manager.runtime
    plan = runtime.plan(method)
    expected = solo(plan) if len(scripts) == 1 else None
    if expected is None:
        assert plan.runner is _rules.SYNC_RULES[plan.method.combine]
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
    async_notes: list[tuple[str, str]] = []
    fast = outcome(lambda: plan.runner(plan, params, runtime, fast_notes))
    slow = outcome(lambda: plan.rule(plan, params, runtime, slow_notes))
    asynchronous = outcome(lambda: asyncio.run(plan.arule(plan, params, runtime, async_notes)))
    assert fast == slow == asynchronous
    assert fast_notes == slow_notes == async_notes
    manager.shutdown()


@settings(max_examples=100, deadline=None)
@given(method=st.sampled_from(METHODS), scripts=st.lists(behaviour, min_size=1, max_size=3), pick=st.integers(0, 2))
def test_pinned_plans_agree_too(method: str, scripts: list[tuple[Any, ...]], pick: int) -> None:
    """``call_plugin``'s plans (one plugin answers, whatever the rule) run the single-owner rule's solo runner."""
    manager = PluginManager(NO_FUSE, entry_points=False, environ={})
    for index, script in enumerate(scripts):
        manager.register(Scripted(script), f"p{index}", priority=-index)
    plugin_id = f"p{min(pick, len(scripts) - 1)}"
    runtime = manager.runtime
    plan = runtime.plan(method, plugin_id)
    assert plan.pinned and plan.runner.__qualname__ == "solo.<locals>.run_solo"  # one plugin answers
    params = plan.method.params()
    fast_notes: list[tuple[str, str]] = []
    slow_notes: list[tuple[str, str]] = []
    fast = outcome(lambda: plan.runner(plan, params, runtime, fast_notes))
    slow = outcome(lambda: plan.rule(plan, params, runtime, slow_notes))
    assert plan.rule is _rules.single_owner
    assert fast == slow
    assert fast_notes == slow_notes
    manager.shutdown()
