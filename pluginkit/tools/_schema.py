"""The JSON-Schema builder: the seed's tool options, as keyword arguments.

The seed (a Go tool-plugin system) builds input schemas with functional options — ``WithString("city",
Required(), MinLength(2))`` — and accepts any option on any property, silently writing nonsense such as
``"minimum"`` on a string or ``"required": true`` inside an item schema. Here each property kind is a function
whose keyword arguments are exactly the options that make sense for it (typed with ``Unpack`` so editors and mypy
see them); anything else is refused with :class:`SchemaError` naming the property, the option and the kinds it
applies to. Values are checked too (a negative ``min_length``, a ``default`` outside the ``enum``, a pattern that
does not compile, bounds that no value satisfies), so every schema produced here is a valid Draft 2020-12 schema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

import attrs

from pluginkit.tools._types import Tool
from pluginkit.tools._validate import SchemaError, ValidationError, compile_schema

__all__ = [
    "Property",
    "SchemaError",
    "array",
    "boolean",
    "boolean_items",
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
]

#: A JSON Schema, as a JSON-like mapping.
Schema = dict[str, Any]

#: What a tool name may look like (MCP's SEP-986 rule: 1-128 characters of letters, digits, ``_``, ``-``, ``.``).
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class ItemOptions(TypedDict, total=False):
    """Options every schema accepts (item schemas too)."""

    description: str
    default: Any
    enum: Sequence[Any]


class BooleanItemOptions(ItemOptions, total=False):
    pass


class StringItemOptions(ItemOptions, total=False):
    min_length: int
    max_length: int
    pattern: str
    format: str


class NumberItemOptions(ItemOptions, total=False):
    minimum: float
    maximum: float
    exclusive_minimum: float
    exclusive_maximum: float
    multiple_of: float


class ArrayItemOptions(ItemOptions, total=False):
    items: Schema | bool
    min_items: int
    max_items: int
    unique_items: bool


class ObjectItemOptions(ItemOptions, total=False):
    properties: Sequence[Property] | Mapping[str, Schema]
    additional_properties: bool | Schema
    property_names: Schema
    min_properties: int
    max_properties: int


class BooleanOptions(BooleanItemOptions, total=False):
    required: bool


class StringOptions(StringItemOptions, total=False):
    required: bool


class NumberOptions(NumberItemOptions, total=False):
    required: bool


class ArrayOptions(ArrayItemOptions, total=False):
    required: bool


class ObjectOptions(ObjectItemOptions, total=False):
    required: bool


_COMMON = ("description", "default", "enum")
#: Options by property kind (Python keyword → JSON Schema keyword), besides the common ones and ``required``.
_KIND_OPTIONS: dict[str, dict[str, str]] = {
    "string": {"min_length": "minLength", "max_length": "maxLength", "pattern": "pattern", "format": "format"},
    "number": {
        "minimum": "minimum",
        "maximum": "maximum",
        "exclusive_minimum": "exclusiveMinimum",
        "exclusive_maximum": "exclusiveMaximum",
        "multiple_of": "multipleOf",
    },
    "boolean": {},
    "array": {"items": "items", "min_items": "minItems", "max_items": "maxItems", "unique_items": "uniqueItems"},
    "object": {
        "properties": "properties",
        "additional_properties": "additionalProperties",
        "property_names": "propertyNames",
        "min_properties": "minProperties",
        "max_properties": "maxProperties",
    },
}
_KIND_OPTIONS["integer"] = _KIND_OPTIONS["number"]
_COUNTS = {"min_length", "max_length", "min_items", "max_items", "min_properties", "max_properties"}
_BOUNDS = {"minimum", "maximum", "exclusive_minimum", "exclusive_maximum", "multiple_of"}


@attrs.frozen
class Property:
    """One named property of a tool's (or an object's) input schema, as the builder functions return it."""

    name: str
    schema: Schema
    required: bool = False


# ----------------------------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------------------------


def string(name: str, **options: Unpack[StringOptions]) -> Property:
    """A string property: ``description``, ``required``, ``default``, ``enum``, ``min_length``, ``max_length``,
    ``pattern`` (a regular expression searched in the value), ``format`` (``date-time``, ``email``, …)."""
    return _property("string", name, dict(options))


def number(name: str, **options: Unpack[NumberOptions]) -> Property:
    """A number property: the common options plus ``minimum``, ``maximum``, ``exclusive_minimum``,
    ``exclusive_maximum`` and ``multiple_of``."""
    return _property("number", name, dict(options))


def integer(name: str, **options: Unpack[NumberOptions]) -> Property:
    """An integer property: the options of :func:`number`."""
    return _property("integer", name, dict(options))


def boolean(name: str, **options: Unpack[BooleanOptions]) -> Property:
    """A boolean property: ``description``, ``required``, ``default``, ``enum``."""
    return _property("boolean", name, dict(options))


def array(name: str, **options: Unpack[ArrayOptions]) -> Property:
    """An array property: the common options plus ``items`` (an item schema, e.g. :func:`string_items`),
    ``min_items``, ``max_items`` and ``unique_items``."""
    return _property("array", name, dict(options))


def object(name: str, **options: Unpack[ObjectOptions]) -> Property:
    """An object property: the common options plus ``properties`` (builder properties, whose ``required`` flags
    become this object's ``required`` list, or a mapping of name to schema), ``additional_properties`` (``False``
    or a schema), ``property_names`` (a string schema), ``min_properties`` and ``max_properties``. Without
    ``properties`` the schema still says ``"properties": {}``, as the seed writes it."""
    return _property("object", name, dict(options))


# ----------------------------------------------------------------------------------------------------------
# typed array items (the seed's With*Items options)
# ----------------------------------------------------------------------------------------------------------


def string_items(**options: Unpack[StringItemOptions]) -> Schema:
    """Item schema for an array of strings (``array("tags", items=string_items(max_length=20))``)."""
    return _schema("string", "items", dict(options))


def string_enum_items(values: Sequence[str], **options: Unpack[ItemOptions]) -> Schema:
    """Item schema for an array of strings drawn from ``values``."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise SchemaError("string_enum_items: values must be a list of strings")
    return _schema("string", "items", {**options, "enum": list(values)})


