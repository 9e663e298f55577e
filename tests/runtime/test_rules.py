"""The seed's combination rules (§5.5), wrappers and garbage answers, with plugins registered in code."""

from __future__ import annotations

import asyncio
from typing import Any

import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import Envelope, PluginError, PluginManager, PluginState, abi, hookimpl
from pluginkit import types as t
from tests.strategies import json_values, wire_shaped


def make(*plugins: tuple[str, int, object]) -> PluginManager:
    m = PluginManager(entry_points=False, environ={})
    for plugin_id, priority, obj in plugins:
        info = m.register(obj, plugin_id, priority=priority)
        assert info.state is PluginState.ACTIVE, info.reason
    return m


class Normalizer:
    def __init__(self, tag: str, fail: bool = False, empty: bool = False) -> None:
        self.tag, self.fail, self.empty = tag, fail, empty

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        if self.fail:
            raise PluginError("plugin_error", "refused")
        return t.BodyResult() if self.empty else t.BodyResult(body=params.body + b"|" + self.tag.encode())


def test_chain_runs_by_priority() -> None:
    m = make(("low", 1, Normalizer("low")), ("high", 10, Normalizer("high")))
    assert m.call("request.normalize", t.RequestTranslateRequest(body=b"start")).body == b"start|high|low"


def test_chain_keeps_the_payload_on_error_or_empty_body() -> None:
    m = make(("a", 3, Normalizer("a", fail=True)), ("b", 2, Normalizer("b", empty=True)), ("c", 1, Normalizer("c")))
    assert m.call("request.normalize", {"Body": "c3RhcnQ="}).body == b"start|c"


class Interceptor:
    def __init__(self, tag: str, headers: dict[str, list[str]], clear: list[str] = (), drop: bool = False) -> None:
        self.tag, self.headers, self.clear, self.drop = tag, headers, list(clear), drop

    @hookimpl
    def request_intercept_before(self, params: t.RequestInterceptRequest) -> t.InterceptResult:
        params.headers["Mutated"] = ["by-plugin"]  # must not leak anywhere
        return t.InterceptResult(
            headers=self.headers, body=params.body + b"|" + self.tag.encode(), clear_headers=self.clear
        )

    @hookimpl
    def response_intercept_stream_chunk(self, params: t.StreamChunkInterceptRequest) -> t.StreamChunkInterceptResult:
        return t.StreamChunkInterceptResult(
            headers=self.headers, body=params.body + b"|" + self.tag.encode(), drop_chunk=self.drop
        )


def test_header_chain_merges_like_the_seed() -> None:
    m = make(
        ("high", 10, Interceptor("high", {"X-Plugin": ["high"], "X-High": ["1"]}, clear=["x-remove"])),
        ("low", 1, Interceptor("low", {"X-Plugin": ["low"], "X-Low": ["1"]})),
    )
    request = t.RequestInterceptRequest(headers={"X-Remove": ["yes"], "X-Keep": ["k"]}, body=b"start")
    result = m.call("request.intercept_before", request)
    # The combined answer is a change set, like one interceptor's: clear these, then set these.
    assert result.headers == {"X-Plugin": ["low"], "X-High": ["1"], "X-Low": ["1"]}
    assert result.clear_headers == ["x-remove"]
    assert result.body == b"start|high|low"
    from pluginkit.runtime import merge_headers

    final = merge_headers(request.headers, result.clear_headers, result.headers)
    assert final == {"X-Keep": ["k"], "X-Plugin": ["low"], "X-High": ["1"], "X-Low": ["1"]}
    # Inputs are never mutated: not by the merge, not by a plugin writing into its params.
    assert request == t.RequestInterceptRequest(headers={"X-Remove": ["yes"], "X-Keep": ["k"]}, body=b"start")


def test_drop_chunk_stops_the_stream_chain_but_keeps_header_updates() -> None:
    m = make(
        ("first", 10, Interceptor("first", {"X-First": ["1"]}, drop=True)),
        ("second", 1, Interceptor("second", {"X-Second": ["1"]})),
    )
    result = m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(body=b"chunk"))
    assert result.drop_chunk is True
    assert result.headers == {"X-First": ["1"]}
    assert result.body == b"chunk|first"


class Translator:
    def __init__(self, answer: bytes | Exception | None) -> None:
        self.answer = answer

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return None if self.answer is None else t.BodyResult(body=self.answer)


def test_first_success_skips_errors_and_empty_answers() -> None:
    m = make(
        ("a", 4, Translator(PluginError("plugin_error", "no"))),
        ("b", 3, Translator(None)),
        ("c", 2, Translator(b"")),
        ("d", 1, Translator(b"winner")),
    )
    assert m.call("request.translate", {}).body == b"winner"


