"""The plugin author's side: decorated functions → the ``tool.list`` / ``tool.call`` hookimpls.

A plugin module makes a :class:`ToolSet`, decorates its functions with ``@tools.tool`` (schema derived from the
signature) or adds them with a builder-made :class:`~pluginkit.tools.Tool`, and points its entry point at the
set (``my-tools = "my_package:tools"``). The set *is* the plugin: it carries ``PLUGINKIT_ABI`` and implements
``tool.list`` and ``tool.call``, validating arguments, running sync and ``async`` tools, turning return values
into results and exceptions into ``isError`` results. Every plugin shares this code instead of copying it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, overload

import pluggy

from pluginkit.abi import ABI_VERSION
from pluginkit.errors import PluginError, PluginKitError
from pluginkit.redaction import redact_text
from pluginkit.runtime import PluginContext
from pluginkit.tools._from_function import derive
from pluginkit.tools._results import CallToolResult, error_result, to_result
from pluginkit.tools._schema import check_input_schema, check_tool_name
from pluginkit.tools._types import Tool, ToolCallRequest, ToolList
from pluginkit.tools._validate import SchemaError, ValidationError, compile_schema

__all__ = ["BoundTool", "ToolSet"]

log = logging.getLogger("pluginkit.tools")

# The same marker as ``pluginkit.hookimpl`` (pluggy marks by project name); made here because this module is
# imported while the ABI table is still being built, before ``pluginkit.abi._hookspecs`` may be imported.
_hookimpl = pluggy.HookimplMarker("pluginkit")

Function = Callable[..., Any]


class BoundTool:
    """One tool of a :class:`ToolSet`: its definition, its compiled argument check and its function."""

    __slots__ = ("context_param", "function", "is_async", "prepare", "tool", "validate")

    def __init__(
        self,
        tool: Tool,
        function: Function,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None,
        context_param: str | None,
    ) -> None:
        self.tool = tool
        self.function = function
        self.prepare = prepare
        self.context_param = context_param
        self.is_async = inspect.iscoroutinefunction(function)
        #: Raises :class:`~pluginkit.tools.ValidationError` for arguments the schema refuses.
        self.validate = compile_schema(tool.input_schema)

    @property
    def name(self) -> str:
        return self.tool.name

    def check(self, arguments: Any) -> CallToolResult | None:
        """``None`` when ``arguments`` fit the schema, else the ``isError`` result naming the field and rule."""
        try:
            self.validate(arguments)
        except ValidationError as exc:
            return invalid_arguments(self.tool.name, exc)
        return None

    def _kwargs(self, arguments: dict[str, Any], ctx: PluginContext | None) -> dict[str, Any]:
        kwargs = arguments if self.prepare is None else self.prepare(arguments)
        if self.context_param is not None:
            kwargs = {**kwargs, self.context_param: ctx}
        return kwargs

    def run(self, arguments: dict[str, Any], ctx: PluginContext | None = None) -> CallToolResult:
        """Run a sync tool on already-validated arguments; never raises (failures are ``isError`` results)."""
        try:
            if self.prepare is None and self.context_param is None:
                value = self.function(**arguments)
            else:
                value = self.function(**self._kwargs(arguments, ctx))
            if value.__class__ is str:
                return to_result(value)
            if inspect.isawaitable(value):
                close = getattr(value, "close", None)
                if close is not None:
                    close()
                raise TypeError("a sync tool returned an awaitable; declare it `async def`")
            return to_result(value)
        except ValidationError as exc:
            return invalid_arguments(self.tool.name, exc)
        except Exception as exc:
            return failure(self.tool.name, exc)

    async def run_async(self, arguments: dict[str, Any], ctx: PluginContext | None = None) -> CallToolResult:
        """Run the tool on already-validated arguments: awaited when ``async def``, else called inline."""
        if not self.is_async:
            return self.run(arguments, ctx)
        try:
            value = await self.function(**self._kwargs(arguments, ctx))
            return to_result(value)
        except ValidationError as exc:
            return invalid_arguments(self.tool.name, exc)
        except Exception as exc:
            return failure(self.tool.name, exc)


def invalid_arguments(tool: str, exc: ValidationError) -> CallToolResult:
    return error_result(
        f"invalid arguments for tool {tool!r}: {exc}", "invalid_request", field=exc.field, rule=exc.rule
    )


def failure(tool: str, exc: BaseException) -> CallToolResult:
    """A tool's exception → an ``isError`` result carrying its message, masked for secrets, as the seed's tool
    server does ("tool call failed: <err>"); the traceback goes to the host's log, masked too. A
    :class:`~pluginkit.tools.ToolError` (or ``PluginError``) message is shown as it is (masked)."""
    if isinstance(exc, PluginKitError):
        return error_result(redact_text(exc.message), exc.code)
    trace = redact_text("".join(traceback.format_exception(exc)).rstrip())
    log.error("tool %r raised:\n%s", tool, trace)
    return error_result(redact_text(f"tool {tool!r} failed: {type(exc).__name__}: {exc}"), "tool_error")


class ToolSet:
    """The tools of one plugin, and that plugin's ``tool.list`` / ``tool.call`` hookimpls.

    >>> tools = ToolSet("greeter")
    >>> @tools.tool
    ... def greet(name: str, excited: bool = False) -> str:
    ...     '''Say hello.
    ...
    ...     Args:
    ...         name: who to greet
    ...         excited: end with "!"
    ...     '''
    ...     return f"Hello, {name}" + ("!" if excited else ".")
    >>> tools.call("greet", {"name": "Ada"}).text
    'Hello, Ada.'
    >>> tools.call("greet", {"name": 42}).text
    "invalid arguments for tool 'greet': 'name': expected a string, got an integer (rule: type)"

    Register it from code (``manager.register(tools)``, the ID being ``plugin_id``) or name it in an entry
    point (``greeter = "my_module:tools"``); it declares ``PLUGINKIT_ABI`` itself.
    """

    PLUGINKIT_ABI = ABI_VERSION

    def __init__(self, plugin_id: str | None = None, *, description: str = "") -> None:
        if plugin_id is not None:
            self.PLUGINKIT_ID = plugin_id
        self.description = description
        self._tools: dict[str, BoundTool] = {}

    # -- defining tools ------------------------------------------------------------------------------------
    @overload
    def tool(self, function: Function, /) -> Function: ...
    @overload
    def tool(
        self, /, *, name: str | None = None, description: str | None = None, schema: Tool | None = None
    ) -> Callable[[Function], Function]: ...
    def tool(
        self,
        function: Function | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        schema: Tool | None = None,
    ) -> Function | Callable[[Function], Function]:
        """Decorator: add the function as a tool and return it unchanged.

        Without ``schema`` the input schema comes from the signature and the description from the docstring;
        ``name`` defaults to the function's name. With ``schema`` (a :func:`~pluginkit.tools.new_tool`
        definition) the function is called with the arguments as keywords.
        """

        def decorate(fn: Function) -> Function:
            self.add(schema if schema is not None else fn, fn, name=name, description=description)
            return fn

        return decorate(function) if function is not None else decorate

    def add(
        self,
        definition: Tool | Function,
        function: Function | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> BoundTool:
        """Add a tool: ``add(new_tool(...), fn)`` (the seed's style: an explicit schema) or ``add(fn)``."""
        if isinstance(definition, Tool):
            if function is None:
                raise SchemaError(f"tool {definition.name!r}: add(tool, function) needs the function to call")
            bound = self._explicit(definition, function, name, description)
        else:
            function = definition
            tool_name = check_tool_name(name or getattr(function, "__name__", ""))
            try:
                signature = derive(function, description=description)
            except SchemaError as exc:
                raise SchemaError(str(exc).replace(f"tool {function.__name__!r}", f"tool {tool_name!r}")) from None
            tool = Tool(name=tool_name, description=signature.description, input_schema=signature.input_schema)
            bound = BoundTool(tool, function, signature.prepare, signature.context_param)
        if bound.name in self._tools:
            raise SchemaError(f"tool {bound.name!r} is defined twice in this tool set")
        self._tools[bound.name] = bound
        return bound

    def _explicit(self, tool: Tool, function: Function, name: str | None, description: str | None) -> BoundTool:
        tool = Tool(
            name=check_tool_name(name or tool.name),
            description=tool.description if description is None else description,
            input_schema=check_input_schema(tool.input_schema, f"tool {tool.name!r}"),
        )
        signature = inspect.signature(function)
        params = signature.parameters
        context_param = next((p for p in params if _annotated_context(function, p)), None)
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        unknown = sorted(set(tool.input_schema.get("properties", {})) - set(params))
        if unknown and not takes_any:
            raise SchemaError(
                f"tool {tool.name!r}: the function has no parameter for {', '.join(map(repr, unknown))}; "
                "add them or a **kwargs parameter"
            )
        return BoundTool(tool, function, None, context_param)

    def __iter__(self) -> Iterator[BoundTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def get(self, name: str) -> BoundTool | None:
        return self._tools.get(name)

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        """Call a tool of this set directly — validation included, no manager — as a plugin's own unit tests
        do. An ``async`` tool runs in a fresh event loop. Hosts call tools through a ``ToolRegistry``."""
        outcome = self.tool_call(ToolCallRequest(name=name, arguments=dict(arguments or {})), None)
        if isinstance(outcome, CallToolResult):
            return outcome
        return asyncio.run(outcome)

    def tools(self) -> list[Tool]:
        """The tool definitions, in the order they were added."""
        return [bound.tool for bound in self._tools.values()]

    # -- the hookimpls --------------------------------------------------------------------------------------
    @_hookimpl
    def tool_list(self) -> ToolList:
        """``tool.list``: every tool of the set."""
        return ToolList(tools=self.tools(), description=self.description)

    @_hookimpl
    def tool_call(
        self, params: ToolCallRequest, ctx: PluginContext | None
    ) -> CallToolResult | Coroutine[Any, Any, CallToolResult]:
        """``tool.call``: validate the arguments, run the tool. An ``async`` tool is returned as a coroutine,
        which the manager awaits under the method's time limit (and cancels past it)."""
        bound = self._tools.get(params.name)
        if bound is None:
            raise PluginError("not_found", f"no tool named {params.name!r}")
        invalid = bound.check(params.arguments)
        if invalid is not None:
            return invalid
        if bound.is_async:
            return bound.run_async(params.arguments, ctx)
        return bound.run(params.arguments, ctx)


def _annotated_context(function: Function, param: str) -> bool:
    try:
        hints = inspect.get_annotations(function, eval_str=True)
    except Exception:
        return False
    return hints.get(param) is PluginContext
