"""Payloads of the ``tool.*`` ABI methods: tool definitions, the list a plugin offers, a call's request.

Wire names follow the seed's JSON (``input_schema``, ``tool_name``, ``params``); Python attributes are
snake_case. Results and their content kinds live in :mod:`pluginkit.tools._results`.
"""

from __future__ import annotations

from typing import Any

from attrs import Factory

from pluginkit.errors import PluginError
from pluginkit.wire._payload import payload, wire_field

__all__ = ["Tool", "ToolCallRequest", "ToolError", "ToolList"]


@payload(case="snake")
class Tool:
    """A tool a plugin offers: its name, what it does, and the JSON Schema of its arguments.

    ``input_schema`` is a whole JSON Schema whose root describes an object — what the builder
    (:func:`pluginkit.tools.new_tool`) or a typed function produces, or a raw schema given by hand.
    """

    name: str = ""
    description: str = ""
    input_schema: dict[str, Any] = Factory(dict)

    def to_mcp(self) -> dict[str, Any]:
        """The tool as MCP lists it (``inputSchema`` in camelCase)."""
        out: dict[str, Any] = {"name": self.name, "inputSchema": self.input_schema or {"type": "object"}}
        if self.description:
            out["description"] = self.description
        return out


@payload(case="snake")
class ToolList:
    """Result of ``tool.list``: every tool the plugin offers and, optionally, what the plugin is about."""

    tools: list[Tool] = Factory(list)
    #: One line about the plugin (the seed's ``PluginInfo.description``).
    description: str = ""


@payload(case="snake")
class ToolCallRequest:
    """Params of ``tool.call``: which tool, with which arguments (the seed's ``CallToolArgs``)."""

    name: str = wire_field(default="", name="tool_name")
    arguments: dict[str, Any] = wire_field(factory=dict, name="params")


class ToolError(PluginError):
    """Raised by a tool to fail with a message meant for the model.

    The message becomes the text of an ``isError`` result as written (secret-looking values masked). Any other
    exception a tool raises is reported only by its type — its message may carry data the model must not see —
    and logged with its traceback on the host.
    """

    default_code = "tool_error"

    def __init__(self, message: str, code: str | None = None, *, retryable: bool = False) -> None:
        super().__init__(code, message, retryable)