def test_first_success_with_only_failures_answers_the_first_error() -> None:
    m = make(("a", 2, Translator(PluginError("invalid_request", "bad body"))), ("b", 1, Translator(b"")))
    envelope = m.invoke("request.translate", {})
    assert envelope.error is not None and (envelope.error.code, envelope.error.message) == (
        "invalid_request",
        "bad body",
    )
    nobody = make(("b", 1, Translator(b""))).invoke("request.translate", {})
    assert nobody.error is not None and nobody.error.code == "not_handled"


class Authenticator:
    def __init__(self, principal: str | None, fail: bool = False) -> None:
        self.principal, self.fail = principal, fail

    @hookimpl
    async def frontend_auth_authenticate(self, params: t.FrontendAuthRequest) -> t.FrontendAuthResult:
        if self.fail:
            raise PluginError("plugin_error", "down")
        return t.FrontendAuthResult(authenticated=self.principal is not None, principal=self.principal or "")


def test_any_accepts_takes_the_first_yes() -> None:
    m = make(
        ("err", 3, Authenticator(None, fail=True)), ("no", 2, Authenticator(None)), ("yes", 1, Authenticator("alice"))
    )
    assert m.call("frontend_auth.authenticate", {}).principal == "alice"
    assert make(("no", 1, Authenticator(None))).call("frontend_auth.authenticate", {}).authenticated is False


class Usage:
    def __init__(self, seen: list[str], tag: str) -> None:
        self.seen, self.tag = seen, tag

    @hookimpl
    def usage_handle(self, params: t.UsageRecord) -> None:
        self.seen.append(f"{self.tag}:{params.model}")


def test_fan_out_calls_everyone_in_order() -> None:
    seen: list[str] = []
    m = make(("b", 1, Usage(seen, "b")), ("a", 1, Usage(seen, "a")), ("c", 5, Usage(seen, "c")))
    assert set(m.call("usage.handle", {"Model": "m"})) == {"a", "b", "c"}
    assert seen == ["c:m", "a:m", "b:m"]


def test_nobody_implements_gives_the_documented_default() -> None:
    m = make()
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x"  # pass-through
    assert m.call("scheduler.pick", {}) == t.SchedulerPickResult()  # zero: handled=False → built-in selector
    assert m.invoke("executor.execute", {}).error.code == "not_handled"  # type: ignore[union-attr]
    assert m.call("usage.handle", {}) == {}  # fan-out to nobody


class Garbage:
    @hookimpl
    def request_translate(self) -> object:
        return 42

    @hookimpl
    def request_normalize(self) -> object:
        return {"Body": "d2lyZQ=="}  # JSON-style dicts are accepted


def test_garbage_answers_are_plugin_errors_and_fuse() -> None:
    m = make(("garbage", 1, Garbage()))
    assert m.call("request.normalize", {}).body == b"wire"
    envelope = m.invoke("request.translate", {})
    assert envelope.error is not None and envelope.error.code == "plugin_error"
    assert "'garbage'" in envelope.error.message and "request.translate" in envelope.error.message
    assert m.plugin("garbage").state is PluginState.FUSED


def test_fuse_policy_is_configurable_per_method() -> None:
    m = PluginManager({"pluginkit": {"fuse": {"request.translate": False}}}, entry_points=False, environ={})
    m.register(Translator(RuntimeError("boom")), "flaky")
    assert m.invoke("request.translate", {}).error.code == "plugin_error"  # type: ignore[union-attr]
    assert m.plugin("flaky").state is PluginState.ACTIVE


def test_timeouts_are_configurable_per_method() -> None:
    class Slow:
        @hookimpl
        async def thinking_apply(self, params: t.ThinkingApplyRequest) -> t.BodyResult:
            await asyncio.sleep(5)
            return t.BodyResult(body=b"late")

        @hookimpl
        def thinking_identifier(self) -> t.Identifier:
            return t.Identifier(identifier="p")

    m = PluginManager({"pluginkit": {"timeouts": {"thinking.apply": 0.05}}}, entry_points=False, environ={})
    m.register(Slow(), "slow")
    envelope = m.invoke("thinking.apply", {"Provider": "p"})
    assert envelope.error is not None and envelope.error.code == "timeout"


def test_wrappers_wrap_the_whole_call_like_pluggy() -> None:
    events: list[str] = []

    class NewStyle:
        @hookimpl(wrapper=True)
        def request_normalize(self, params: t.RequestTranslateRequest) -> Any:
            events.append("new:before")
            result = yield
            events.append("new:after")
            return t.BodyResult(body=result.body + b"|wrapped")

    class OldStyle:
        @hookimpl(hookwrapper=True)
        def request_normalize(self) -> Any:
            events.append("old:before")
            outcome: pluggy.Result[Any] = yield
            events.append(f"old:saw {outcome.get_result().body!r}")

    # Wrappers follow the same order as everything else: the first in order is the outermost.
    m = make(("n", 1, Normalizer("n")), ("a-new", 0, NewStyle()), ("b-old", 0, OldStyle()))
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x|n|wrapped"
    assert events == ["new:before", "old:before", "old:saw b'x|n'", "new:after"]

    async def run() -> bytes:
        return (await m.acall("request.normalize", {"Body": "eA=="})).body

    assert asyncio.run(run()) == b"x|n|wrapped"


