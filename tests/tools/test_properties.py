"""Property tests: schemas built from random option combinations are valid Draft 2020-12 schemas, arguments
generated from them pass validation (ours and jsonschema's) and reach the tool unchanged, and our validator agrees
with jsonschema on arbitrary values."""

from __future__ import annotations

import json
import math
from datetime import UTC
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pluginkit import PluginManager
from pluginkit.tools import (
    Property,
    ToolRegistry,
    ToolSet,
    ValidationError,
    array,
    boolean,
    boolean_items,
    compile_schema,
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
from pluginkit.tools._values import _canonical

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATTERNS = ["^[a-z]+$", "[0-9]", "^x", "ab", "^[A-Z][a-z]*$"]
FORMAT_VALUES: dict[str, st.SearchStrategy[str]] = {
    "date-time": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    "date": st.dates().map(lambda d: d.isoformat()),
    "email": st.from_regex(r"\A[a-z]{1,8}@[a-z]{1,8}\.[a-z]{2,3}\Z"),
    "uuid": st.uuids().map(str),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
    "color": st.text(max_size=10),  # not asserted: any string
}
NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)

# --------------------------------------------------------------------------------------------------------------
# values that satisfy a (builder-made) schema
# --------------------------------------------------------------------------------------------------------------


def values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return _strings(schema)
    if kind in ("integer", "number"):
        return _numbers(schema)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = values(schema["items"]) if isinstance(schema.get("items"), dict) else JSON
        unique = {"unique_by": _canonical} if schema.get("uniqueItems") else {}
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 4), **unique)
    if kind == "object":
        return _objects(schema)
    return JSON


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 12)
    if "format" in schema:
        return FORMAT_VALUES[schema["format"]]
    if "pattern" in schema:
        return st.from_regex(schema["pattern"]).filter(lambda s: low <= len(s) <= high)
    return st.text(min_size=low, max_size=high)


