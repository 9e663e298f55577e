"""The registry: listing, name resolution and conflicts, validation before the tool runs, errors inside tools,
deadlines and cancellation, file limits, hand-written tool plugins."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

import pluginkit
from pluginkit import PluginKitError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.tools import CallToolResult, FileContent, Tool, ToolError, ToolList, ToolRegistry, ToolSet


@pytest.fixture
def manager() -> Iterator[PluginManager]:
    m = PluginManager(entry_points=False)
    yield m
    m.shutdown()


@pytest.fixture
def registry(manager: PluginManager) -> Iterator[ToolRegistry]:
    r = ToolRegistry(manager)
    yield r
    r.shutdown()


def math_tools(plugin_id: str = "math", offset: int = 0) -> ToolSet:
    tools = ToolSet(plugin_id, description="Arithmetic.")

    @tools.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b + offset

    return tools


def error(call: Any) -> PluginKitError:
    with pytest.raises(PluginKitError) as caught:
        call()
    return caught.value


# -- listing and lookups ---------------------------------------------------------------------------------------


def test_lists_plugins_and_tools(manager: PluginManager, registry: ToolRegistry) -> None:
    manager.register(math_tools())
    manager.register(object(), "not-a-tool-plugin")
    registry.refresh()
    [plugin] = registry.list_plugins()
    assert (plugin.id, plugin.name, plugin.description) == ("math", "math", "Arithmetic.")
    assert [tool.name for tool in plugin.tools] == ["add"]
    assert [(e.name, e.plugin_id, e.qualified_name) for e in registry.list_tools()] == [("add", "math", "math.add")]
    assert registry.get_plugin("math") == plugin == registry.owner("add") == registry.owner("math.add")
    assert registry.tool("math.add").tool.description == "Add two integers."
    assert registry.call("add", {"a": 1, "b": 2}).text == "3"
    assert error(lambda: registry.call("sub", {})).code == "not_found"
    assert error(lambda: registry.get_plugin("nobody")).code == "not_found"
    assert error(lambda: registry.get_plugin("not-a-tool-plugin")).code == "not_found"
    assert error(lambda: registry.owner("sub")).code == "not_found"


def test_conflicts_never_overwrite_silently(
    manager: PluginManager, registry: ToolRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    manager.register(math_tools("low", offset=100), priority=1)
    manager.register(math_tools("high", offset=200), priority=5)
    manager.register(math_tools("also-high", offset=300), priority=5)
    caplog.set_level(logging.WARNING, logger="pluginkit.tools")
    registry.refresh()
    assert registry.call("add", {"a": 0, "b": 0}).text == "300"  # priority, then the lower ID
    assert [registry.call(f"{p}.add", {"a": 0, "b": 0}).text for p in ("low", "high", "also-high")] == [
        "100", "200", "300"
    ]
    [conflict] = registry.conflicts
    assert (conflict.name, conflict.winner, conflict.others) == ("add", "also-high", ("high", "low"))
    assert "tool 'add' is offered by also-high and high, low" in caplog.text
    assert [e.name for e in registry.list_tools()] == ["add", "high.add", "low.add"]
    assert registry.owner("add").id == "also-high"


def test_a_qualified_name_always_wins_over_a_bare_name(manager: PluginManager, registry: ToolRegistry) -> None:
    manager.register(math_tools("math"))
    dotted = ToolSet("other")
    dotted.add(lambda: "dotted", name="math.add")
    manager.register(dotted, priority=10)
    registry.refresh()
    assert registry.call("math.add", {"a": 1, "b": 1}).text == "2"
    assert registry.call("other.math.add").text == "dotted"
    assert [(c.name, c.winner, c.others) for c in registry.conflicts] == [("math.add", "math", ("other",))]
    assert {e.name for e in registry.list_tools()} == {"other.math.add", "add"}


# -- validation and errors inside tools ----------------------------------------------------------------------


def test_arguments_are_validated_before_the_tool_runs(manager: PluginManager, registry: ToolRegistry) -> None:
    runs: list[int] = []
    tools = ToolSet("v")

    @tools.tool
    def count(n: int, label: str = "x") -> int:
        runs.append(n)
        return n

    manager.register(tools)
    for arguments, field, rule in [
        ({}, "n", "required"), ({"n": "1"}, "n", "type"), ({"n": 1, "extra": 2}, "extra", "additionalProperties"),
        ({"n": 1, "label": None}, "label", "type"),
    ]:
        result = registry.call("count", arguments)
        assert result.is_error and result.error_info == {"code": "invalid_request", "field": field, "rule": rule}
        assert f"'{field}'" in result.text and f"(rule: {rule})" in result.text
        assert asyncio.run(registry.acall("count", arguments)).error_info["rule"] == rule
    assert runs == []
    assert registry.call("count", {"n": 2}).text == "2" and runs == [2]


def test_a_raising_tool_gives_an_error_result_without_traceback_or_secrets(
    manager: PluginManager, registry: ToolRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    tools = ToolSet("e")

    @tools.tool
    def explained() -> str:
        raise ToolError("quota exceeded for key sk-abcdefghijklmnopqrstu; retry tomorrow")

    @tools.tool
    def crashes() -> str:
        raise KeyError("password=hunter2")

    @tools.tool
    async def crashes_async() -> str:
        raise RuntimeError("token=abc")

    manager.register(tools)
    caplog.set_level(logging.ERROR, logger="pluginkit.tools")
    explained_result = registry.call("explained")
    assert explained_result.is_error and explained_result.error_info == {"code": "tool_error"}
    assert explained_result.text == "quota exceeded for key [redacted]; retry tomorrow"
    # Seed behaviour (gophertool's RPC server, seed 002: a CallTool error becomes
    # NewErrorResult("调用工具失败: <err>")): the model reads the error's message, masked by the logging rule; the
    # traceback stays in the host's log.
    for name, text in (
        ("crashes", "KeyError: 'password=[redacted]'"), ("crashes_async", "RuntimeError: token=[redacted]"),
    ):
        result = registry.call(name)
        assert result.is_error and result.text == f"tool {name!r} failed: {text}"
        assert "hunter2" not in repr(result) and "Traceback" not in repr(result)
    assert "Traceback" in caplog.text and "hunter2" not in caplog.text  # the log has the details, masked too
    assert manager.plugin("e").state is PluginState.ACTIVE  # a tool's failure never fuses its plugin


# -- arguments in every form -------------------------------------------------------------------------------------


@attrs.define
class AddArgs:
    a: int
    b: int


@dataclasses.dataclass
class AddArgsDC:
    a: int
    b: int = 10


def test_call_with_typed_objects_and_json(manager: PluginManager, registry: ToolRegistry) -> None:
    manager.register(math_tools())
    assert registry.call("add", AddArgs(1, 2)).text == "3"
    assert registry.call("add", AddArgsDC(1)).text == "11"
    assert registry.call("add", '{"a": 4, "b": 5}').text == "9"
    assert registry.call("add", b'{"a": 4, "b": 6}').text == "10"
    assert registry.call("add", None).error_info["rule"] == "required"
    assert error(lambda: registry.call("add", "[1, 2]")).code == "invalid_request"
    assert error(lambda: registry.call("add", "{oops")).code == "invalid_request"
    assert error(lambda: registry.call("add", 5)).code == "invalid_request"


# -- deadlines and cancellation ----------------------------------------------------------------------------------


def slow_tools(release: threading.Event, cancelled: list[str]) -> ToolSet:
    tools = ToolSet("slow")

    @tools.tool
    def sleepy(seconds: float) -> str:
        release.wait(seconds)
        return "woke"

    @tools.tool
    async def dreamy(seconds: float) -> str:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            cancelled.append("dreamy")
            raise
        return "woke"

    return tools


def test_a_deadline_really_stops_waiting(manager: PluginManager, registry: ToolRegistry) -> None:
    release, cancelled = threading.Event(), []
    manager.register(slow_tools(release, cancelled))
    try:
        for name in ("sleepy", "dreamy"):
            started = time.monotonic()
            failure = error(lambda name=name: registry.call(name, {"seconds": 30}, timeout=0.1))
            assert failure.code == "timeout" and failure.retryable
            assert failure.message == f"tool {name!r} took longer than 0.1s"
            assert time.monotonic() - started < 2
        deadline = time.monotonic() + 2
        while not cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cancelled == ["dreamy"]  # the async tool was cancelled, not left running
        assert registry.call("sleepy", {"seconds": 0}, timeout=5).text == "woke"
        assert registry.call("dreamy", {"seconds": 0}).text == "woke"
    finally:
        release.set()


def test_cancel_event_stops_the_wait(manager: PluginManager, registry: ToolRegistry) -> None:
    release, cancelled = threading.Event(), []
    manager.register(slow_tools(release, cancelled))
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    try:
        started = time.monotonic()
        assert error(lambda: registry.call("dreamy", {"seconds": 30}, cancel=cancel)).code == "cancelled"
        assert time.monotonic() - started < 2
        assert error(lambda: registry.call("sleepy", {"seconds": 30}, cancel=cancel)).code == "cancelled"
    finally:
        release.set()


def test_acall_keeps_the_event_loop_free_and_cancels(manager: PluginManager, registry: ToolRegistry) -> None:
    release, cancelled = threading.Event(), []
    manager.register(slow_tools(release, cancelled))

    async def scenario() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        result = await registry.acall("sleepy", {"seconds": 0.3})
        assert result.text == "woke" and ticks >= 5  # the sync tool ran in a worker thread
        failure = await asyncio.gather(registry.acall("dreamy", {"seconds": 30}, timeout=0.05), return_exceptions=True)
        assert isinstance(failure[0], PluginKitError) and failure[0].code == "timeout"
        task = asyncio.create_task(registry.acall("dreamy", {"seconds": 30}))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ticking.cancel()

    try:
        asyncio.run(scenario())
    finally:
        release.set()
    assert cancelled == ["dreamy", "dreamy"]


def test_default_time_limit_comes_from_the_configuration() -> None:
    manager = PluginManager({"pluginkit": {"timeouts": {"tool.call": 0.1}}}, entry_points=False)
    release, cancelled = threading.Event(), []
    manager.register(slow_tools(release, cancelled))
    registry = ToolRegistry(manager)
    try:
        assert error(lambda: registry.call("dreamy", {"seconds": 30})).code == "timeout"
        assert error(lambda: asyncio.run(registry.acall("dreamy", {"seconds": 30}))).code == "timeout"
    finally:
        release.set()
        registry.shutdown()
        manager.shutdown()


# -- files ---------------------------------------------------------------------------------------------------------


def test_file_content_is_checked(manager: PluginManager) -> None:
    tools = ToolSet("files")

    @tools.tool
    def picture(size: int) -> CallToolResult:
        return CallToolResult().add_image(b"x" * size, "image/png", "p.png")

    @tools.tool
    def garbage() -> FileContent:
        return FileContent(file_type="data", data="!!notbase64!!", mime_type="text/plain", name="g.txt")

    manager.register(tools)
    registry = ToolRegistry(manager, max_file_bytes=1000)
    try:
        assert registry.call("picture", {"size": 1000}).content[0].raw == b"x" * 1000
        big = registry.call("picture", {"size": 1001})
        assert big.is_error and big.error_info == {"code": "invalid_result"}
        assert big.text == (
            "the result of tool 'picture' was refused: file 'p.png' is 1001 bytes, over the limit of 1000 bytes"
        )
        bad = registry.call("garbage")
        assert bad.is_error and "file 'g.txt' has data that is not valid base64" in bad.text
        assert asyncio.run(registry.acall("garbage")).is_error
    finally:
        registry.shutdown()


# -- hand-written tool plugins (the generic hook path) ------------------------------------------------------------


class HandWritten:
    """A tool plugin written against the ABI directly: JSON-dict answers, PluginError, a crash, a bad listing."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def tool_list(self) -> ToolList:
        return ToolList(tools=[
            Tool(name="shout", input_schema={"type": "object", "properties": {"text": {"type": "string"}},
                                             "required": ["text"]}),
            Tool(name="deny"),
            Tool(name="crash"),
            Tool(name="bad name!"),
            Tool(name="bad-schema", input_schema={"type": "object", "properties": {"x": {"type": "strin"}}}),
            Tool(name="list-schema", input_schema={"type": "array"}),
            Tool(name="shout"),
        ])

    @hookimpl
    def tool_call(self, params: Any) -> Any:
        self.calls += 1
        if params.name == "shout":
            return {"content": [{"type": "text", "text": params.arguments["text"].upper()}]}
        if params.name == "deny":
            raise pluginkit.PluginError("forbidden", "not today")
        raise ZeroDivisionError("boom")


