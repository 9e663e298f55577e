"""Several plugins on one call share one read-only copy of params whose fields are all immutable (issue 14)."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from pluginkit import PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.wire._payload import ReadOnlyParams, sealer


class Appends:
    """A chain link: appends its mark to the body, recording the params object it was given."""

    def __init__(self, mark: bytes) -> None:
        self.mark, self.seen = mark, []

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        self.seen.append(params)
        return t.BodyResult(body=params.body + self.mark)


class AsyncAppends(Appends):
    @hookimpl
    async def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:  # type: ignore[override]
        return Appends.request_normalize(self, params)


class Changes:
    """Tries to change the params it was given."""

    @hookimpl
    def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
        params.model = "changed"
        return t.BodyResult(body=b"never")


def manager_with(*plugins: tuple[str, object]) -> PluginManager:
    manager = PluginManager(entry_points=False, environ={})
    for plugin_id, plugin in plugins:
        manager.register(plugin, plugin_id)
    return manager


def test_a_chain_of_plugins_shares_one_read_only_copy() -> None:
    a, b, c = Appends(b"+a"), Appends(b"+b"), Appends(b"+c")
    caller = t.RequestTranslateRequest(model="m", body=b"x")
    with manager_with(("a", a), ("b", b), ("c", c)) as manager:
        assert manager.call("request.normalize", caller).body == b"x+a+b+c"
    shared = a.seen[0]
    assert b.seen[0] is shared and c.seen[0] is shared and shared is not caller  # one copy for the call
    assert isinstance(shared, t.RequestTranslateRequest) and caller.body == b"x"
    assert shared == t.RequestTranslateRequest(model="m", body=b"x+a+b+c")  # equal to a plain object
    assert attrs.evolve(shared, body=b"new").body == b"new"  # evolve still works
    with pytest.raises(ReadOnlyParams, match=r"RequestTranslateRequest.body: .* read-only"):
        shared.body = b"y"


def test_a_plugin_changing_shared_params_fails_alone() -> None:
    """The plugin that changes its params fails, named, and is fused; the others see the params unchanged."""
    after = Appends(b"+after")
    caller = t.RequestTranslateRequest(model="m", body=b"x")
    with manager_with(("a-changes", Changes()), ("b-after", after)) as manager:
        notes: list[tuple[str, str]] = []
        assert manager.call("request.normalize", caller, notes=notes).body == b"x+after"
        assert notes == [("a-changes", "error:plugin_error"), ("b-after", "answered")]
        assert manager.plugin("a-changes").state is PluginState.FUSED
    assert after.seen[0].model == "m" and caller.model == "m"


def test_the_async_rule_shares_the_copy_too() -> None:
    a, b = AsyncAppends(b"+a"), Appends(b"+b")

    async def run(manager: PluginManager) -> Any:
        return await manager.acall("request.normalize", t.RequestTranslateRequest(body=b"x"))

    with manager_with(("a", a), ("b", b)) as manager:
        assert asyncio.run(run(manager)).body == b"x+a+b"
    assert a.seen[0] is b.seen[0]


def test_a_lone_plugin_gets_a_private_copy_it_may_change() -> None:
    """One plugin alone is handed a copy of its own (the manager copies the caller's object for it)."""

    class Lone:
        @hookimpl
        def request_normalize(self, params: t.RequestTranslateRequest) -> t.BodyResult:
            params.body += b"!"
            return t.BodyResult(body=params.body)

    caller = t.RequestTranslateRequest(body=b"x")
    with manager_with(("lone", Lone())) as manager:
        assert manager.call("request.normalize", caller).body == b"x!"
    assert caller.body == b"x"


def test_only_classes_of_immutable_fields_are_sealed() -> None:
    assert sealer(t.RequestTranslateRequest) is not None
    assert sealer(t.RequestInterceptRequest) is None  # headers and metadata are dicts: a copy per plugin instead