def _numbers(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    low = schema.get("minimum", schema.get("exclusiveMinimum", -1000))
    high = schema.get("maximum", schema.get("exclusiveMaximum", 1000))
    open_low, open_high = "exclusiveMinimum" in schema, "exclusiveMaximum" in schema
    step = schema.get("multipleOf")
    if step is not None:
        first, last = math.ceil(low / step), math.floor(high / step)
        multiples = st.integers(first, last).map(lambda k: k * step)
        return multiples.filter(lambda v: (v > low or not open_low) and (v < high or not open_high))
    if schema["type"] == "integer":
        return st.integers(math.ceil(low) + (1 if open_low and low == math.ceil(low) else 0),
                           math.floor(high) - (1 if open_high and high == math.floor(high) else 0))
    return st.floats(low, high, exclude_min=open_low, exclude_max=open_high, allow_nan=False)


@st.composite
def _objects(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    required = schema.get("required", [])
    out = {name: draw(values(props[name])) for name in required}
    for name in props:
        if name not in out and draw(st.booleans()):
            out[name] = draw(values(props[name]))
    room = schema.get("maxProperties", len(out) + 2) - len(out)
    extra = schema.get("additionalProperties", True)
    if extra is not False and room > 0:
        for key in draw(st.lists(NAMES.map(lambda n: "z" + n), max_size=min(room, 2), unique=True)):
            if key not in out:
                out[key] = draw(values(extra) if isinstance(extra, dict) else JSON)
    return out


# --------------------------------------------------------------------------------------------------------------
# random option combinations
# --------------------------------------------------------------------------------------------------------------


def _common(draw: st.DrawFn, constraints: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """description, enum and default drawn so that they fit the constraints already chosen."""
    if draw(st.booleans()):
        options["description"] = draw(st.text(max_size=20))
    plain = values(constraints)
    if draw(st.booleans()):
        options["enum"] = draw(st.lists(plain, min_size=1, max_size=3, unique_by=_canonical))
    if draw(st.booleans()):
        options["default"] = draw(st.sampled_from(options["enum"]) if "enum" in options else plain)
    return options


@st.composite
def string_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    shape = draw(st.sampled_from(["lengths", "pattern", "format", "none"]))
    if shape == "lengths":
        options["min_length"] = draw(st.integers(0, 4))
        options["max_length"] = options["min_length"] + draw(st.integers(0, 6))
    elif shape == "pattern":
        options["pattern"] = draw(st.sampled_from(PATTERNS))
        options["max_length"] = draw(st.integers(3, 10))
    elif shape == "format":
        options["format"] = draw(st.sampled_from(sorted(FORMAT_VALUES)))
    return _common(draw, string_items(**options), options)


@st.composite
def number_options(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    step = draw(st.none() | st.sampled_from([1, 2, 3] if kind == "integer" else [0.5, 0.25, 2]))
    low = draw(st.integers(-50, 50))
    span = draw(st.integers(2, 40)) + (2 * step + 1 if step else 0)
    if draw(st.booleans()):
        options["exclusive_minimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        options["exclusive_maximum" if draw(st.booleans()) else "maximum"] = low + span
    if step:
        options["multiple_of"] = step
    maker = integer_items if kind == "integer" else number_items
    return _common(draw, maker(**options), options)


@st.composite
def item_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "string_enum", "number", "integer", "boolean", "object"]))
    if kind == "string":
        return string_items(**draw(string_options()))
    if kind == "string_enum":
        return string_enum_items(draw(st.lists(NAMES, min_size=1, max_size=4, unique=True)))
    if kind in ("number", "integer"):
        return (integer_items if kind == "integer" else number_items)(**draw(number_options(kind)))
    if kind == "boolean":
        return boolean_items(**_common(draw, boolean_items(), {}))
    return object_items(**draw(object_options()))


@st.composite
def array_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["items"] = draw(item_schemas())
    unique = draw(st.booleans())
    if unique:
        options["unique_items"] = True
    options["min_items"] = draw(st.integers(0, 0 if unique else 2))
    options["max_items"] = options["min_items"] + draw(st.integers(0, 3))
    if draw(st.booleans()):
        options["description"] = draw(st.text(max_size=10))
    return options


@st.composite
def object_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    names = draw(st.lists(NAMES, max_size=3, unique=True))
    props = [draw(scalar_property(name)) for name in names]
    if props:
        options["properties"] = props
    required = sum(p.required for p in props)
    additional = draw(st.sampled_from([None, False, {"type": "integer"}]))
    if additional is not None:
        options["additional_properties"] = additional
    if draw(st.booleans()):
        options["property_names"] = draw(st.sampled_from([{"pattern": "^[a-z]+$"}, {"maxLength": 8}]))
    if draw(st.booleans()):
        options["min_properties"] = draw(st.integers(0, required))
    if draw(st.booleans()):
        options["max_properties"] = len(props) + draw(st.integers(0, 2))
    return options


@st.composite
def scalar_property(draw: st.DrawFn, name: str) -> Property:
    kind = draw(st.sampled_from(["string", "number", "integer", "boolean"]))
    required = draw(st.booleans())
    if kind == "string":
        return string(name, required=required, **draw(string_options()))
    if kind in ("number", "integer"):
        return (integer if kind == "integer" else number)(name, required=required, **draw(number_options(kind)))
    return boolean(name, required=required, **_common(draw, boolean_items(), {}))


@st.composite
def properties(draw: st.DrawFn) -> list[Property]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    out = []
    for name in names:
        kind = draw(st.sampled_from(["scalar", "array", "object"]))
        required = draw(st.booleans())
        if kind == "scalar":
            out.append(draw(scalar_property(name)))
        elif kind == "array":
            out.append(array(name, required=required, **draw(array_options())))
        else:
            out.append(object(name, required=required, **draw(object_options())))
    return out


# --------------------------------------------------------------------------------------------------------------
# the properties
# --------------------------------------------------------------------------------------------------------------


@SETTINGS
@given(properties())
def test_random_option_combinations_give_valid_json_schema(props: list[Property]) -> None:
    tool = new_tool("random", "a tool with random options", *props)
    Draft202012Validator.check_schema(tool.input_schema)
    compile_schema(tool.input_schema)
    assert json.loads(json.dumps(tool.input_schema)) == tool.input_schema


@SETTINGS
@given(st.data(), properties())
def test_generated_arguments_pass_validation_and_reach_the_tool_unchanged(data: st.DataObject,
                                                                           props: list[Property]) -> None:
    tool = new_tool("record", "records its arguments", *props)
    arguments = data.draw(values(tool.input_schema), label="arguments")
    assert Draft202012Validator(tool.input_schema).is_valid(arguments)
    received: list[dict[str, Any]] = []
    tools = ToolSet("recorder")
    tools.add(tool, lambda **kwargs: received.append(kwargs) or "ok")
    manager = PluginManager(entry_points=False)
    manager.register(tools)
    registry = ToolRegistry(manager)
    try:
        snapshot = json.dumps(arguments, sort_keys=True)
        result = registry.call("record", arguments)
        assert not result.is_error, result.text
        assert result.text == "ok"
        assert json.dumps(received[0], sort_keys=True) == snapshot
        assert received[0] == arguments
    finally:
        registry.shutdown()
        manager.shutdown()


def _instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    names = list(schema.get("properties", {}))
    near = st.dictionaries(st.sampled_from([*names, "zz"]), JSON, max_size=4) if names else JSON
    return st.one_of(values(schema), JSON, near)


@SETTINGS
@given(st.data(), properties())
def test_the_validator_agrees_with_jsonschema(data: st.DataObject, props: list[Property]) -> None:
    schema = new_tool("t", "", *props).input_schema
    assume('"format"' not in json.dumps(schema))  # formats: see test_tools_validate (jsonschema's need extras)
    reference = Draft202012Validator(schema)
    check = compile_schema(schema)
    for _ in range(5):
        instance = data.draw(_instances(schema), label="instance")
        try:
            check(instance)
            ours = True
        except ValidationError:
            ours = False
        assert ours is reference.is_valid(instance), instance


@SETTINGS
@given(st.data(), st.sampled_from(sorted(FORMAT_VALUES)))
def test_generated_format_values_are_valid(data: st.DataObject, name: str) -> None:
    compile_schema({"type": "string", "format": name})(data.draw(FORMAT_VALUES[name]))