def test_mixed_sync_and_async_on_one_hook_in_both_drivers() -> None:
    class Async:
        @hookimpl
        async def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            await asyncio.sleep(0)
            return t.BodyResult(body=params.body + b"|async")

    m = make(("sync", 2, Normalizer("sync")), ("async", 1, Async()))
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x|sync|async"

    async def run() -> bytes:
        return (await m.acall("request.normalize", {"Body": "eA=="})).body

    assert asyncio.run(run()) == b"x|sync|async"


def test_threaded_sync_hooks_get_time_limits_under_ainvoke() -> None:
    import time

    class Blocking:
        @hookimpl
        def thinking_identifier(self) -> t.Identifier:
            return t.Identifier(identifier="p")

        @hookimpl
        def thinking_apply(self) -> t.BodyResult:
            time.sleep(0.5)
            return t.BodyResult(body=b"late")

    m = PluginManager({"pluginkit": {"timeouts": {"thinking.apply": 0.05}}}, entry_points=False, environ={})
    m.register(Blocking(), "blocking", threaded=True)

    async def run() -> Envelope[Any]:
        return await m.ainvoke("thinking.apply", {"Provider": "p"})

    envelope = asyncio.run(run())
    assert envelope.error is not None and envelope.error.code == "timeout"


def test_hookimpls_with_unknown_arguments_are_refused() -> None:
    class Wrong:
        @hookimpl
        def request_normalize(self, request: object) -> None: ...

    m = PluginManager(entry_points=False, environ={})
    info = m.register(Wrong(), "wrong")
    assert info.state is PluginState.FAILED and "request" in info.reason


def test_undeclared_hooks_are_reported_and_not_called() -> None:
    class Liar:
        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(
                metadata=t.PluginMetadata(name="liar", version="1"), capabilities=t.Capabilities(scheduler=True)
            )

        @hookimpl
        def request_normalize(self) -> t.BodyResult:
            return t.BodyResult(body=b"should not run")

    m = make(("liar", 0, Liar()))
    problems = m.plugin("liar").problems
    assert any("declares scheduler but implements none" in p for p in problems)
    assert any("implements request_normalize without declaring request_normalizer" in p for p in problems)
    assert m.call("request.normalize", {"Body": "eA=="}).body == b"x"


class Everything:
    """Answers every hook with a fixed, valid result: the property test below feeds it arbitrary params."""

    PLUGINKIT_ID = "everything"


for _method in abi.METHODS.hooks():
    if _method.name.startswith("plugin."):
        continue

    def _answer(self: object, params: Any, _m: abi.Method = _method) -> Any:
        return _m.result()

    _answer.__name__ = _method.hook_name
    setattr(Everything, _method.hook_name, hookimpl(_answer))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from([*abi.METHODS, "no.such", "", "scheduler"]), data=st.data())
def test_any_json_to_invoke_gives_an_envelope(method: str, data: st.DataObject) -> None:
    manager = _PROPERTY_MANAGER
    spec = abi.METHODS.get(method)
    raw = data.draw(json_values | (wire_shaped(spec.params) if spec else json_values))
    envelope = manager.invoke(method, raw)
    assert isinstance(envelope, Envelope)
    assert Envelope.from_wire(envelope.to_json()).ok == envelope.ok
    # ...and the manager keeps answering afterwards.
    assert manager.call("request.normalize", {"Body": "eA=="}).body == b"x"


_PROPERTY_MANAGER = PluginManager(entry_points=False, environ={})
_PROPERTY_MANAGER.register(Everything())


@pytest.fixture(autouse=True, scope="module")
def _close_property_manager() -> Any:
    yield
    _PROPERTY_MANAGER.shutdown()


def test_call_plugin_asks_exactly_one_plugin() -> None:
    m = make(("low", 1, Normalizer("low")), ("high", 10, Normalizer("high")), ("bad", 5, Normalizer("bad", fail=True)))
    assert m.call_plugin("low", "request.normalize", {"Body": "eA=="}).body == b"x|low"
    assert m.invoke("request.normalize", {"Body": "eA=="}).result.body == b"x|high|low"  # type: ignore[union-attr]
    with pytest.raises(Exception) as caught:
        m.call_plugin("bad", "request.normalize", {})
    assert getattr(caught.value, "code", "") == "plugin_error"
    with pytest.raises(Exception) as missing:
        m.call_plugin("nobody", "request.normalize", {})
    assert getattr(missing.value, "code", "") == "not_found"

    async def run() -> bytes:
        return (await m.acall_plugin("high", "request.normalize", {"Body": "eA=="})).body

    assert asyncio.run(run()) == b"x|high"