def test_hand_written_plugins_go_through_the_hook(manager: PluginManager, registry: ToolRegistry) -> None:
    plugin = HandWritten()
    manager.register(plugin, "hand")
    registry.refresh()
    assert [e.name for e in registry.list_tools()] == ["shout", "deny", "crash"]
    problems = "\n".join(registry.problems)
    for name in ("bad name!", "bad-schema", "list-schema"):
        assert f"tool {name!r} skipped" in problems
    assert "lists this name twice" in problems
    assert registry.call("shout", {"text": "hi"}).text == "HI"
    assert registry.call("shout", {"text": "hi"}, timeout=5).text == "HI"
    assert asyncio.run(registry.acall("hand.shout", {"text": "a"})).text == "A"
    assert registry.call("shout", {}).is_error and plugin.calls == 3  # refused before the plugin was asked
    denied = registry.call("deny")
    assert denied.is_error and denied.text == "not today" and denied.error_info == {"code": "forbidden"}
    crashed = registry.call("crash")
    assert crashed.is_error and crashed.text == "plugin 'hand' failed in tool.call: ZeroDivisionError: boom"
    assert manager.plugin("hand").state is PluginState.FUSED
    assert error(lambda: registry.call("shout", {"text": "x"})).code == "plugin_unavailable"
    assert registry.list_tools() == [] and registry.list_plugins() == []
    assert error(lambda: registry.get_plugin("hand")).code == "plugin_unavailable"


