"""``pluginkit tools list``, ``pluginkit tools call NAME [JSON | -]`` and ``pluginkit mcp``.

Handlers build a :class:`~pluginkit.tools.ToolRegistry` on the configuration given with ``--config`` and return
the exit code; errors are a ``PluginKitError``, which the CLI prints as one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pluginkit import __version__
from pluginkit.cli._table import format_table
from pluginkit.errors import PluginKitError

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Add the tools family's subcommands to the ``pluginkit`` parser."""
    tools = subparsers.add_parser("tools", help="list and call the tools plugins offer")
    sub = tools.add_subparsers(dest="tools_command", required=True)
    p = sub.add_parser("list", help="every tool, the name that calls it and its plugin; conflicts")
    p.add_argument("--json", action="store_true", help="print the tools with their input schemas as JSON")
    p.set_defaults(run=cmd_tools_list)
    p = sub.add_parser("call", help="call a tool and print its result (exit 1 when the result is an error)")
    p.add_argument("name", help="the tool's name, or plugin_id.tool")
    p.add_argument("arguments", nargs="?", help="arguments as a JSON object, or - to read them from stdin")
    p.add_argument("--timeout", type=float, help="give up after this many seconds")
    p.add_argument("--mcp", action="store_true", help="print the result in the MCP shape")
    p.set_defaults(run=cmd_tools_call)
    p = subparsers.add_parser("mcp", help="serve every plugin tool as an MCP server over stdio")
    p.add_argument("--name", default="pluginkit", help="the server name announced to clients")
    p.set_defaults(run=cmd_mcp)


def _registry(args: argparse.Namespace) -> Any:
    from pluginkit.tools import ToolRegistry  # deferred: tools load when a tools command runs, not for --help

    return ToolRegistry(config=args.config)


def cmd_tools_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    try:
        registry.load_all()
        entries = registry.list_tools()
        conflicts, problems = registry.conflicts, registry.problems
    finally:
        registry.shutdown()
    if args.json:
        rows = [
            {
                "name": e.name,
                "plugin": e.plugin_id,
                "qualified_name": e.qualified_name,
                "description": e.tool.description,
                "input_schema": e.tool.input_schema,
            }
            for e in entries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("no tools (no loaded plugin implements tool.list)")
    else:
        rows_t = [(e.name, e.plugin_id, _first_line(e.tool.description)) for e in entries]
        print(format_table(rows_t, ("tool", "plugin", "description")))
    for conflict in conflicts:
        print(f"conflict: {conflict}; the others are reachable as plugin_id.{conflict.name}")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


def _first_line(text: str, width: int = 70) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def cmd_tools_call(args: argparse.Namespace) -> int:
    raw = sys.stdin.read() if args.arguments == "-" else (args.arguments or "{}")
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PluginKitError("invalid_request", f"arguments are not JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise PluginKitError("invalid_request", "arguments must be a JSON object")
    registry = _registry(args)
    try:
        result = registry.call(args.name, arguments, timeout=args.timeout)
    finally:
        registry.shutdown()
    shape = result.to_mcp() if args.mcp else result.to_wire()
    print(json.dumps(shape, indent=2, ensure_ascii=False))
    return 1 if result.is_error else 0


def cmd_mcp(args: argparse.Namespace) -> int:
    import asyncio  # deferred like the registry

    from pluginkit.tools._mcp import serve_stdio  # deferred: needs the optional MCP SDK

    registry = _registry(args)
    try:
        asyncio.run(serve_stdio(registry, args.name, __version__))
    finally:
        registry.shutdown()
    return 0
