"""Checking tool arguments against a JSON Schema, compiled once per tool.

pluginkit validates every call's arguments before the tool runs, on the host's hot path, and its runtime
dependencies carry no JSON-Schema library. So a schema is compiled here, once, into nested closures that do only
what that schema asks (a three-property object costs a few hundred nanoseconds), and a failure raises
:class:`ValidationError` naming the field's path and the schema keyword ("rule") that failed — the message an
LLM needs to correct its call.

Supported: Draft 2020-12's validation and applicator keywords (``type``, ``enum``, ``const``, numeric and string
limits, ``pattern``, ``format`` for the common formats, array and object keywords including ``prefixItems``,
``contains``, ``patternProperties``, ``propertyNames``, ``dependentRequired`` / ``dependentSchemas``, ``allOf`` /
``anyOf`` / ``oneOf`` / ``not`` / ``if``-``then``-``else``, and local ``$ref``). Keywords that need annotation
tracking or remote documents (``unevaluated*``, ``$dynamicRef``, remote ``$ref``) are refused with
:class:`SchemaError` when the schema is compiled, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pluginkit.tools._keywords import (
    Check,
    _all_of,
    _any_of,
    _const_check,
    _contains_check,
    _count,
    _enum_check,
    _extra_properties,
    _generate_object,
    _if_then_else,
    _items_check,
    _noop,
    _not,
    _number_checks,
    _object_limits,
    _one_of,
    _regex,
    _reject,
    _size_check,
    _string_checks,
    _type_check,
    _unique_check,
)
from pluginkit.tools._values import SchemaError, ValidationError, _is_array, json_equal

__all__ = ["Check", "SchemaError", "ValidationError", "compile_schema", "json_equal"]

_UNSUPPORTED = ("unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef")


# ----------------------------------------------------------------------------------------------------------
# the compiler
# ----------------------------------------------------------------------------------------------------------


def compile_schema(schema: Any) -> Check:
    """Compile ``schema`` into a function that returns ``None`` for valid data and raises
    :class:`ValidationError` otherwise. Raises :class:`SchemaError` for a schema it cannot honour."""
    if not isinstance(schema, Mapping | bool):
        raise SchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    return _Compiler(schema).compile(schema, "#")


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, list[Check]] = {}

    def compile(self, schema: Any, where: str) -> Check:
        if schema is True:
            return _noop
        if schema is False:
            return _reject
        if not isinstance(schema, Mapping):
            raise SchemaError(f"{where}: a schema must be an object or a boolean")
        for keyword in _UNSUPPORTED:
            if keyword in schema:
                raise SchemaError(f"{where}: the keyword {keyword!r} is not supported by pluginkit's validator")
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"], where))
        typed_object = schema.get("type") == "object"
        if "type" in schema and not typed_object:
            checks.append(_type_check(schema["type"], where))
        if "enum" in schema:
            checks.append(_enum_check(schema["enum"], where))
        if "const" in schema:
            checks.append(_const_check(schema["const"]))
        checks += _number_checks(schema, where)
        checks += _string_checks(schema, where)
        checks += self._array_checks(schema, where)
        object_check = self._object_check(schema, where, typed_object)
        if object_check is not None:
            checks.append(object_check)
        checks += self._applicators(schema, where)
        if not checks:
            return _noop
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            first, second = checks

            def both(value: Any) -> None:
                first(value)
                second(value)

            return both
        frozen = tuple(checks)

        def all_checks(value: Any) -> None:
            for check in frozen:
                check(value)

        return all_checks

    # -- $ref --------------------------------------------------------------------------------------------------
    def _ref(self, ref: Any, where: str) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"{where}: only local $ref values ('#/...') are supported, not {ref!r}")
        holder = self.refs.get(ref)
        if holder is None:
            holder = []
            self.refs[ref] = holder
            holder.append(self.compile(self._resolve(ref, where), ref))
        cell = holder

        def follow(value: Any) -> None:
            cell[0](value)

        return follow

    def _resolve(self, ref: str, where: str) -> Any:
        node = self.root
        for raw in ref[1:].lstrip("/").split("/") if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SchemaError(f"{where}: $ref {ref!r} points nowhere")
        return node

    # -- arrays -----------------------------------------------------------------------------------------------
    def _array_checks(self, schema: Mapping[str, Any], where: str) -> list[Check]:
        checks: list[Check] = []
        prefix: tuple[Check, ...] = ()
        if "prefixItems" in schema:
            items = schema["prefixItems"]
            if not isinstance(items, list) or not items:
                raise SchemaError(f"{where}: prefixItems must be a non-empty array of schemas")
            prefix = tuple(self.compile(s, f"{where}/prefixItems/{i}") for i, s in enumerate(items))
        rest = self.compile(schema["items"], f"{where}/items") if "items" in schema else None
        if prefix or (rest is not None and rest is not _noop):
            checks.append(_items_check(prefix, rest))
        low, high = _count(schema, "minItems", where), _count(schema, "maxItems", where)
        if low is not None or high is not None:
            checks.append(_size_check(_is_array, low, high, "minItems", "maxItems", "item"))
        unique = schema.get("uniqueItems", False)
        if not isinstance(unique, bool):
            raise SchemaError(f"{where}: uniqueItems must be true or false")
        if unique:
            checks.append(_unique_check)
        if "contains" in schema:
            contains = self.compile(schema["contains"], f"{where}/contains")
            low_c = _count(schema, "minContains", where)
            high_c = _count(schema, "maxContains", where)
            checks.append(_contains_check(contains, 1 if low_c is None else low_c, high_c))
        return checks

    # -- objects ---------------------------------------------------------------------------------------------
    def _object_check(self, schema: Mapping[str, Any], where: str, typed: bool) -> Check | None:
        properties = schema.get("properties", {})
        if not isinstance(properties, Mapping):
            raise SchemaError(f"{where}: properties must be an object")
        props = [(name, sub, self.compile(sub, f"{where}/properties/{name}")) for name, sub in properties.items()]
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise SchemaError(f"{where}: required must be an array of property names")
        if len(set(required)) != len(required):
            raise SchemaError(f"{where}: required lists a property twice")
        patterns = tuple(
            (_regex(p, f"{where}/patternProperties"), self.compile(s, f"{where}/patternProperties/{p}"))
            for p, s in dict(schema.get("patternProperties", {})).items()
        )
        additional = (
            self.compile(schema["additionalProperties"], f"{where}/additionalProperties")
            if "additionalProperties" in schema
            else None
        )
        names = self.compile(schema["propertyNames"], f"{where}/propertyNames") if "propertyNames" in schema else None
        low, high = _count(schema, "minProperties", where), _count(schema, "maxProperties", where)
        dependent = {k: list(v) for k, v in dict(schema.get("dependentRequired", {})).items()}
        dep_schemas = tuple(
            (k, self.compile(s, f"{where}/dependentSchemas/{k}"))
            for k, s in dict(schema.get("dependentSchemas", {})).items()
        )
        if not typed and not (props or required or patterns or additional or names or low is not None
                              or high is not None or dependent or dep_schemas):
            return None
        if additional is _noop:
            additional = None
        limits = None
        if names or low is not None or high is not None or dependent or dep_schemas:

            def limits(value: Any) -> None:
                _object_limits(value, names, low, high, dependent, dep_schemas)

        extra = None
        if patterns or (additional is not None and not (additional is _reject and not patterns)):
            known = frozenset(properties)

            def extra(value: Any) -> None:
                _extra_properties(value, known, patterns, additional)

        return _generate_object(props, required, additional is _reject and not patterns, extra, limits, typed)

    # -- applicators ------------------------------------------------------------------------------------------
    def _applicators(self, schema: Mapping[str, Any], where: str) -> list[Check]:
        checks: list[Check] = []
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword not in schema:
                continue
            subs = schema[keyword]
            if not isinstance(subs, list) or not subs:
                raise SchemaError(f"{where}: {keyword} must be a non-empty array of schemas")
            compiled = tuple(self.compile(s, f"{where}/{keyword}/{i}") for i, s in enumerate(subs))
            checks.append({"allOf": _all_of, "anyOf": _any_of, "oneOf": _one_of}[keyword](compiled))
        if "not" in schema:
            checks.append(_not(self.compile(schema["not"], f"{where}/not")))
        if "if" in schema:
            condition = self.compile(schema["if"], f"{where}/if")
            then = self.compile(schema.get("then", True), f"{where}/then")
            otherwise = self.compile(schema.get("else", True), f"{where}/else")
            checks.append(_if_then_else(condition, then, otherwise))
        return checks