def number_items(**options: Unpack[NumberItemOptions]) -> Schema:
    """Item schema for an array of numbers."""
    return _schema("number", "items", dict(options))


def integer_items(**options: Unpack[NumberItemOptions]) -> Schema:
    """Item schema for an array of integers."""
    return _schema("integer", "items", dict(options))


def boolean_items(**options: Unpack[BooleanItemOptions]) -> Schema:
    """Item schema for an array of booleans."""
    return _schema("boolean", "items", dict(options))


def object_items(**options: Unpack[ObjectItemOptions]) -> Schema:
    """Item schema for an array of objects (same options as :func:`object`, without a name)."""
    return _schema("object", "items", dict(options))


# ----------------------------------------------------------------------------------------------------------
# tools
# ----------------------------------------------------------------------------------------------------------


def new_tool(name: str, description: str = "", *properties: Property, schema: Mapping[str, Any] | None = None) -> Tool:
    """A tool definition: ``name``, ``description`` and an input schema built from ``properties`` —
    ``{"type": "object", "properties": {...}, "required": [...]}`` — or given whole as ``schema`` (the seed's
    raw input schema; it must describe an object and is checked by compiling it)."""
    check_tool_name(name)
    if not isinstance(description, str):
        raise SchemaError(f"tool {name!r}: description must be a string")
    if schema is not None:
        if properties:
            raise SchemaError(f"tool {name!r}: give properties or a raw schema, not both")
        return Tool(name=name, description=description, input_schema=check_input_schema(schema, f"tool {name!r}"))
    props, required = _collect(properties, f"tool {name!r}")
    input_schema: Schema = {"type": "object", "properties": props}
    if required:
        input_schema["required"] = required
    return Tool(name=name, description=description, input_schema=input_schema)


def check_tool_name(name: Any) -> str:
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        raise SchemaError(f"tool name {name!r} must be 1-128 letters, digits, '_', '-' or '.'")
    return name


def check_input_schema(schema: Any, where: str) -> Schema:
    """A raw input schema as a plain dict, after checking that it describes an object and compiles."""
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where}: the input schema must be a JSON object")
    value = dict(schema)
    if value.get("type", "object") != "object":
        raise SchemaError(f"{where}: the input schema must have type 'object', not {value.get('type')!r}")
    try:
        compile_schema(value)
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from None
    return value


# ----------------------------------------------------------------------------------------------------------
# the builder's core
# ----------------------------------------------------------------------------------------------------------


def _property(kind: str, name: Any, options: dict[str, Any]) -> Property:
    if not isinstance(name, str) or not name:
        raise SchemaError(f"a {kind} property needs a non-empty name, not {name!r}")
    required = options.pop("required", False)
    if not isinstance(required, bool):
        raise SchemaError(f"{kind} property {name!r}: required must be True or False")
    return Property(name, _schema(kind, f"{kind} property {name!r}", options), required)


def _schema(kind: str, where: str, options: dict[str, Any]) -> Schema:
    allowed = _KIND_OPTIONS[kind]
    if where == "items" and "required" in options:
        raise SchemaError(f"{kind} items: 'required' applies to named properties, not to array items")
    for option in options:
        if option not in allowed and option not in _COMMON:
            raise SchemaError(_misplaced(kind, where, option))
    schema: Schema = {"type": kind}
    if "description" in options:
        if not isinstance(options["description"], str):
            raise SchemaError(f"{where}: description must be a string")
        schema["description"] = options["description"]
    if kind == "object":
        schema["properties"] = {}  # as the seed writes an object, even without properties
    for option, value in options.items():
        if option in allowed:
            schema[allowed[option]] = _option_value(kind, where, option, value)
        if option == "properties" and not isinstance(value, Mapping):
            required = [p.name for p in value if isinstance(p, Property) and p.required]
            if required:
                schema["required"] = required
    _check_ranges(where, schema)
    plain = compile_schema(schema)  # the constraints, before enum and default are added
    if "enum" in options:
        values = options["enum"]
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise SchemaError(f"{where}: enum must be a non-empty list of values")
        for value in values:
            _satisfies(plain, value, where, "enum value")
        schema["enum"] = list(values)
    if "default" in options:
        _satisfies(compile_schema(schema), options["default"], where, "default")
        schema["default"] = options["default"]
    return schema


