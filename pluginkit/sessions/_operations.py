"""The contract as data: each of :class:`SessionStore`'s 18 methods paired with its ABI params and result.

Built from the contract class itself (names, order, documentation) and the params classes of
:mod:`pluginkit.sessions._params`, and checked against both when this module is imported: a method whose
parameters differ from its params class's fields fails at import, not in production. The ABI entries, the
adapter that calls a plugin store and the helper that serves a store from a plugin all read this table.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

import attrs

from pluginkit.sessions import _params as p
from pluginkit.sessions._contract import METHOD_NAMES, SessionStore
from pluginkit.sessions._types import UNSET, Session, SessionInsights
from pluginkit.types import Empty

__all__ = ["OPERATIONS", "Operation"]


@attrs.frozen
class Operation:
    """One contract method and how it travels through the ABI."""

    #: The method name (``create_session``); the ABI method is ``session.<name>``.
    name: str
    params: type
    result: type
    #: The result field holding the Python return value; ``""`` when the result is the value itself; ``None``
    #: when the method returns nothing.
    returns: str | None
    #: Parameters where ``UNSET`` (leave) and ``None`` (null) differ: carried as ``None`` plus ``clear``.
    partial: tuple[str, ...]
    doc: str
    timeout: float

    @property
    def abi_name(self) -> str:
        return f"session.{self.name}"

    @property
    def summary(self) -> str:
        """The documentation's first paragraph, on one line."""
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")

    @property
    def details(self) -> str:
        """The documentation after its first paragraph."""
        parts = self.doc.split("\n\n", 1)
        return parts[1] if len(parts) > 1 else ""

    def pack(self, args: Mapping[str, Any]) -> Any:
        """Python arguments (by name) → the params object."""
        values: dict[str, Any] = {}
        clear: list[str] = []
        for field in attrs.fields(self.params):
            name = field.name
            if name == "clear":
                continue
            value = args[name]
            if name in self.partial:
                if value is UNSET:
                    value = None
                elif value is None:
                    clear.append(name)
                elif isinstance(value, Mapping):
                    value = dict(value)
            elif value is None and name in ("limit", "exclude_session_id"):
                value = 0 if name == "limit" else ""
            elif name == "working_dir" and isinstance(value, os.PathLike):
                value = os.fspath(value)
            elif isinstance(value, str) and name in ("session_type",):
                value = str(value)
            elif name in ("types", "conversation") and not isinstance(value, str | bytes):
                value = list(value)
            elif name == "extension_data" and isinstance(value, Mapping):
                value = dict(value)
            values[name] = value
        if self.partial:
            values["clear"] = clear
        return self.params(**values)

    def unpack(self, params: Any) -> dict[str, Any]:
        """The params object → Python arguments (by name)."""
        args: dict[str, Any] = {}
        clear = set(getattr(params, "clear", ()))
        for field in attrs.fields(self.params):
            name = field.name
            if name == "clear":
                continue
            value = getattr(params, name)
            if name in self.partial:
                value = None if name in clear else (UNSET if value is None else value)
            elif (name == "limit" and value == 0) or (name == "exclude_session_id" and value == ""):
                value = None
            elif name == "mode" and value == "":
                value = "any"  # the wire's zero value is the default mode
            args[name] = value
        return args

    def wrap(self, value: Any) -> Any:
        """A store's return value → the result object."""
        if self.returns is None:
            return self.result()
        if self.returns == "":
            return value
        return self.result(**{self.returns: value})

    def unwrap(self, result: Any) -> Any:
        """The result object → the Python return value."""
        if self.returns is None:
            return None
        if self.returns == "":
            return result
        return getattr(result, self.returns)


# name → (result type, returned field, partial fields, time limit)
_SHAPES: dict[str, tuple[type | None, str | None, tuple[str, ...], float]] = {
    "create_session": (Session, "", (), 30.0),
    "get_session": (Session, "", (), 60.0),
    "add_message": (None, None, (), 30.0),
    "replace_conversation": (None, None, (), 120.0),
    "list_sessions": (p.SessionList, "sessions", (), 60.0),
    "list_sessions_by_types": (p.SessionList, "sessions", (), 60.0),
    "delete_session": (None, None, (), 60.0),
    "get_insights": (SessionInsights, "", (), 30.0),
    "export_session": (p.ExportedSession, "json", (), 60.0),
    "import_session": (Session, "", (), 120.0),
    "copy_session": (Session, "", (), 120.0),
    "truncate_conversation": (None, None, (), 60.0),
    "update_session_name": (None, None, (), 30.0),
    "update_extension_data": (None, None, (), 30.0),
    "update_token_stats": (None, None, (), 30.0),
    "update_provider_config": (None, None, ("provider_name", "model_config"), 30.0),
    "update_recipe": (None, None, ("recipe", "user_recipe_values"), 30.0),
    "search_chat_history": (p.ChatHistoryMatches, "matches", (), 30.0),
}


def _params_class(name: str) -> type:
    cls: type = getattr(p, "".join(part.title() for part in name.split("_")) + "Params")
    return cls


def _build() -> tuple[Operation, ...]:
    if tuple(_SHAPES) != METHOD_NAMES:
        raise TypeError(f"session operations {tuple(_SHAPES)} differ from the contract's methods {METHOD_NAMES}")
    operations = []
    for name in METHOD_NAMES:
        method = getattr(SessionStore, name)
        params = _params_class(name)
        arguments = [a for a in inspect.signature(method).parameters if a != "self"]
        fields = [f.name for f in attrs.fields(params) if f.name != "clear"]
        if arguments != fields:
            raise TypeError(f"{params.__name__} fields {fields} differ from SessionStore.{name}{tuple(arguments)}")
        result, returns, partial, timeout = _SHAPES[name]
        operations.append(
            Operation(
                name=name, params=params, result=result or Empty, returns=returns, partial=partial,
                doc=inspect.cleandoc(method.__doc__ or ""), timeout=timeout,
            )
        )
    return tuple(operations)


#: Every contract method, in the seed's order.
OPERATIONS: tuple[Operation, ...] = _build()
#: ``name`` → :class:`Operation`.
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
