"""What a hostile plugin or client cannot do to the host (issue 12): escape with a BaseException, kill the loop
thread, fake or swallow a Ctrl-C, reach the lifecycle methods through invoke, break an envelope's JSON, or turn a
shutdown into a fake success."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pluginkit import PluginError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.runtime import _escapes

NO_LOGS = {"pluginkit": {}}


class Custom(BaseException):
    """A BaseException of a plugin's own."""


#: What a plugin may raise beyond Exception (classes: each test raises a fresh one).
ESCAPES = [SystemExit, KeyboardInterrupt, GeneratorExit, Custom, asyncio.CancelledError]


class Raises:
    def __init__(self, exc: type[BaseException]) -> None:
        self.exc = exc

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        raise self.exc()


class AsyncRaises(Raises):
    @hookimpl
    async def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:  # type: ignore[override]
        raise self.exc()


class Healthy:
    @hookimpl
    async def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        await asyncio.sleep(0)
        return t.BodyResult(body=b"healthy")


@pytest.fixture
def manager() -> Iterator[PluginManager]:
    with PluginManager(NO_LOGS, entry_points=False, environ={}) as m:
        yield m


def translate(manager: PluginManager) -> Any:
    return manager.invoke("request.translate", {"Body": "aGk="})


@pytest.mark.parametrize("exc", ESCAPES, ids=lambda e: e.__name__)
@pytest.mark.parametrize("kind", [Raises, AsyncRaises], ids=["sync hook", "async hook"])
def test_any_base_exception_from_a_hook_is_an_envelope_and_fuses_the_plugin(
    manager: PluginManager, kind: type[Raises], exc: type[BaseException]
) -> None:
    manager.register(kind(exc), "bad")
    manager.register(Healthy(), "good")
    envelope = translate(manager)
    assert not envelope.ok and envelope.error.code == "plugin_error" and "'bad'" in envelope.error.message
    assert manager.plugin("bad").state is PluginState.FUSED
    # the loop thread survived: an async hook of another plugin still answers, on time
    started = time.monotonic()
    assert manager.call("request.normalize", {"Body": "aGk="}).body == b"healthy"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("exc", ESCAPES, ids=lambda e: e.__name__)
@pytest.mark.parametrize("kind", [Raises, AsyncRaises], ids=["sync hook", "async hook"])
def test_any_base_exception_stays_inside_ainvoke(kind: type[Raises], exc: type[BaseException]) -> None:
    async def main() -> Any:
        with PluginManager(NO_LOGS, entry_points=False, environ={}) as manager:
            manager.register(kind(exc), "bad")
            envelope = await manager.ainvoke("request.translate", {"Body": "aGk="})
            return envelope, manager.plugin("bad").state

    envelope, state = asyncio.run(main())  # nothing escapes the host's own asyncio.run
    assert not envelope.ok and envelope.error.code == "plugin_error"
    assert state is PluginState.FUSED


def test_the_loop_thread_is_started_again_if_it_dies(manager: PluginManager) -> None:
    manager.register(Healthy(), "good")
    assert manager.call("request.normalize", {"Body": "aGk="}).body == b"healthy"
    loop = manager.runtime.loop
    old = loop.loop()
    old.call_soon_threadsafe(old.stop)  # as if the thread had died
    loop._thread.join(5)  # type: ignore[union-attr]
    assert manager.call("request.normalize", {"Body": "aGk="}).body == b"healthy"
    assert loop.loop() is not old


@pytest.fixture
def sigint_watched() -> Iterator[None]:
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _escapes.watch_sigint()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


class CtrlC:
    """A hook during which the user presses Ctrl-C (a real SIGINT), optionally swallowing it."""

    def __init__(self, swallow: bool) -> None:
        self.swallow = swallow

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            if not self.swallow:
                raise
        return t.BodyResult(body=b"swallowed")


@pytest.mark.parametrize("swallow", [False, True], ids=["raised", "swallowed by the plugin"])
def test_a_real_ctrl_c_still_stops_the_host(sigint_watched: None, swallow: bool) -> None:
    with PluginManager(NO_LOGS, entry_points=False, environ={}) as manager:
        manager.register(CtrlC(swallow), "ctrl-c")
        manager.register(Healthy(), "good")
        with pytest.raises(KeyboardInterrupt):
            manager.invoke("request.translate", {"Body": "aGk="})
        assert manager.plugin("ctrl-c").state is PluginState.ACTIVE  # the user's interrupt is not the plugin's fault
        # the interrupt is raised once: the next call is not interrupted again
        assert manager.invoke("request.normalize", {"Body": "aGk="}).result.body == b"healthy"