class AsyncHandWritten:
    @hookimpl
    def tool_list(self) -> ToolList:
        return ToolList(tools=[Tool(name="wait")])

    @hookimpl
    async def tool_call(self, params: Any) -> CallToolResult:
        await asyncio.sleep(params.arguments.get("seconds", 0))
        return CallToolResult().add_text("waited")


def test_async_hand_written_plugins_are_cancelled_at_the_deadline(
    manager: PluginManager, registry: ToolRegistry
) -> None:
    manager.register(AsyncHandWritten(), "async-hand")
    assert registry.call("wait").text == "waited"
    assert error(lambda: registry.call("wait", {"seconds": 30}, timeout=0.05)).code == "timeout"
    assert asyncio.run(registry.acall("wait")).text == "waited"
    assert error(lambda: asyncio.run(registry.acall("wait", {"seconds": 30}, timeout=0.05))).code == "timeout"


def test_undeclared_capability_is_reported(manager: PluginManager, registry: ToolRegistry) -> None:
    class Undeclared(HandWritten):
        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(capabilities=t.Capabilities(usage_plugin=True))

        @hookimpl
        def usage_handle(self) -> None:
            return None

    manager.register(Undeclared(), "undeclared")
    registry.refresh()
    assert registry.list_tools() == []
    assert registry.problems == ("undeclared: implements tool.list without declaring tool_provider; not listed",)


