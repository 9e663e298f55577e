"""An async hook awaited in the caller's task (``run_inline``): its time limit holds even for a coroutine that
ignores its cancellation, it cannot set the caller's context variables, and what it raises is contained."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import types
from collections.abc import Generator
from types import SimpleNamespace

import pytest

from pluginkit import PluginKitError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.runtime._inline import run_inline
from pluginkit.runtime._loop import Escaped

REQUEST = t.RequestTranslateRequest(body=b"{}")
seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="caller")


def plugin(translate: object) -> SimpleNamespace:
    """A plugin whose ``request.translate`` is ``translate``."""
    return SimpleNamespace(request_translate=hookimpl(translate))  # type: ignore[call-overload]


def manager_with(translate: object) -> PluginManager:
    config = {"pluginkit": {"timeouts": {"request.translate": 0.2}}}
    manager = PluginManager(config, entry_points=False, environ={})
    assert manager.register(plugin(translate), "inline").state is PluginState.ACTIVE
    return manager


def test_a_coroutine_that_ignores_its_cancellation_is_left_and_the_caller_gets_timeout_on_time() -> None:
    async def stubborn(params: t.RequestTranslateRequest) -> t.BodyResult:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # ignores it, and waits again

    manager = manager_with(stubborn)
    started = time.monotonic()
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(manager.acall("request.translate", REQUEST))
    assert caught.value.code == "timeout" and time.monotonic() - started < 1.5


def test_a_coroutine_that_returns_after_the_deadline_cancelled_it_still_times_out() -> None:
    async def late(params: t.RequestTranslateRequest) -> t.BodyResult:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        return t.BodyResult(body=b"late")

    with pytest.raises(PluginKitError) as caught:
        asyncio.run(manager_with(late).acall("request.translate", REQUEST))
    assert caught.value.code == "timeout"


def test_a_hook_cannot_set_the_callers_context_variables() -> None:
    async def setter(params: t.RequestTranslateRequest) -> t.BodyResult:
        seen.set("plugin")
        await asyncio.sleep(0)
        return t.BodyResult(body=seen.get().encode())

    async def main() -> tuple[bytes, str]:
        result = await manager_with(setter).acall("request.translate", REQUEST)
        return result.body, seen.get()

    assert asyncio.run(main()) == (b"plugin", "caller")


def test_the_callers_own_cancellation_passes_through() -> None:
    async def slow(params: t.RequestTranslateRequest) -> t.BodyResult:
        await asyncio.sleep(10)
        return t.BodyResult(body=b"never")  # pragma: no cover

    manager = PluginManager(entry_points=False, environ={})
    manager.register(plugin(slow), "slow")

    async def main() -> None:
        task = asyncio.ensure_future(manager.acall("request.translate", REQUEST))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert manager.plugin("slow").state is PluginState.ACTIVE


def test_base_exceptions_come_out_escaped_and_the_deadline_is_withdrawn() -> None:
    async def exits() -> None:
        await asyncio.sleep(0)
        raise SystemExit(3)

    async def main() -> None:
        with pytest.raises(Escaped):
            await run_inline(exits(), 5.0)
        loop = asyncio.get_running_loop()
        assert not loop._pluginkit_clock.pending  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)

    asyncio.run(main())


def test_futures_the_plugin_waits_on_are_handed_to_the_callers_task() -> None:
    async def waits(value: int) -> int:
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, value)
        return await future + await asyncio.sleep(0, 1)

    assert asyncio.run(run_inline(waits(41), 1.0)) == 42


def test_a_nested_calls_deadline_is_that_calls_business_only() -> None:
    """A hook that calls another plugin's hook which times out gets ``timeout`` for that call and answers on; its
    own caller is not cancelled by the inner deadline."""
    manager = PluginManager(
        {"pluginkit": {"timeouts": {"request.normalize": 0.1, "request.translate": 5}}}, entry_points=False, environ={}
    )

    async def slow(params: t.RequestTranslateRequest) -> t.BodyResult:
        await asyncio.sleep(10)
        return t.BodyResult(body=b"never")  # pragma: no cover

    async def outer(params: t.RequestTranslateRequest) -> t.BodyResult:
        inner = await manager.acall("request.normalize", params)  # a chain: the timed-out plugin is skipped
        return t.BodyResult(body=b"after " + inner.body)

    manager.register(SimpleNamespace(request_normalize=hookimpl(slow)), "slow")
    manager.register(SimpleNamespace(request_translate=hookimpl(outer)), "outer")
    started = time.monotonic()
    result = asyncio.run(manager.acall("request.translate", REQUEST))
    assert result.body == b"after {}" and time.monotonic() - started < 2
    assert manager.plugin("outer").state is PluginState.ACTIVE


@types.coroutine
def _yield(value: object) -> Generator[object, None, None]:
    yield value


class _LooksLikeAFuture:
    _asyncio_future_blocking = True

    def get_loop(self) -> None:
        raise ValueError("not a loop")


@pytest.mark.parametrize("garbage", [42, _LooksLikeAFuture()])
def test_what_a_coroutine_yields_that_is_no_future_of_the_loop_is_thrown_back_at_it(garbage: object) -> None:
    async def yields_garbage(params: t.RequestTranslateRequest) -> t.BodyResult:
        await _yield(garbage)
        return t.BodyResult(body=b"never")  # pragma: no cover

    started = time.monotonic()
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(manager_with(yields_garbage).acall("request.translate", REQUEST))
    assert caught.value.code == "plugin_error" and "not a future of this loop" in caught.value.message
    assert time.monotonic() - started < 1  # not wedged until the limit, let alone forever


@pytest.mark.parametrize("idiom", ["own_timeout", "cancelled_helper"])
def test_a_cancellation_the_plugin_raises_and_handles_itself_is_its_own_affair(idiom: str) -> None:
    async def own_timeout(params: t.RequestTranslateRequest) -> t.BodyResult:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(1)
        except TimeoutError:
            return t.BodyResult(body=b"fallback")
        return t.BodyResult(body=b"never")  # pragma: no cover

    async def cancelled_helper(params: t.RequestTranslateRequest) -> t.BodyResult:
        helper = asyncio.ensure_future(asyncio.sleep(1))
        await asyncio.sleep(0)
        helper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helper
        return t.BodyResult(body=b"fallback")

    manager = manager_with(own_timeout if idiom == "own_timeout" else cancelled_helper)
    assert asyncio.run(manager.acall("request.translate", REQUEST)).body == b"fallback"
    assert manager.plugin("inline").state is PluginState.ACTIVE


def test_a_timeout_error_the_plugin_raises_is_its_failure_not_a_time_out() -> None:
    async def socket_timeout(params: t.RequestTranslateRequest) -> t.BodyResult:
        raise TimeoutError("upstream read timed out")

    with pytest.raises(PluginKitError) as caught:
        asyncio.run(manager_with(socket_timeout).acall("request.translate", REQUEST))
    assert caught.value.code == "plugin_error" and "upstream read timed out" in caught.value.message