def test_a_plugins_own_keyboard_interrupt_does_not_stop_the_host(sigint_watched: None) -> None:
    with PluginManager(NO_LOGS, entry_points=False, environ={}) as manager:
        manager.register(Raises(KeyboardInterrupt), "faker")
        envelope = translate(manager)
        assert envelope.error.code == "plugin_error" and manager.plugin("faker").state is PluginState.FUSED


class Wrapper:
    @hookimpl(wrapper=True)
    def request_translate(self, params: t.RequestTranslateRequest) -> Any:
        yield
        raise SystemExit(1)


class Answers:
    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=b"ok")


def test_a_wrapper_that_raises_is_contained(manager: PluginManager) -> None:
    manager.register(Answers(), "answers")
    manager.register(Wrapper(), "wrapper")
    envelope = translate(manager)
    assert envelope.error.code == "plugin_error" and "'wrapper'" in envelope.error.message
    assert manager.plugin("wrapper").state is PluginState.FUSED
    assert translate(manager).result.body == b"ok"  # without the fused wrapper


class Lifecycle:
    settings: list[Any]

    def __init__(self) -> None:
        self.settings = []

    @hookimpl
    def plugin_register(self, params: t.LifecycleRequest) -> t.Registration:
        self.settings.append(dict(params.config))
        return t.Registration(metadata=t.PluginMetadata(name="lc", version="1"))

    @hookimpl
    def plugin_shutdown(self) -> t.Empty:
        self.settings.append("shutdown")
        return t.Empty()


@pytest.mark.parametrize("method", ["plugin.register", "plugin.reconfigure", "plugin.shutdown"])
def test_lifecycle_methods_are_not_callable_through_invoke(manager: PluginManager, method: str) -> None:
    plugin = Lifecycle()
    manager.register(plugin, "lc", settings={"dsn": "postgresql://real"})
    hostile = {"ConfigYAML": "dsn: postgresql://attacker"}
    for envelope in (manager.invoke(method, hostile), asyncio.run(manager.ainvoke(method, hostile))):
        assert envelope.error.code == "invalid_method" and "lifecycle" in envelope.error.message
    assert envelope.to_json()
    # registered once, with the host's settings (and the host keys the seed host adds to config_yaml)
    assert plugin.settings == [{"dsn": "postgresql://real", "enabled": True, "priority": 0}]


@pytest.mark.parametrize("name", ["", ["request", "translate"], None, 3], ids=["empty", "list", "None", "int"])
def test_a_method_name_that_is_not_a_string_is_invalid_method(manager: PluginManager, name: Any) -> None:
    assert manager.invoke(name).error.code == "invalid_method"
    assert asyncio.run(manager.ainvoke(name)).error.code == "invalid_method"


class Echoes:
    """Answers with an error that echoes the client's text, as a tool or store naming what it did not find does."""

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        raise PluginError("not_found", f"no model named {params.model}")


def test_an_error_envelope_echoing_a_lone_surrogate_is_still_json(manager: PluginManager) -> None:
    manager.register(Echoes(), "echoes")
    envelope = manager.invoke("request.translate", t.RequestTranslateRequest(model="gpt-\ud800"))
    assert envelope.error.code == "not_found" and "\ud800" in envelope.error.message
    text = envelope.to_json()
    assert b"\xef\xbf\xbd" in text  # U+FFFD where the surrogate was
    assert text.decode("utf-8")


class SlowAsync:
    @hookimpl
    async def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        await asyncio.sleep(30)
        return t.BodyResult(body=b"late")


def test_shutdown_under_a_call_is_a_retryable_error_not_a_fake_success() -> None:
    manager = PluginManager(NO_LOGS, entry_points=False, environ={})
    manager.register(SlowAsync(), "slow")
    answers: list[Any] = []
    caller = threading.Thread(target=lambda: answers.append(manager.invoke("request.normalize", {"Body": "aGk="})))
    caller.start()
    time.sleep(0.3)
    started = time.monotonic()
    manager.shutdown(timeout=0.2)
    caller.join(10)
    assert not caller.is_alive() and time.monotonic() - started < 8
    (envelope,) = answers
    assert not envelope.ok and envelope.error.code == "plugin_unavailable" and envelope.error.retryable
    assert "shut down" in envelope.error.message


