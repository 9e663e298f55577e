"""The ``tool.*`` family of the ABI table.

Called by :mod:`pluginkit.abi` while it builds the table (before the hookspecs are generated), so this module
imports nothing that needs the finished table.
"""

from __future__ import annotations

__all__ = ["define_methods"]


def define_methods() -> None:
    """Add ``tool.list`` and ``tool.call`` (capability ``tool_provider``) to the ABI table."""
    from pluginkit import abi
    from pluginkit import types as t
    from pluginkit.tools._results import CallToolResult
    from pluginkit.tools._types import ToolCallRequest, ToolList

    abi.define(
        "tool.list", t.Empty, ToolList, abi.Combine.FAN_OUT,
        capability="tool_provider", timeout=10.0,
        summary="List the tools the plugin offers.",
        doc="""
        Return every tool: ``name`` (1-128 letters, digits, ``_``, ``-``, ``.``), ``description`` and
        ``input_schema`` (a JSON Schema whose root is an object). Hosts list tools once when plugins load and
        again when asked to refresh. A ``pluginkit.tools.ToolSet`` answers this from its decorated functions.
        """,
    )
    abi.define(
        "tool.call", ToolCallRequest, CallToolResult, abi.Combine.SINGLE_OWNER,
        capability="tool_provider", owner="priority", fallback=abi.Fallback.ERROR, timeout=60.0,
        summary="Run one of the plugin's tools.",
        doc="""
        Run the tool ``params.name`` with ``params.arguments`` and return its result. A failure of the tool
        itself is a result with ``is_error`` set and a text saying what failed — the model reads it and can
        correct its call; raise ``PluginError("not_found", ...)`` for a tool you do not have. Hosts route each
        call to the plugin that owns the tool (``ToolRegistry``) and validate the arguments against the tool's
        schema first. An ``async`` hook (or a returned coroutine) is cancelled past the time limit.
        """,
    )