def test_inactive_plugins_and_shutdown(manager: PluginManager) -> None:
    manager.register(math_tools())
    registry = ToolRegistry(manager)
    assert registry.call("add", {"a": 1, "b": 1}).text == "2"
    manager.shutdown()
    failure = error(lambda: registry.call("add", {"a": 1, "b": 1}))
    assert failure.code == "plugin_unavailable" and "stopped" in failure.message
    registry.shutdown()


def test_many_threads_at_once(manager: PluginManager, registry: ToolRegistry) -> None:
    manager.register(math_tools())
    results: list[str] = []

    def worker(n: int) -> None:
        for i in range(50):
            results.append(registry.call("add", {"a": n, "b": i}).text)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(int, results)) == sorted(n + i for n in range(8) for i in range(50))


def test_the_request_id_reaches_tools_in_threads_and_on_the_loop(
    manager: PluginManager, registry: ToolRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    tools = ToolSet("logger")

    @tools.tool
    def sync_log(ctx: pluginkit.PluginContext) -> str:
        ctx.log.info("sync")
        return "ok"

    @tools.tool
    async def async_log(ctx: pluginkit.PluginContext) -> str:
        ctx.log.info("async")
        return "ok"

    manager.register(tools)
    caplog.set_level(logging.INFO, logger="pluginkit.plugin.logger")
    token = pluginkit.current_request_id.set("req-7")
    try:
        registry.call("sync_log", timeout=5)
        registry.call("async_log")
        asyncio.run(registry.acall("sync_log"))
    finally:
        pluginkit.current_request_id.reset(token)
    records = [r for r in caplog.records if r.name == "pluginkit.plugin.logger"]
    assert [(r.getMessage(), r.request_id) for r in records] == [("sync", "req-7"), ("async", "req-7"),
                                                                   ("sync", "req-7")]
