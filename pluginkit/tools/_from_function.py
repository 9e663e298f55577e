"""Tools defined by a plain typed function: the input schema is derived from its signature and docstring.

Like MCP's and llm's decorators, a function ``def convert(time: str, to_zone: str = "UTC") -> dict`` becomes a
tool whose arguments are its parameters: ``str``, ``int``, ``float``, ``bool``, lists, tuples, sets, dicts,
``Literal``, ``Enum``, ``Optional`` / unions, attrs classes and dataclasses (nested objects), dates and times,
UUIDs, and ``Annotated[T, "description"]`` or ``Annotated[T, {"minimum": 1}]`` for extra schema keywords.
Parameters with defaults are optional. The docstring's first part is the tool's description; parameter
descriptions come from its ``Args:`` (Google), ``Parameters`` (NumPy) or ``:param x:`` (reST) section.

A parameter annotated :class:`~pluginkit.PluginContext` is not an argument: it receives the plugin's context.
The schema is closed (``additionalProperties: false``), so a call can only name the function's parameters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import inspect
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

import attrs

from pluginkit.runtime import PluginContext
from pluginkit.tools._convert import jsonable, structure
from pluginkit.tools._validate import SchemaError, ValidationError, compile_schema

__all__ = ["Signature", "derive", "parse_docstring"]

Schema = dict[str, Any]
_SCALARS: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
    time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    bytes: {"type": "string", "contentEncoding": "base64"},
}
#: Types whose JSON value is already what the function receives.
_PLAIN = (str, float, bool, type(None))


@attrs.frozen
class Signature:
    """What :func:`derive` learnt from a function."""

    description: str
    input_schema: Schema
    #: Turns validated JSON arguments into the function's keyword arguments; ``None`` when they are the same.
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None
    #: The name of the parameter that receives the plugin context, if any.
    context_param: str | None


def derive(function: Callable[..., Any], *, description: str | None = None) -> Signature:
    """The input schema, description and argument preparation of ``function``. Raises :class:`SchemaError` for a
    parameter that cannot be an argument (``*args``, a name starting with ``_``, a type with no JSON form)."""
    name = getattr(function, "__name__", repr(function))
    summary, param_docs = parse_docstring(inspect.getdoc(function) or "")
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise SchemaError(f"tool {name!r}: cannot read its type hints: {exc}") from None
    properties: dict[str, Schema] = {}
    required: list[str] = []
    converters: dict[str, Callable[[Any], Any]] = {}
    context_param = None
    for param in inspect.signature(function).parameters.values():
        where = f"tool {name!r}, parameter {param.name!r}"
        annotation = hints.get(param.name, Any)
        if _is_context(annotation):
            context_param = param.name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise SchemaError(f"{where}: tools take named parameters, not *args or **kwargs")
        if param.kind is param.POSITIONAL_ONLY:
            raise SchemaError(f"{where}: positional-only parameters cannot be given by name")
        if param.name.startswith("_"):
            raise SchemaError(f"{where}: parameter names starting with '_' are private, not arguments")
        schema = _schema_for(annotation, where, set())
        if param.name in param_docs and "description" not in schema:
            schema["description"] = param_docs[param.name]
        if param.default is param.empty:
            required.append(param.name)
        else:
            with contextlib.suppress(TypeError):  # a default with no JSON form is still the default, just not shown
                schema["default"] = jsonable(param.default)
        properties[param.name] = schema
        convert = _converter(annotation)
        if convert is not None:
            converters[param.name] = convert
    input_schema: Schema = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = required
    input_schema["additionalProperties"] = False
    compile_schema(input_schema)
    return Signature(
        description=summary if description is None else description,
        input_schema=input_schema,
        prepare=_preparer(converters) if converters else None,
        context_param=context_param,
    )


def _is_context(annotation: Any) -> bool:
    return annotation is PluginContext


def _preparer(converters: dict[str, Callable[[Any], Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    items = tuple(converters.items())
    if all(convert is _integral for convert in converters.values()):
        return _integral_preparer(tuple(converters))

    def prepare(arguments: dict[str, Any]) -> dict[str, Any]:
        out = dict(arguments)
        for key, convert in items:
            if key in out:
                try:
                    out[key] = convert(out[key])
                except (ValueError, TypeError, LookupError) as exc:
                    raise ValidationError("type", f"cannot be read as the parameter's type: {exc}", [key]) from None
        return out

    return prepare


def _integral_preparer(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Only ``int`` parameters to fix: the arguments pass as they are unless one of them is a float."""

    def prepare(arguments: dict[str, Any]) -> dict[str, Any]:
        for key in keys:
            if arguments.get(key).__class__ is float:
                return {k: (int(v) if k in keys and v.__class__ is float else v) for k, v in arguments.items()}
        return arguments

    return prepare


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    extras: list[Any] = []
    while typing.get_origin(tp) is typing.Annotated:
        extras.extend(tp.__metadata__)
        tp = tp.__origin__
    return tp, extras