def _misplaced(kind: str, where: str, option: str) -> str:
    owners = sorted(k for k, opts in _KIND_OPTIONS.items() if option in opts)
    if option == "required":
        return f"{where}: 'required' applies to named properties"
    if owners:
        return f"{where}: option {option!r} applies to {' and '.join(owners)} properties, not to {kind}"
    known = ", ".join([*_COMMON, *_KIND_OPTIONS[kind]])
    return f"{where}: unknown option {option!r}; a {kind} accepts {known}"


def _option_value(kind: str, where: str, option: str, value: Any) -> Any:
    if option in _COUNTS:
        if value.__class__ is not int or value < 0:
            raise SchemaError(f"{where}: {option} must be a non-negative integer, not {value!r}")
        return value
    if option in _BOUNDS:
        if value.__class__ not in (int, float) or not math.isfinite(value):
            raise SchemaError(f"{where}: {option} must be a finite number, not {value!r}")
        if option == "multiple_of" and value <= 0:
            raise SchemaError(f"{where}: multiple_of must be greater than 0, not {value!r}")
        return value
    if option == "pattern":
        if not isinstance(value, str):
            raise SchemaError(f"{where}: pattern must be a string")
        try:
            re.compile(value)
        except re.error as exc:
            raise SchemaError(f"{where}: pattern {value!r} is not a valid regular expression: {exc}") from None
        return value
    if option == "format":
        if not isinstance(value, str) or not value:
            raise SchemaError(f"{where}: format must be a non-empty string such as 'date-time' or 'email'")
        return value
    if option == "unique_items":
        if not isinstance(value, bool):
            raise SchemaError(f"{where}: unique_items must be True or False")
        return value
    if option == "items":
        return _subschema(value, f"{where}: items")
    if option == "properties":
        if isinstance(value, Mapping):
            return {str(k): _subschema(v, f"{where}: property {k!r}") for k, v in value.items()}
        props, _ = _collect(value, where)
        return props
    if option == "additional_properties":
        return value if isinstance(value, bool) else _subschema(value, f"{where}: additional_properties")
    if option == "property_names":
        schema = _subschema(value, f"{where}: property_names")
        if schema.get("type", "string") != "string":
            raise SchemaError(f"{where}: property_names must describe strings (property names are strings)")
        return schema
    raise SchemaError(f"{where}: unknown option {option!r}")  # pragma: no cover - guarded by _schema


def _subschema(value: Any, where: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Property):
        raise SchemaError(f"{where}: expected a schema (e.g. string_items()), not the property {value.name!r}")
    if not isinstance(value, Mapping):
        raise SchemaError(f"{where}: expected a schema mapping, not {type(value).__name__}")
    schema = dict(value)
    try:
        compile_schema(schema)
    except SchemaError as exc:
        raise SchemaError(f"{where}: {exc}") from None
    return schema


def _collect(properties: Any, where: str) -> tuple[Schema, list[str]]:
    if isinstance(properties, str | bytes) or not isinstance(properties, Sequence):
        raise SchemaError(f"{where}: properties must be builder properties or a mapping of schemas")
    props: Schema = {}
    required: list[str] = []
    for prop in properties:
        if not isinstance(prop, Property):
            raise SchemaError(f"{where}: expected a property from string(), integer(), …, not {prop!r}")
        if prop.name in props:
            raise SchemaError(f"{where}: property {prop.name!r} is defined twice")
        props[prop.name] = prop.schema
        if prop.required:
            required.append(prop.name)
    return props, required


def _check_ranges(where: str, schema: Schema) -> None:
    """Refuse limits that no value can satisfy (the seed writes them and every call then fails)."""
    pairs = (("minLength", "maxLength"), ("minItems", "maxItems"), ("minProperties", "maxProperties"))
    for low, high in pairs:
        if low in schema and high in schema and schema[low] > schema[high]:
            raise SchemaError(f"{where}: {low} {schema[low]} is greater than {high} {schema[high]}")
    lows = [schema[k] for k in ("minimum", "exclusiveMinimum") if k in schema]
    highs = [schema[k] for k in ("maximum", "exclusiveMaximum") if k in schema]
    if lows and highs:
        low, high = max(lows), min(highs)
        exclusive = ("exclusiveMinimum" in schema and schema["exclusiveMinimum"] == low) or (
            "exclusiveMaximum" in schema and schema["exclusiveMaximum"] == high
        )
        if low > high or (low == high and exclusive):
            raise SchemaError(f"{where}: no number is within the given minimum and maximum")


def _satisfies(check: Any, value: Any, where: str, what: str) -> None:
    try:
        check(value)
    except ValidationError as exc:
        raise SchemaError(f"{where}: {what} {value!r} does not fit the property: {exc.message}") from None
