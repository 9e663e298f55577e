"""The ``tool.*`` family of the ABI table (listed in :mod:`pluginkit.abi._families`)."""

from __future__ import annotations

from pluginkit import types as t
from pluginkit.abi import Combine, Fallback, Method
from pluginkit.tools._results import CallToolResult
from pluginkit.tools._types import ToolCallRequest, ToolList

__all__ = ["METHODS"]

#: ``tool.list`` and ``tool.call``, declared with the ``tool_provider`` capability.
METHODS: tuple[Method, ...] = (
    Method(
        "tool.list", t.Empty, ToolList, Combine.FAN_OUT,
        capability="tool_provider", timeout=10.0,
        summary="List the tools the plugin offers.",
        doc="""
        Return every tool: ``name`` (1-128 letters, digits, ``_``, ``-``, ``.``), ``description`` and
        ``input_schema`` (a JSON Schema whose root is an object). Hosts list tools once when plugins load and
        again when asked to refresh. A ``pluginkit.tools.ToolSet`` answers this from its decorated functions.
        """,
    ),
    Method(
        "tool.call", ToolCallRequest, CallToolResult, Combine.SINGLE_OWNER,
        capability="tool_provider", owner="priority", fallback=Fallback.ERROR, timeout=60.0,
        summary="Run one of the plugin's tools.",
        doc="""
        Run the tool ``params.name`` with ``params.arguments`` and return its result. A failure of the tool
        itself is a result with ``is_error`` set and a text saying what failed — the model reads it and can
        correct its call; raise ``PluginError("not_found", ...)`` for a tool you do not have. Hosts route each
        call to the plugin that owns the tool (``ToolRegistry``) and validate the arguments against the tool's
        schema first. An ``async`` hook (or a returned coroutine) is cancelled past the time limit.
        """,
    ),
)
