"""Tools: named functions with a JSON-schema input, offered by plugins and called by hosts (and LLMs).

Plugin side: :class:`ToolSet` turns decorated functions (or builder-made definitions) into the ``tool.list`` /
``tool.call`` hookimpls. Host side: :class:`ToolRegistry` lists and calls every plugin's tools with validation,
deadlines and failure isolation; ``pluginkit tools`` and ``pluginkit mcp`` reach them from the command line and
from any MCP client. See ``docs/tools.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pluginkit.tools._results import (
    CallToolResult,
    Content,
    FileContent,
    FileType,
    StructContent,
    TextContent,
    to_result,
)
from pluginkit.tools._schema import (
    Property,
    array,
    boolean,
    boolean_items,
    integer,
    integer_items,
    new_tool,
    number,
    number_items,
    object,
    object_items,
    string,
    string_enum_items,
    string_items,
)
from pluginkit.tools._toolset import BoundTool, ToolSet
from pluginkit.tools._types import Tool, ToolCallRequest, ToolError, ToolList
from pluginkit.tools._validate import SchemaError, ValidationError, compile_schema

if TYPE_CHECKING:  # imported on first use, by __getattr__ below
    from pluginkit.tools._registry import ToolConflict, ToolEntry, ToolPlugin, ToolRegistry

__all__ = [
    "BoundTool",
    "CallToolResult",
    "Content",
    "FileContent",
    "FileType",
    "Property",
    "SchemaError",
    "StructContent",
    "TextContent",
    "Tool",
    "ToolCallRequest",
    "ToolConflict",
    "ToolEntry",
    "ToolError",
    "ToolList",
    "ToolPlugin",
    "ToolRegistry",
    "ToolSet",
    "ValidationError",
    "array",
    "boolean",
    "boolean_items",
    "compile_schema",
    "integer",
    "integer_items",
    "new_tool",
    "number",
    "number_items",
    "object",
    "object_items",
    "string",
    "string_enum_items",
    "string_items",
    "to_result",
]

_LAZY = {"ToolConflict", "ToolEntry", "ToolPlugin", "ToolRegistry"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        # deferred: the registry imports discovery and threads; a plugin's ToolSet need not
        from pluginkit.tools import _registry

        return getattr(_registry, name)
    raise AttributeError(f"module 'pluginkit.tools' has no attribute {name!r}")