def _schema_for(tp: Any, where: str, seen: set[Any]) -> Schema:
    tp, extras = _unwrap(tp)
    schema = _base_schema(tp, where, seen)
    for extra in extras:
        if isinstance(extra, str):
            schema["description"] = extra
        elif isinstance(extra, Mapping):
            schema = {**schema, **extra}
            try:
                compile_schema(schema)
            except SchemaError as exc:
                raise SchemaError(f"{where}: {exc}") from None
    return schema


def _base_schema(tp: Any, where: str, seen: set[Any]) -> Schema:
    if tp is Any or tp is object:
        return {}
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return {"type": "string"}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return _enum_schema(list(args), where)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_for(a, where, seen) for a in args]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema([m.value for m in tp], where)
    if origin in (list, Sequence, typing.Sequence) or tp in (list, Sequence):
        return {"type": "array", "items": _schema_for(args[0], where, seen)} if args else {"type": "array"}
    if origin in (set, frozenset) or tp in (set, frozenset):
        items = {"items": _schema_for(args[0], where, seen)} if args else {}
        return {"type": "array", **items, "uniqueItems": True}
    if origin is tuple or tp is tuple:
        return _tuple_schema(args, where, seen)
    if origin in (dict, Mapping, typing.Mapping) or tp in (dict, Mapping):
        if args and args[0] is not str:
            raise SchemaError(f"{where}: JSON object keys are strings; use dict[str, ...]")
        return {"type": "object", "additionalProperties": _schema_for(args[1], where, seen)} if args else {
            "type": "object"
        }
    if isinstance(tp, type) and (attrs.has(tp) or dataclasses.is_dataclass(tp)):
        return _class_schema(tp, where, seen)
    raise SchemaError(f"{where}: {tp!r} has no JSON form a tool can take")


def _enum_schema(values: list[Any], where: str) -> Schema:
    values = [v.value if isinstance(v, enum.Enum) else v for v in values]
    kinds = {type(v) for v in values}
    schema: Schema = {"enum": values}
    for tp, name in ((bool, "boolean"), (str, "string"), (int, "integer")):
        if kinds == {tp}:
            schema = {"type": name, "enum": values}
    if kinds <= {int, float} and kinds and bool not in kinds and "type" not in schema:
        schema = {"type": "number", "enum": values}
    try:
        compile_schema(schema)
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from None
    return schema


def _tuple_schema(args: tuple[Any, ...], where: str, seen: set[Any]) -> Schema:
    if not args:
        return {"type": "array"}
    if len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _schema_for(args[0], where, seen)}
    return {
        "type": "array",
        "prefixItems": [_schema_for(a, where, seen) for a in args],
        "items": False,
        "minItems": len(args),
    }


def _class_schema(cls: type, where: str, seen: set[Any]) -> Schema:
    if cls in seen:
        raise SchemaError(f"{where}: {cls.__name__} refers to itself; recursive types are not supported")
    seen = seen | {cls}
    hints = typing.get_type_hints(cls, include_extras=True)
    doc = (inspect.getdoc(cls) or "") if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "(") else ""
    _, field_docs = parse_docstring(doc)
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for name, has_default, default, metadata in _fields(cls):
        schema = _schema_for(hints.get(name, Any), f"{where}, field {name!r}", seen)
        text = metadata.get("description") or metadata.get("doc") or field_docs.get(name)
        if text and "description" not in schema:
            schema["description"] = text
        if has_default:
            with contextlib.suppress(TypeError):
                schema["default"] = jsonable(default)
        else:
            required.append(name)
        properties[name] = schema
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    summary, _ = parse_docstring(doc)
    return {"description": summary, **schema} if summary else schema


