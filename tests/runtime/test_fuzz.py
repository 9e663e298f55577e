"""Fuzzing ``invoke`` as a hostile plugin and a hostile client would (issue 12): every call answers an envelope that
serialises, no thread is left behind, and client input alone never fuses a plugin."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import Envelope, PluginManager, PluginState, hookimpl
from pluginkit import types as t


class Custom(BaseException):
    pass


RAISED = [ValueError, SystemExit, KeyboardInterrupt, GeneratorExit, Custom, asyncio.CancelledError]
LIMIT = 0.05  # seconds: every method's time limit in these managers

behaviours = st.one_of(
    st.just(("answer",)),
    st.just(("none",)),
    st.just(("mutate",)),
    st.just(("garbage",)),
    st.just(("block",)),
    st.sampled_from(RAISED).map(lambda exc: ("raise", exc)),
)


class Hostile:
    """One plugin: on every hook, what the script says."""

    def __init__(self, script: tuple[Any, ...], is_async: bool) -> None:
        self.script = script
        self.is_async = is_async

    def _act(self, params: Any, result: type) -> Any:
        kind = self.script[0]
        if kind == "raise":
            raise self.script[1]()
        if kind == "mutate":
            params.body = b"mutated"
            if hasattr(params, "headers"):
                params.headers.clear()
            return None
        if kind == "garbage":
            return object()
        if kind == "block":
            time.sleep(LIMIT * 3)
        if kind == "none":
            return None
        return result(body=b"answer")

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> Any:
        return self._act(params, t.BodyResult)

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> Any:
        return self._act(params, t.BodyResult)

    @hookimpl
    def request_intercept_before(self, params: t.RequestInterceptRequest) -> Any:
        return self._act(params, t.InterceptResult)


class AsyncHostile(Hostile):
    @hookimpl
    async def request_translate(self, params: t.RequestTranslateRequest) -> Any:  # type: ignore[override]
        if self.script[0] == "block":
            await asyncio.sleep(LIMIT * 3)
        return self._act(params, t.BodyResult) if self.script[0] != "block" else None


METHODS = ["request.translate", "request.normalize", "request.intercept_before"]
CONFIG = {"pluginkit": {"timeouts": dict.fromkeys(METHODS, LIMIT)}}

text = st.one_of(st.text(max_size=20), st.just("\ud800"), st.just("ok \udfff end"), st.just("x" * 100_000))
json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
params = st.one_of(
    json_like,
    st.fixed_dictionaries({"Body": st.just("aGk="), "Model": text, "Headers": st.dictionaries(text, st.lists(text))}),
)


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"Metadata": value}
    return value


def assert_envelope(envelope: Any) -> None:
    assert isinstance(envelope, Envelope)
    json.loads(envelope.to_json())  # valid JSON, whatever it echoes


def settle_threads(baseline: set[threading.Thread], within: float = 3.0) -> None:
    """Threads started by the example are gone once what they were blocked in returns."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        extra = [th for th in threading.enumerate() if th not in baseline and th.is_alive()]
        if not extra:
            return
        time.sleep(0.02)
    raise AssertionError(f"threads left behind: {[th.name for th in extra]}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scripts=st.lists(st.tuples(behaviours, st.booleans()), min_size=1, max_size=3),
    calls=st.lists(st.tuples(st.sampled_from(METHODS), params), min_size=1, max_size=4),
)
def test_hostile_plugins_and_clients_always_get_an_envelope(
    scripts: list[tuple[tuple[Any, ...], bool]], calls: list[tuple[str, Any]]
) -> None:
    baseline = set(threading.enumerate())
    with PluginManager(CONFIG, entry_points=False, environ={}) as manager:
        for index, (script, is_async) in enumerate(scripts):
            manager.register((AsyncHostile if is_async else Hostile)(script, is_async), f"p{index}")
        for method, data in calls:
            assert_envelope(manager.invoke(method, data))
            assert_envelope(asyncio.run(manager.ainvoke(method, data)))
    settle_threads(baseline)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=st.lists(st.tuples(st.sampled_from(METHODS), st.one_of(params, st.just(deep(400)))), max_size=6))
def test_client_input_alone_never_fuses_a_plugin(calls: list[tuple[str, Any]]) -> None:
    with PluginManager(CONFIG, entry_points=False, environ={}) as manager:
        manager.register(Hostile(("answer",), False), "sync")
        manager.register(AsyncHostile(("answer",), True), "async")
        for method, data in calls:
            assert_envelope(manager.invoke(method, data))
            assert_envelope(manager.invoke(method, json.dumps(data) if not isinstance(data, str) else data))
        assert {info.state for info in manager.plugins()} == {PluginState.ACTIVE}