class Hangs:
    @hookimpl
    async def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        await asyncio.sleep(30)
        return t.BodyResult(body=b"late")


def test_repeated_timeouts_quarantine_the_plugin_and_list_says_why() -> None:
    config = {"pluginkit": {"timeouts": {"request.normalize": 0.05}, "quarantine": {"timeouts": 3, "window": 60}}}
    with PluginManager(config, entry_points=False, environ={}) as manager:
        manager.register(Hangs(), "hangs")
        codes = [manager.invoke("request.normalize", {"Body": "aGk="}) for _ in range(3)]
        assert all(e.ok for e in codes)  # a chain keeps the body when a normaliser fails
        info = manager.plugin("hangs")
        assert info.state is PluginState.QUARANTINED and "timed out 3 times" in info.reason
        started = time.monotonic()
        assert manager.invoke("request.normalize", {"Body": "aGk="}).ok
        assert time.monotonic() - started < 0.05  # no longer asked: no more time limits waited out


def test_quarantine_can_be_switched_off() -> None:
    config = {"pluginkit": {"timeouts": {"request.normalize": 0.02}, "quarantine": {"timeouts": 0}}}
    with PluginManager(config, entry_points=False, environ={}) as manager:
        manager.register(Hangs(), "hangs")
        for _ in range(4):
            manager.invoke("request.normalize", {"Body": "aGk="})
        assert manager.plugin("hangs").state is PluginState.ACTIVE