def _fields(cls: type) -> list[tuple[str, bool, Any, Mapping[str, Any]]]:
    out: list[tuple[str, bool, Any, Mapping[str, Any]]] = []
    if attrs.has(cls):
        for a in attrs.fields(cls):
            if not a.init:
                continue
            default = a.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory() if not default.takes_self else attrs.NOTHING
            out.append((a.alias or a.name, a.default is not attrs.NOTHING, default, a.metadata))
        return out
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            out.append((f.name, True, f.default, f.metadata))
        elif f.default_factory is not dataclasses.MISSING:
            out.append((f.name, True, f.default_factory(), f.metadata))
        else:
            out.append((f.name, False, None, f.metadata))
    return out


def _converter(tp: Any) -> Callable[[Any], Any] | None:
    """How a validated JSON value becomes the parameter's value; ``None`` when it already is."""
    tp, _ = _unwrap(tp)
    if tp is Any or tp is object or tp in _PLAIN:
        return None
    if tp is int:
        return _integral
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return None
    if origin in (typing.Union, types.UnionType) and all(_converter(a) is None for a in args):
        return None
    if origin in (list, Sequence, typing.Sequence, dict, Mapping, typing.Mapping) and args and all(
        _converter(a) is None for a in args
    ):
        return None
    return lambda value: structure(value, tp)


def _integral(value: Any) -> Any:
    """JSON Schema's ``integer`` accepts ``3.0``; the function asked for an ``int``."""
    return int(value) if value.__class__ is float else value


# ----------------------------------------------------------------------------------------------------------
# docstrings
# ----------------------------------------------------------------------------------------------------------

_GOOGLE = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Attributes)\s*:\s*$")
_NUMPY = re.compile(r"^(Parameters|Attributes|Other Parameters)\s*$")
_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")
_UNDERLINE = re.compile(r"^-{3,}\s*$")
_REST = re.compile(r"^:(?:param|parameter|arg|argument|ivar)\s+(?:[^:]+\s)?(\w+)\s*:\s*(.*)$")
_REST_ANY = re.compile(r"^:\w+")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(?::.*)?$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """``(description, {parameter: description})`` from a Google, NumPy or reST docstring."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        nxt = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _GOOGLE.match(stripped):
            index = _google(lines, index + 1, params)
        elif _NUMPY.match(stripped) and _UNDERLINE.match(nxt):
            index = _numpy(lines, index + 2, params)
        elif _REST.match(stripped):
            index = _rest(lines, index, params)
        elif _SECTION.match(stripped) or _UNDERLINE.match(nxt) or _REST_ANY.match(stripped):
            index = _skip_section(lines, index + (2 if _UNDERLINE.match(nxt) else 1))
        else:
            if not params:
                summary.append(line)
            index += 1
    return "\n".join(summary).strip(), params


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google(lines: list[str], index: int, params: dict[str, str]) -> int:
    base: int | None = None
    current = None
    while index < len(lines):
        line = lines[index]
        if line.strip() and _indent(line) == 0:
            break
        if line.strip():
            base = _indent(line) if base is None else base
            match = _GOOGLE_ITEM.match(line.strip())
            if _indent(line) == base and match:
                current = match[1].lstrip("*")
                params[current] = match[2].strip()
            elif current is not None:
                params[current] = f"{params[current]} {line.strip()}".strip()
        index += 1
    return index


def _numpy(lines: list[str], index: int, params: dict[str, str]) -> int:
    current = None
    while index < len(lines):
        line = lines[index]
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() and _indent(line) == 0 and _UNDERLINE.match(nxt.strip()):
            break
        if line.strip() and _indent(line) == 0:
            match = _NUMPY_ITEM.match(line.strip())
            current = match[1] if match else None
            if current is not None:
                params[current] = ""
        elif line.strip() and current is not None:
            params[current] = f"{params[current]} {line.strip()}".strip()
        index += 1
    return index


def _rest(lines: list[str], index: int, params: dict[str, str]) -> int:
    current = None
    while index < len(lines):
        stripped = lines[index].strip()
        match = _REST.match(stripped)
        if match:
            current = match[1]
            params[current] = match[2].strip()
        elif _REST_ANY.match(stripped):
            current = None
        elif stripped and current is not None and _indent(lines[index]) > 0:
            params[current] = f"{params[current]} {stripped}".strip()
        elif stripped:
            break
        index += 1
    return index


def _skip_section(lines: list[str], index: int) -> int:
    while index < len(lines) and not (lines[index].strip() and _indent(lines[index]) == 0):
        index += 1
    return index
