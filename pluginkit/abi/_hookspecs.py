"""The pluggy hookspecs, generated from the ABI table.

One hookspec per table entry that plugins implement. Each takes ``params`` (the method's params type) and
``ctx`` (:class:`~pluginkit.PluginContext`); a hookimpl may accept either, both or neither, as pluggy allows.
Generating them from :data:`pluginkit.abi.METHODS` is what keeps the hook names, their documentation and the
table from drifting apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pluggy

from pluginkit.abi import METHODS, Combine, Method

__all__ = ["PROJECT", "hookimpl", "hookspec", "hookspecs"]

#: The pluggy project name, which is also the entry-point group plugins register under.
PROJECT = "pluginkit"
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin function as the implementation of the ABI hook of the same name.
hookimpl = pluggy.HookimplMarker(PROJECT)


def public_path(cls: type) -> str:
    """Where users import a class from: its module path up to the first private part
    (``pluginkit.sessions._params.X`` → ``pluginkit.sessions.X``)."""
    parts = []
    for part in cls.__module__.split("."):
        if part.startswith("_"):
            break
        parts.append(part)
    return ".".join([*parts, cls.__qualname__])


def spec_docstring(method: Method) -> str:
    """The docstring of a generated hookspec: the table's text plus the facts a plugin author needs."""
    facts = [
        f"ABI method ``{method.name}``.",
        f"Params: :class:`~{public_path(method.params)}`; returns :class:`~{public_path(method.result)}`.",
        f"Several plugins: {method.combine.value}.",
    ]
    if method.capability:
        facts.append(f"Declare it with the ``{method.capability}`` capability.")
    if not method.may_be_async:
        facts.append("Must be a plain (not ``async``) function.")
    return f"{method.doc}\n\n" + " ".join(facts)


def _make_spec(method: Method) -> Callable[..., Any]:
    def spec(params: Any, ctx: Any) -> Any:
        """Generated from the ABI table."""

    spec.__name__ = method.hook_name
    spec.__qualname__ = method.hook_name  # a plain function: pluggy must not strip a "self"
    spec.__doc__ = spec_docstring(method)
    spec.__annotations__ = {"params": method.params, "ctx": "pluginkit.PluginContext", "return": method.result}
    first_result = method.combine in (Combine.FIRST_SUCCESS, Combine.SINGLE_OWNER)
    marked: Callable[..., Any] = hookspec(firstresult=first_result)(spec)
    return marked


@functools.cache
def hookspecs() -> type:
    """A class holding one hookspec per plugin-implemented ABI method, for ``PluginManager.add_hookspecs``; built
    once, the first time a manager needs it (it reads the whole table)."""
    namespace: dict[str, Any] = {"__doc__": __doc__, "__module__": __name__}
    for method in METHODS.hooks():
        namespace[method.hook_name] = _make_spec(method)
    return type("HookSpecs", (), namespace)
