"""``pluginkit mcp``: every loaded plugin tool, served to MCP clients over stdio with the official ``mcp`` package.

The server is the SDK's low-level one: tools are listed from the :class:`~pluginkit.tools.ToolRegistry` under the
names that call them, and each call goes through :meth:`ToolRegistry.acall` — validation, deadlines, failure
isolation — before its result is given in the MCP shape (:meth:`CallToolResult.to_mcp`). Following the MCP
specification, a tool's own failure (including invalid arguments and time-outs) is a result with ``isError``;
an unknown tool is a protocol error. Works with ``mcp`` 1.x (decorator API) and 2.x (constructor API).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
from typing import Any

from pluginkit.errors import PluginKitError
from pluginkit.tools._registry import ToolRegistry
from pluginkit.tools._results import error_result

__all__ = ["build_server", "serve_stdio"]


def _require_mcp() -> Any:
    try:
        import mcp.types  # deferred: an optional dependency (pluginkit[mcp])
    except ImportError:
        raise PluginKitError(
            "not_handled", "`pluginkit mcp` needs the MCP SDK: pip install 'pluginkit[mcp]'"
        ) from None
    return mcp.types


def _protocol_error(code: int, message: str) -> Exception:
    """The SDK's JSON-RPC error: ``MCPError(code, message)`` in 2.x, ``McpError(ErrorData)`` in 1.x."""
    exceptions: Any = importlib.import_module("mcp.shared.exceptions")
    if hasattr(exceptions, "MCPError"):
        error: Exception = exceptions.MCPError(code, message)
    else:
        types = _require_mcp()
        error = exceptions.McpError(types.ErrorData(code=code, message=message))
    return error


async def _call(registry: ToolRegistry, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """One ``tools/call``, answered in the MCP shape (raises the SDK's error for an unknown tool)."""
    types = _require_mcp()
    try:
        result = await registry.acall(name, arguments or {})
    except PluginKitError as exc:
        if exc.code == "not_found":
            raise _protocol_error(types.INVALID_PARAMS, exc.message) from None
        result = error_result(exc.message, exc.code)
    return result.to_mcp()


def build_server(registry: ToolRegistry, name: str = "pluginkit", version: str = "") -> Any:
    """An ``mcp.server.lowlevel.Server`` serving ``registry``'s tools."""
    types = _require_mcp()
    Server: Any = importlib.import_module("mcp.server.lowlevel").Server

    def listing() -> list[Any]:
        return [types.Tool.model_validate({**e.tool.to_mcp(), "name": e.name}) for e in registry.list_tools()]

    if "on_call_tool" in inspect.signature(Server.__init__).parameters:  # mcp 2.x

        async def on_list_tools(ctx: Any, params: Any) -> Any:
            return types.ListToolsResult(tools=listing())

        async def on_call_tool(ctx: Any, params: Any) -> Any:
            return types.CallToolResult.model_validate(await _call(registry, params.name, params.arguments))

        return Server(name, version=version, on_list_tools=on_list_tools, on_call_tool=on_call_tool)

    server = Server(name, version=version or None)  # mcp 1.x

    async def list_tools() -> list[Any]:
        return listing()

    async def call_tool(tool: str, arguments: dict[str, Any]) -> Any:
        return types.CallToolResult.model_validate(await _call(registry, tool, arguments))

    server.list_tools()(list_tools)
    # The registry validates (naming field and rule); the 1.x SDK's own jsonschema check would answer first.
    own_check = "validate_input" in inspect.signature(server.call_tool).parameters
    (server.call_tool(validate_input=False) if own_check else server.call_tool())(call_tool)
    return server


async def serve_stdio(registry: ToolRegistry, name: str = "pluginkit", version: str = "") -> None:
    """Serve ``registry``'s tools on this process's stdin/stdout until the client disconnects.

    Plugins are loaded before serving with ``print`` redirected to stderr, so a chatty plugin cannot corrupt the
    protocol stream.
    """
    _require_mcp()
    from mcp.server.stdio import stdio_server  # deferred: optional, as above

    with contextlib.redirect_stdout(sys.stderr):
        registry.load_all()
    server = build_server(registry, name, version)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
