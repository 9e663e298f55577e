"""The argument validator: every keyword agrees with the reference implementation (jsonschema), and every error
names the field and the rule."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pluginkit.tools import SchemaError, ValidationError, compile_schema

CASES: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": "string"}, ["a", "", 1, None, True, [], {}]),
    ({"type": "integer"}, [1, -3, 2.0, 2.5, True, "1", None]),
    ({"type": "number"}, [1, 2.5, True, "1", None]),
    ({"type": "boolean"}, [True, False, 0, "true"]),
    ({"type": "null"}, [None, 0, ""]),
    ({"type": "array"}, [[], [1], (), {}, "x"]),
    ({"type": "object"}, [{}, {"a": 1}, [], "x"]),
    ({"type": ["string", "null"]}, ["a", None, 1]),
    ({"enum": ["a", 1, None, [1, 2], {"k": True}]}, ["a", 1, 1.0, True, None, [1, 2], [2, 1], {"k": True}, {"k": 1}]),
    ({"enum": [True, 0]}, [True, False, 0, 1, 0.0]),
    ({"const": {"a": [1, True]}}, [{"a": [1, True]}, {"a": [1, 1]}, {"a": [True, True]}]),
    ({"minimum": 2, "maximum": 5}, [1, 2, 5, 6, "x", 5.5]),
    ({"exclusiveMinimum": 2, "exclusiveMaximum": 5}, [2, 2.1, 4.9, 5]),
    ({"multipleOf": 3}, [0, 3, 9, 10, 3.0, 4.5]),
    ({"multipleOf": 0.1}, [0.3, 0.35, 1, 1.05]),
    ({"minLength": 2, "maxLength": 3}, ["a", "ab", "abc", "abcd", "é€", 5]),
    ({"pattern": "^a+$"}, ["a", "aa", "ab", "", 3]),
    ({"pattern": "b"}, ["abc", "xyz"]),
    ({"items": {"type": "integer"}}, [[1, 2], [1, "2"], [], "not an array"]),
    ({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
     [["a", 1], ["a"], ["a", 1, 2], [1, 1]]),
    ({"minItems": 1, "maxItems": 2}, [[], [1], [1, 2, 3]]),
    ({"uniqueItems": True}, [[1, 2], [1, 1], [1, 1.0], [1, True], [[1], [1]], [{"a": 1}, {"a": 1}]]),
    ({"contains": {"type": "string"}, "minContains": 2, "maxContains": 3}, [["a", "b"], ["a", 1], ["a"] * 4]),
    ({"properties": {"a": {"type": "string"}}, "required": ["a"]}, [{"a": "x"}, {"a": 1}, {}, {"b": 1}, "x"]),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False},
     [{"a": 1}, {"a": 1, "b": 2}, {}, {"a": "x"}, []]),
    ({"additionalProperties": {"type": "integer"}}, [{"a": 1}, {"a": "x"}]),
    ({"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False},
     [{"x1": 1}, {"x1": "a"}, {"y": 1}]),
    ({"propertyNames": {"maxLength": 2}}, [{"ab": 1}, {"abc": 1}]),
    ({"minProperties": 1, "maxProperties": 2}, [{}, {"a": 1}, {"a": 1, "b": 2, "c": 3}]),
    ({"dependentRequired": {"a": ["b"]}}, [{"a": 1, "b": 2}, {"a": 1}, {"b": 1}]),
    ({"dependentSchemas": {"a": {"required": ["c"]}}}, [{"a": 1, "c": 1}, {"a": 1}]),
    ({"allOf": [{"type": "integer"}, {"minimum": 3}]}, [3, 2, "x"]),
    ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, [1, None, "x"]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3, 2.5, "x"]),
    ({"not": {"type": "string"}}, [1, "x"]),
    ({"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}}, [1, -1, "x", None]),
    ({"$defs": {"pos": {"type": "integer", "minimum": 1}}, "properties": {"n": {"$ref": "#/$defs/pos"}}},
     [{"n": 1}, {"n": 0}]),
    ({"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}},
                         "additionalProperties": False}},
      "$ref": "#/$defs/node"}, [{"next": {"next": {}}}, {"next": {"x": 1}}]),
    (True, [1, "x"]),  # type: ignore[list-item]
    (False, [1]),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("schema", "instances"), CASES)
def test_agrees_with_jsonschema(schema: dict[str, Any], instances: list[Any]) -> None:
    reference = Draft202012Validator(schema, format_checker=FormatChecker())
    check = compile_schema(schema)
    for instance in instances:
        expected = reference.is_valid(instance if not isinstance(instance, tuple) else list(instance))
        try:
            check(instance)
            ok = True
        except ValidationError:
            ok = False
        assert ok is expected, f"{schema} on {instance!r}: pluginkit says {ok}, jsonschema {expected}"


FORMATS: dict[str, tuple[list[str], list[str]]] = {
    "date-time": (["2024-01-01T10:00:00Z", "2024-01-01T10:00:00.5+02:00", "2024-02-29t00:00:00z"],
                  ["2024-01-01", "2024-13-01T00:00:00Z", "2024-01-01T10:00:00", "2024-01-01T25:00:00Z"]),
    "date": (["2024-02-29", "1999-12-31"], ["2023-02-29", "2024-1-1", "2024-01-01T00:00:00Z"]),
    "time": (["10:00:00Z", "23:59:59+01:00", "08:30:00.25-05:00"],
             ["25:00:00Z", "10:00", "10:00:00", "10:00:00+24:00"]),
    "email": (["a@b.c", "first.last@example.org"], ["ab.c", "a@@b", "a b@c.d"]),
    "uuid": (["12345678-1234-5678-1234-567812345678"], ["1234", "12345678123456781234567812345678"]),
    "ipv4": (["127.0.0.1", "10.0.0.255"], ["256.0.0.1", "::1", "1.2.3"]),
    "ipv6": (["::1", "fe80::1"], ["127.0.0.1", "fe80:::1"]),
    "hostname": (["example.com", "a-b.example"], ["-bad.com", "a" * 64 + ".com", "under_score.com"]),
    "uri": (["https://example.com/x", "mailto:a@b.c", "urn:isbn:123"], ["no scheme", "/relative/path", "http://a b"]),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_common_formats_are_asserted(name: str) -> None:
    check = compile_schema({"format": name})
    good, bad = FORMATS[name]
    for value in good:
        check(value)
    for value in bad:
        with pytest.raises(ValidationError, match=f"must be a valid {name}"):
            check(value)
    check(5)  # formats constrain strings only
    compile_schema({"format": "custom-thing"})("anything")  # unknown formats are annotations


@pytest.mark.parametrize(
    ("schema", "instance", "field", "rule", "text"),
    [
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "x"}, "n", "type",
         "'n': expected an integer, got a string (rule: type)"),
        ({"required": ["city"]}, {}, "city", "required", "'city': is required (rule: required)"),
        ({"properties": {"n": {"maximum": 10}}}, {"n": 12}, "n", "maximum", "'n': must be at most 10; got 12"),
        ({"properties": {"tags": {"items": {"maxLength": 3}}}}, {"tags": ["ok", "toolong"]}, "tags[1]", "maxLength",
         "'tags[1]': must have at most 3 characters; has 7 (rule: maxLength)"),
        ({"properties": {"a": {"properties": {"b": {"enum": [1, 2]}}}}}, {"a": {"b": 3}}, "a.b", "enum",
         "'a.b': must be one of 1, 2; got 3 (rule: enum)"),
        ({"type": "object", "additionalProperties": False}, {"zz": 1}, "zz", "additionalProperties",
         "'zz': is not an accepted property"),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "x", "", "type",
         "the arguments: expected an integer or null, got a string (rule: type)"),
        ({"properties": {"when": {"format": "date-time"}}}, {"when": "noon"}, "when", "format",
         "'when': must be a valid date-time; got 'noon' (rule: format)"),
        ({"properties": {"xs": {"uniqueItems": True}}}, {"xs": [1, 2, 1]}, "xs[2]", "uniqueItems", "repeats"),
        ({"type": "object"}, [], "", "type", "expected an object, got an array"),
    ],
)
def test_errors_name_the_field_and_the_rule(
    schema: dict[str, Any], instance: Any, field: str, rule: str, text: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        compile_schema(schema)(instance)
    assert caught.value.field == field and caught.value.rule == rule
    assert text in str(caught.value)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "strin"}, "type must be one of"),
        ({"minLength": -1}, "minLength must be a non-negative integer"),
        ({"pattern": "("}, "invalid pattern"),
        ({"$ref": "https://example.com/schema"}, "only local $ref"),
        ({"$ref": "#/$defs/missing"}, "points nowhere"),
        ({"unevaluatedProperties": False}, "not supported"),
        ({"$dynamicRef": "#x"}, "not supported"),
        ({"enum": []}, "enum must be a non-empty array"),
        ({"anyOf": []}, "anyOf must be a non-empty array"),
        ({"required": ["a", "a"]}, "required lists a property twice"),
        ({"multipleOf": 0}, "multipleOf must be greater than 0"),
        ({"minimum": "1"}, "minimum must be a number"),
        ({"properties": {"a": 3}}, "a schema must be an object or a boolean"),
        ([], "a schema must be an object or a boolean"),
    ],
)
def test_schemas_it_cannot_honour_are_refused(schema: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message.replace("$", r"\$").replace("(", r"\(")):
        compile_schema(schema)


def test_valid_arguments_are_not_changed() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}}
    arguments = {"a": [1, 2], "b": {"c": None}}
    snapshot = repr(arguments)
    assert compile_schema(schema)(arguments) is None
    assert repr(arguments) == snapshot
