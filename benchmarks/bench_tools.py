"""Tool calls: a trivial three-argument tool called through the registry, validation included.

The floor is what a host would do by hand: validate the arguments with a precompiled ``fastjsonschema`` validator
(the fastest JSON-Schema validator for Python, compiling schemas to Python code) and call the function directly.
The registry does more — it resolves the name, checks the plugin is active, counts the call for shutdown,
validates, prepares the arguments, calls, and wraps the return value in a ``CallToolResult`` — and its target is
at most 2x that floor. The generic hook path (``PluginManager.call_plugin`` with a ``ToolCallRequest``) and the
``async`` entry point are shown for comparison, without a target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import fastjsonschema

from benchmarks._harness import Table, measurer
from pluginkit import PluginManager
from pluginkit.tools import CallToolResult, ToolCallRequest, ToolRegistry, ToolSet

BASELINE = "fastjsonschema + direct call"
TARGET = 2.0  # the registry may take at most this multiple of the floor's time


def add(a: int, b: int, label: str) -> str:
    """The trivial tool: three arguments in, a short text out."""
    return f"{label}: {a + b}"


def cases() -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    tools = ToolSet("bench")
    tools.tool(add)
    manager = PluginManager(entry_points=False)
    manager.register(tools)
    registry = ToolRegistry(manager)
    arguments = {"a": 2, "b": 3, "label": "sum"}
    schema = registry.tool("add").tool.input_schema
    validate = fastjsonschema.compile(schema)
    request = ToolCallRequest(name="add", arguments=arguments)
    call = registry.call
    loop = asyncio.new_event_loop()

    def floor() -> str:
        return add(**validate(arguments))

    def through_registry() -> CallToolResult:
        return call("add", arguments)

    def generic_hook() -> CallToolResult:
        result: CallToolResult = manager.call_plugin("bench", "tool.call", request)
        return result

    def async_registry() -> CallToolResult:
        return loop.run_until_complete(registry.acall("add", arguments))

    # Same answer before timing, checked with `if` so `python -O` cannot skip it.
    if floor() != "sum: 5" or through_registry().text != "sum: 5" or generic_hook().text != "sum: 5":
        raise AssertionError("the cases do not compute the same answer")
    if not call("add", {"a": 2, "b": "3", "label": "sum"}).is_error:
        raise AssertionError("the registry did not validate")

    def close() -> None:
        loop.close()
        registry.shutdown()
        manager.shutdown()

    return {
        BASELINE: floor,
        "ToolRegistry.call": through_registry,
        "manager.call_plugin (generic hook path)": generic_hook,
        "ToolRegistry.acall (sync tool in a thread)": async_registry,
    }, close


def run(quick: bool) -> list[Table]:
    measure = measurer(quick)
    table = Table("tool call: 3 arguments, validation included", baseline=BASELINE)
    found, close = cases()
    try:
        for case, fn in found.items():
            table.add(case, measure(fn), target=TARGET if case == "ToolRegistry.call" else None)
    finally:
        close()
    return [table]