class Sleeps:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @hookimpl
    def request_translate(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        time.sleep(self.seconds)
        return t.BodyResult(body=b"slept")


def test_a_blocking_sync_hook_is_caught_and_bounded_from_then_on(caplog: pytest.LogCaptureFixture) -> None:
    config = {"pluginkit": {"timeouts": {"request.translate": 0.2}, "quarantine": {"timeouts": 0}}}
    with PluginManager(config, entry_points=False, environ={}) as manager:
        manager.register(Sleeps(0.8), "sleepy")
        first = manager.invoke("request.translate", {"Body": "aGk="})  # inline: it cannot be interrupted
        assert first.ok  # it did answer, late
        assert "'sleepy' has run request.translate" in caplog.text and "past its 0.2s limit" in caplog.text
        assert manager.runtime.record("sleepy").isolated
        started = time.monotonic()
        second = manager.invoke("request.translate", {"Body": "aGk="})
        elapsed = time.monotonic() - started
        assert second.error.code == "timeout" and "'sleepy'" in second.error.message
        assert elapsed < 0.6, elapsed  # bounded by the limit now, not by the plugin


def test_a_well_behaved_sync_plugin_stays_inline() -> None:
    config = {"pluginkit": {"timeouts": {"request.translate": 0.2}}}
    with PluginManager(config, entry_points=False, environ={}) as manager:
        manager.register(Sleeps(0), "quick")
        for _ in range(20):
            assert manager.invoke("request.translate", {"Body": "aGk="}).ok
        time.sleep(0.3)
        assert not manager.runtime.record("quick").isolated
        assert manager.runtime.plan("request.translate").inline


class Quick:
    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        return t.BodyResult(body=b"quick")


def test_one_slow_threaded_plugin_does_not_starve_another() -> None:
    config = {
        "pluginkit": {"timeouts": {"request.translate": 0.05, "request.normalize": 1.0}, "quarantine": {"timeouts": 0}},
        "plugins": {"slow": {"threaded": True}, "quick": {"threaded": True}},
    }
    with PluginManager(config, entry_points=False, environ={}) as manager:
        manager.register(Sleeps(1.0), "slow")
        manager.register(Quick(), "quick")

        async def main() -> list[Any]:
            slow = [await manager.ainvoke("request.translate", {"Body": "aGk="}) for _ in range(20)]
            return [*slow, await manager.ainvoke("request.normalize", {"Body": "aGk="})]

        started = time.monotonic()
        *slow, quick = asyncio.run(main())
        assert time.monotonic() - started < 2.5
        codes = [e.error.code for e in slow]
        assert codes.count("timeout") >= 4 and set(codes) <= {"timeout", "plugin_unavailable"}
        assert "plugin_unavailable" in codes  # its threads were all busy: refused at once, not queued
        assert quick.ok and quick.result.body == b"quick"


class IgnoresCancellation:
    @hookimpl
    async def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        for _ in range(3):
            try:
                await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                continue  # a badly written hook: swallows the cancellation and goes on
        return t.BodyResult(body=b"too late")


def test_an_async_hook_that_swallows_cancellation_still_times_out_on_time() -> None:
    config = {"pluginkit": {"timeouts": {"request.normalize": 0.1}, "quarantine": {"timeouts": 0}}}

    async def main() -> tuple[Any, float]:
        with PluginManager(config, entry_points=False, environ={}) as manager:
            manager.register(IgnoresCancellation(), "stubborn")
            started = time.monotonic()
            envelope = await manager.ainvoke("request.normalize", {"Body": "aGk="})
            return envelope, time.monotonic() - started

    envelope, elapsed = asyncio.run(main())
    assert envelope.ok  # the chain keeps the body: the normaliser's time-out is its failure
    assert elapsed < 0.5, elapsed


class Mutates:
    """A lone plugin that changes the object it is given instead of answering (issue 12, item 8)."""

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> None:
        params.body = b"mutated"
        params.model = "changed"

    @hookimpl
    def request_intercept_before(self, params: t.RequestInterceptRequest) -> None:
        params.body = b"mutated"
        params.headers.clear()
        params.metadata["nested"]["added"] = "x"  # type: ignore[index]


def intercept_request() -> t.RequestInterceptRequest:
    return t.RequestInterceptRequest(
        model="m", headers={"Authorization": ["k"]}, body=b"original", metadata={"nested": {"keep": 1}}
    )


@pytest.mark.parametrize("how", ["call", "acall", "call_plugin", "invoke"])
def test_a_lone_plugin_cannot_change_the_callers_objects_or_the_answer(manager: PluginManager, how: str) -> None:
    manager.register(Mutates(), "mutates")
    translate = t.RequestTranslateRequest(model="m", body=b"original")
    intercept = intercept_request()

    def run(method: str, params: Any) -> Any:
        if how == "call":
            return manager.call(method, params)
        if how == "acall":
            return asyncio.run(manager.acall(method, params))
        if how == "call_plugin":
            return manager.call_plugin("mutates", method, params)
        return manager.invoke(method, params).unwrap()

    normalized = run("request.normalize", translate)
    intercepted = run("request.intercept_before", intercept)
    assert translate == t.RequestTranslateRequest(model="m", body=b"original")  # the caller's objects, untouched
    assert intercept == intercept_request()
    assert normalized.body == b"original"  # the answer is what the rule says for "no answer", not the mutation
    if how != "call_plugin":  # pinned to one plugin, an interceptor's empty answer is the single-owner fallback
        assert intercepted.body == b"original" and not intercepted.clear_headers and not intercepted.headers


def test_a_solo_runner_answers_by_the_rule_not_by_the_mutation(manager: PluginManager) -> None:
    """What the pipeline calls per stage: the plan's runner with params it built itself."""
    manager.register(Mutates(), "mutates")
    plan = manager.runtime.plan("request.normalize")
    assert plan.runner.__name__ == "run_solo"
    params = t.RequestTranslateRequest(body=b"original")
    assert plan.runner(plan, params, manager.runtime, None).body == b"original"
    intercept = manager.runtime.plan("request.intercept_before")
    answer = intercept.runner(intercept, intercept_request(), manager.runtime, None)
    assert answer.body == b"original" and not answer.headers and not answer.clear_headers


def test_a_manager_dropped_without_shutdown_takes_its_watchdog_with_it() -> None:
    import gc

    manager = PluginManager({"pluginkit": {"timeouts": {"request.translate": 0.2}}}, entry_points=False, environ={})
    manager.register(Sleeps(0), "quick")
    assert manager.invoke("request.translate", {"Body": "aGk="}).ok
    watchdog = manager.runtime.watchdog
    thread = watchdog._thread
    assert thread is not None and thread.is_alive()
    del manager
    gc.collect()
    thread.join(2)
    assert not thread.is_alive()
