"""The registry's name table: which (plugin, tool) a name reaches, and what a clash looks like.

Qualified names (``plugin_id.tool``) always reach their tool. A bare name reaches the highest-priority plugin
offering it (ties: the lower plugin ID, the manager's call order) — and every clash is reported, where the seed let
the last plugin loaded win silently.
"""

from __future__ import annotations

import inspect

import attrs

from pluginkit.runtime import PluginRecord, PluginState
from pluginkit.tools._schema import TOOL_NAME
from pluginkit.tools._toolset import BoundTool, ToolSet
from pluginkit.tools._types import Tool
from pluginkit.tools._validate import Check

__all__ = ["ToolConflict", "ToolEntry", "ToolPlugin"]


@attrs.frozen
class ToolPlugin:
    """A plugin that offers tools (the seed's ``LoadedPlugin``): who it is and its tools."""

    id: str
    name: str
    version: str
    author: str
    description: str
    state: PluginState
    tools: tuple[Tool, ...]


@attrs.frozen
class ToolEntry:
    """One tool of one plugin. ``name`` is what calls it: its own name, or ``plugin_id.tool`` when another
    plugin wins the bare name."""

    name: str
    plugin_id: str
    tool: Tool

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin_id}.{self.tool.name}"


@attrs.frozen
class ToolConflict:
    """Several plugins answering to one tool name: ``winner`` gets the calls, the ``others`` are reachable
    only by their qualified names."""

    name: str
    winner: str
    others: tuple[str, ...]

    def __str__(self) -> str:
        losers = ", ".join(self.others)
        return f"tool {self.name!r} is offered by {self.winner} and {losers}; it calls {self.winner} (priority)"


class Route:
    """How a call to one (plugin, tool) is made; shared by the tool's bare and qualified names."""

    __slots__ = ("bound", "hook_async", "plugin_id", "record", "tool_name", "validate")

    def __init__(self, record: PluginRecord, tool: Tool, validate: Check, bound: BoundTool | None) -> None:
        self.record = record
        self.plugin_id = record.id
        self.tool_name = tool.name
        self.validate = validate
        self.bound = bound
        self.hook_async = inspect.iscoroutinefunction(getattr(record.obj, "tool_call", None))


def toolset_of(record: PluginRecord) -> ToolSet | None:
    """The :class:`ToolSet` whose own ``tool_call`` is the plugin's hookimpl, if it is one."""
    hook = getattr(record.obj, "tool_call", None)
    owner = getattr(hook, "__self__", None)
    if isinstance(owner, ToolSet) and getattr(hook, "__func__", None) is ToolSet.tool_call:
        return owner
    return None


def tool_problem(tool: Tool, earlier: list[Tool]) -> str | None:
    if not TOOL_NAME.match(tool.name):
        return "a tool name must be 1-128 letters, digits, '_', '-' or '.'"
    if any(other.name == tool.name for other in earlier):
        return "the plugin lists this name twice"
    schema = tool.input_schema
    if schema and schema.get("type", "object") != "object":
        return "its input schema must describe an object"
    return None


def resolve(
    offered: list[tuple[PluginRecord, Tool, Check, BoundTool | None]],
) -> tuple[dict[str, Route], tuple[ToolEntry, ...], tuple[ToolConflict, ...]]:
    """Name table: qualified names (``plugin.tool``) always reach their tool; a bare name reaches the first
    plugin offering it (``offered`` is in priority order). Every clash is reported."""
    bare: dict[str, list[Route]] = {}
    qualified: dict[str, list[Route]] = {}
    for record, tool, validate, bound in offered:
        route = Route(record, tool, validate, bound)
        bare.setdefault(tool.name, []).append(route)
        qualified.setdefault(f"{record.id}.{tool.name}", []).append(route)
    conflicts: list[ToolConflict] = []
    routes: dict[str, Route] = {}
    for name, owners in bare.items():
        routes[name] = owners[0]
        if len(owners) > 1:
            conflicts.append(ToolConflict(name, owners[0].plugin_id, tuple(r.plugin_id for r in owners[1:])))
    for name, owners in qualified.items():
        shadowed = routes.get(name)
        if shadowed is not None and shadowed is not owners[0]:
            conflicts.append(ToolConflict(name, owners[0].plugin_id, (shadowed.plugin_id,)))
        elif len(owners) > 1:
            conflicts.append(ToolConflict(name, owners[0].plugin_id, tuple(r.plugin_id for r in owners[1:])))
        routes[name] = owners[0]
    entries = []
    for record, tool, _, _ in offered:
        winner = routes.get(tool.name)
        reached = winner is not None and winner.plugin_id == record.id and winner.tool_name == tool.name
        entries.append(ToolEntry(tool.name if reached else f"{record.id}.{tool.name}", record.id, tool))
    return routes, tuple(entries), tuple(conflicts)
