"""The schema builder: every option of the seed, the JSON Schema it produces, and the options it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pluginkit.tools import (
    Property,
    SchemaError,
    Tool,
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


def schema_of(prop: Property) -> dict[str, Any]:
    Draft202012Validator.check_schema(prop.schema)
    return prop.schema


# -- every option, the schema it produces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        (string("s"), {"type": "string"}),
        (string("s", description="d"), {"type": "string", "description": "d"}),
        (string("s", min_length=1, max_length=5), {"type": "string", "minLength": 1, "maxLength": 5}),
        (string("s", pattern="^[a-z]+$"), {"type": "string", "pattern": "^[a-z]+$"}),
        (string("s", format="date-time"), {"type": "string", "format": "date-time"}),
        (string("s", enum=["a", "b"]), {"type": "string", "enum": ["a", "b"]}),
        (string("s", default="x"), {"type": "string", "default": "x"}),
        (number("n", minimum=0.5, maximum=9.5), {"type": "number", "minimum": 0.5, "maximum": 9.5}),
        (number("n", exclusive_minimum=0, exclusive_maximum=1), {"type": "number", "exclusiveMinimum": 0,
                                                                 "exclusiveMaximum": 1}),
        (number("n", multiple_of=0.25), {"type": "number", "multipleOf": 0.25}),
        (integer("i", minimum=1, maximum=10, default=3), {"type": "integer", "minimum": 1, "maximum": 10,
                                                          "default": 3}),
        (integer("i", multiple_of=5, enum=[5, 10]), {"type": "integer", "multipleOf": 5, "enum": [5, 10]}),
        (boolean("b", default=True, description="flag"), {"type": "boolean", "description": "flag",
                                                           "default": True}),
        (boolean("b", enum=[True]), {"type": "boolean", "enum": [True]}),
        (array("a", items=string_items(), min_items=1, max_items=3, unique_items=True),
         {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": True}),
        (array("a", items={"type": "integer"}), {"type": "array", "items": {"type": "integer"}}),
        (array("a", default=[]), {"type": "array", "default": []}),
        (object("o"), {"type": "object", "properties": {}}),
        (object("o", properties=[string("x", required=True), integer("y")]),
         {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "integer"}}, "required": ["x"]}),
        (object("o", properties={"x": {"type": "string"}}),
         {"type": "object", "properties": {"x": {"type": "string"}}}),
        (object("o", additional_properties=False), {"type": "object", "properties": {}, "additionalProperties": False}),
        (object("o", additional_properties={"type": "number"}),
         {"type": "object", "properties": {}, "additionalProperties": {"type": "number"}}),
        (object("o", property_names={"pattern": "^[a-z]+$"}),
         {"type": "object", "properties": {}, "propertyNames": {"pattern": "^[a-z]+$"}}),
        (object("o", min_properties=1, max_properties=4),
         {"type": "object", "properties": {}, "minProperties": 1, "maxProperties": 4}),
    ],
)
def test_every_option_produces_its_keyword(prop: Property, expected: dict[str, Any]) -> None:
    assert schema_of(prop) == expected


def test_required_goes_to_the_tool_required_list() -> None:
    tool = new_tool("t", "desc", string("a", required=True), integer("b"), boolean("c", required=True))
    assert tool == Tool(
        name="t",
        description="desc",
        input_schema={
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"}},
            "required": ["a", "c"],
        },
    )
    assert "required" not in new_tool("t", "", string("a")).input_schema
    Draft202012Validator.check_schema(tool.input_schema)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (string_items(min_length=1, max_length=8, pattern="x", format="email", description="addr"),
         {"type": "string", "description": "addr", "minLength": 1, "maxLength": 8, "pattern": "x", "format": "email"}),
        (string_enum_items(["red", "green"]), {"type": "string", "enum": ["red", "green"]}),
        (number_items(minimum=0, maximum=1, multiple_of=0.5), {"type": "number", "minimum": 0, "maximum": 1,
                                                               "multipleOf": 0.5}),
        (integer_items(exclusive_minimum=0, default=1), {"type": "integer", "exclusiveMinimum": 0, "default": 1}),
        (boolean_items(description="each flag"), {"type": "boolean", "description": "each flag"}),
        (object_items(properties=[string("id", required=True)], additional_properties=False),
         {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"],
          "additionalProperties": False}),
    ],
)
def test_typed_array_items(items: dict[str, Any], expected: dict[str, Any]) -> None:
    assert items == expected
    assert schema_of(array("list", items=items))["items"] == expected


def test_raw_schema_is_kept_and_checked() -> None:
    raw = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"], "$defs": {}}
    assert new_tool("raw", "r", schema=raw).input_schema == raw
    with pytest.raises(SchemaError, match="must have type 'object'"):
        new_tool("raw", schema={"type": "array"})
    with pytest.raises(SchemaError, match="not supported"):
        new_tool("raw", schema={"type": "object", "unevaluatedProperties": False})
    with pytest.raises(SchemaError, match="not both"):
        new_tool("raw", "", string("a"), schema=raw)


# -- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: string("s", minimum=1), "option 'minimum' applies to integer and number properties, not to string"),
        (lambda: integer("i", pattern="x"), "option 'pattern' applies to string properties, not to integer"),
        (lambda: boolean("b", max_length=3), "option 'max_length' applies to string properties, not to boolean"),
        (lambda: array("a", properties=[]), "option 'properties' applies to object properties, not to array"),
        (lambda: object("o", items={}), "option 'items' applies to array properties, not to object"),
        (lambda: number("n", min_items=1), "option 'min_items' applies to array properties, not to number"),
        (lambda: string("s", colour="red"), "unknown option 'colour'"),
        (lambda: string_items(required=True), "'required' applies to named properties, not to array items"),
        (lambda: string("s", min_length=-1), "min_length must be a non-negative integer"),
        (lambda: string("s", min_length=5, max_length=2), "minLength 5 is greater than maxLength 2"),
        (lambda: string("s", pattern="("), "is not a valid regular expression"),
        (lambda: string("s", format=""), "format must be a non-empty string"),
        (lambda: integer("i", minimum=5, maximum=1), "no number is within the given minimum and maximum"),
        (lambda: number("n", exclusive_minimum=1, maximum=1), "no number is within"),
        (lambda: number("n", multiple_of=0), "multiple_of must be greater than 0"),
        (lambda: number("n", minimum=float("nan")), "must be a finite number"),
        (lambda: number("n", minimum=True), "must be a finite number"),
        (lambda: string("s", enum=[]), "enum must be a non-empty list"),
        (lambda: string("s", enum=["a", 1]), "enum value 1 does not fit the property"),
        (lambda: string("s", enum=["a"], default="b"), "default 'b' does not fit the property"),
        (lambda: integer("i", maximum=3, default=4), "default 4 does not fit the property"),
        (lambda: string("s", max_length=2, enum=["abc"]), "enum value 'abc' does not fit"),
        (lambda: string("s", required="yes"), "required must be True or False"),
        (lambda: array("a", items=string("x")), "expected a schema (e.g. string_items()), not the property 'x'"),
        (lambda: array("a", unique_items="yes"), "unique_items must be True or False"),
        (lambda: object("o", properties=["x"]), "expected a property from string()"),
        (lambda: object("o", properties=[string("x"), string("x")]), "property 'x' is defined twice"),
        (lambda: object("o", property_names={"type": "integer"}), "property_names must describe strings"),
        (lambda: string(""), "needs a non-empty name"),
        (lambda: new_tool("bad name"), "must be 1-128 letters"),
        (lambda: new_tool("t", "", string("a"), string("a")), "property 'a' is defined twice"),
    ],
)
def test_options_that_make_no_sense_are_refused(build: Any, message: str) -> None:
    with pytest.raises(SchemaError) as caught:
        build()
    assert message in str(caught.value)


def test_refusal_names_the_property_and_the_kind() -> None:
    with pytest.raises(SchemaError) as caught:
        string("city", minimum=1)
    assert str(caught.value).startswith("string property 'city':")
