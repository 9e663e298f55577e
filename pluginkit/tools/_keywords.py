"""The checks of the individual JSON Schema keywords, built once per schema by the compiler.

Each builder returns a closure (or, for objects, a generated function) that returns ``None`` for a valid value
and raises :class:`~pluginkit.tools.ValidationError` naming the keyword otherwise. A keyword only constrains
values of its own type (``minimum`` ignores strings), as JSON Schema says; ``type`` is checked separately.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pluginkit.tools._values import (
    _ARTICLE,
    _TYPE_TESTS,
    _TYPES,
    FORMATS,
    SchemaError,
    ValidationError,
    _canonical,
    _describe,
    _is_array,
    _is_integer,
    _is_number,
    _is_string,
    json_equal,
)
from pluginkit.wire._codegen import compile_function

Check = Callable[[Any], None]


def _noop(value: Any) -> None:
    return None


def _reject(value: Any) -> None:
    raise ValidationError("false", "no value is allowed here")


def _count(schema: Mapping[str, Any], keyword: str, where: str) -> int | None:
    if keyword not in schema:
        return None
    value = schema[keyword]
    if value.__class__ is float and value.is_integer():
        value = int(value)
    if value.__class__ is not int or value < 0:
        raise SchemaError(f"{where}: {keyword} must be a non-negative integer, not {value!r}")
    return int(value)


def _number(schema: Mapping[str, Any], keyword: str, where: str) -> float | None:
    if keyword not in schema:
        return None
    value = schema[keyword]
    if not _is_number(value):
        raise SchemaError(f"{where}: {keyword} must be a number, not {value!r}")
    return value  # type: ignore[no-any-return]


def _regex(pattern: Any, where: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise SchemaError(f"{where}: a pattern must be a string")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SchemaError(f"{where}: invalid pattern {pattern!r}: {exc}") from None


def _type_check(declared: Any, where: str) -> Check:
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names or any(n not in _TYPES for n in names) or len(set(names)) != len(
        names
    ):
        raise SchemaError(f"{where}: type must be one of {', '.join(_TYPES)} (or a list of them), not {declared!r}")
    wanted = " or ".join(_ARTICLE.get(n, f"a {n}") for n in names)
    if len(names) == 1:
        test = _TYPE_TESTS[names[0]]

        def check_type(value: Any) -> None:
            if not test(value):
                raise ValidationError("type", f"expected {wanted}, got {_describe(value)}")

        return check_type
    tests = tuple(_TYPE_TESTS[n] for n in names)

    def check_types(value: Any) -> None:
        for test in tests:
            if test(value):
                return
        raise ValidationError("type", f"expected {wanted}, got {_describe(value)}")

    return check_types


def _enum_check(values: Any, where: str) -> Check:
    if not isinstance(values, list) or not values:
        raise SchemaError(f"{where}: enum must be a non-empty array")
    keys: set[Any] = set()
    for v in values:
        try:
            keys.add(_canonical(v))
        except TypeError:
            raise SchemaError(f"{where}: enum values must be JSON values, not {v!r}") from None
    shown = ", ".join(repr(v) for v in values[:10]) + (", …" if len(values) > 10 else "")
    frozen = frozenset(keys)

    def check_enum(value: Any) -> None:
        try:
            if _canonical(value) in frozen:
                return
        except TypeError:
            pass
        raise ValidationError("enum", f"must be one of {shown}; got {value!r}")

    return check_enum


def _const_check(expected: Any) -> Check:
    def check_const(value: Any) -> None:
        if not json_equal(value, expected):
            raise ValidationError("const", f"must be {expected!r}; got {value!r}")

    return check_const


def _number_checks(schema: Mapping[str, Any], where: str) -> list[Check]:
    checks: list[Check] = []
    for keyword, fails, words in (
        ("minimum", lambda v, b: v < b, "at least"),
        ("maximum", lambda v, b: v > b, "at most"),
        ("exclusiveMinimum", lambda v, b: v <= b, "greater than"),
        ("exclusiveMaximum", lambda v, b: v >= b, "less than"),
    ):
        bound = _number(schema, keyword, where)
        if bound is not None:
            checks.append(_bound_check(keyword, bound, fails, words))
    step = _number(schema, "multipleOf", where)
    if step is not None:
        if step <= 0:
            raise SchemaError(f"{where}: multipleOf must be greater than 0")
        checks.append(_multiple_check(step))
    return checks


def _bound_check(rule: str, bound: float, fails: Callable[[Any, float], bool], words: str) -> Check:
    def check_bound(value: Any) -> None:
        if (value.__class__ is int or value.__class__ is float or _is_number(value)) and fails(value, bound):
            raise ValidationError(rule, f"must be {words} {bound!r}; got {value!r}")

    return check_bound


def _multiple_check(step: float) -> Check:
    def check_multiple(value: Any) -> None:
        if not _is_number(value):
            return
        if isinstance(step, float) or isinstance(value, float):
            try:
                quotient = value / step
                failed = int(quotient) != quotient
            except OverflowError:
                failed = True
        else:
            failed = bool(value % step)
        if failed:
            raise ValidationError("multipleOf", f"must be a multiple of {step!r}; got {value!r}")

    return check_multiple


def _string_checks(schema: Mapping[str, Any], where: str) -> list[Check]:
    checks: list[Check] = []
    low, high = _count(schema, "minLength", where), _count(schema, "maxLength", where)
    if low is not None or high is not None:
        checks.append(_size_check(_is_string, low, high, "minLength", "maxLength", "character"))
    if "pattern" in schema:
        regex = _regex(schema["pattern"], f"{where}/pattern")

        def check_pattern(value: Any) -> None:
            if _is_string(value) and not regex.search(value):
                raise ValidationError("pattern", f"must match the pattern {regex.pattern!r}; got {value!r}")

        checks.append(check_pattern)
    if "format" in schema:
        name = schema["format"]
        if not isinstance(name, str):
            raise SchemaError(f"{where}: format must be a string")
        test = FORMATS.get(name)
        if test is not None:

            def check_format(value: Any) -> None:
                if _is_string(value) and not test(value):
                    raise ValidationError("format", f"must be a valid {name}; got {value!r}")

            checks.append(check_format)
    return checks


def _size_check(
    applies: Callable[[Any], bool], low: int | None, high: int | None, low_rule: str, high_rule: str, unit: str
) -> Check:
    def check_size(value: Any) -> None:
        if not applies(value):
            return
        size = len(value)
        if low is not None and size < low:
            raise ValidationError(low_rule, f"must have at least {low} {unit}{'s' if low != 1 else ''}; has {size}")
        if high is not None and size > high:
            raise ValidationError(high_rule, f"must have at most {high} {unit}{'s' if high != 1 else ''}; has {size}")

    return check_size


def _items_check(prefix: tuple[Check, ...], rest: Check | None) -> Check:
    def check_items(value: Any) -> None:
        if not _is_array(value):
            return
        index = 0
        try:
            for index, item in enumerate(value):
                if index < len(prefix):
                    prefix[index](item)
                elif rest is not None:
                    rest(item)
        except ValidationError as exc:
            if exc.rule == "false" and index >= len(prefix):
                exc.rule, exc.message = "items", "is more than the array accepts"
            exc.path.insert(0, index)
            raise

    return check_items


def _unique_check(value: Any) -> None:
    if not _is_array(value):
        return
    seen: set[Any] = set()
    for index, item in enumerate(value):
        key = _canonical(item)
        if key in seen:
            raise ValidationError("uniqueItems", f"repeats an earlier item: {item!r}", [index])
        seen.add(key)


def _contains_check(contains: Check, low: int, high: int | None) -> Check:
    def check_contains(value: Any) -> None:
        if not _is_array(value):
            return
        matches = 0
        for item in value:
            try:
                contains(item)
            except ValidationError:
                continue
            matches += 1
        if matches < low:
            raise ValidationError("contains", f"must contain at least {low} matching item(s); has {matches}")
        if high is not None and matches > high:
            raise ValidationError("maxContains", f"must contain at most {high} matching item(s); has {matches}")

    return check_contains


def _extra_properties(
    value: Mapping[str, Any],
    known: frozenset[str],
    patterns: tuple[tuple[re.Pattern[str], Check], ...],
    additional: Check | None,
) -> None:
    for key, item in value.items():
        matched = False
        for regex, sub in patterns:
            if isinstance(key, str) and regex.search(key):
                matched = True
                try:
                    sub(item)
                except ValidationError as exc:
                    exc.path.insert(0, key)
                    raise
        if not matched and key not in known and additional is not None:
            try:
                additional(item)
            except ValidationError as exc:
                if exc.rule == "false":
                    exc.rule, exc.message = "additionalProperties", "is not an accepted property"
                exc.path.insert(0, key)
                raise


def _object_limits(
    value: Mapping[str, Any],
    names: Check | None,
    low: int | None,
    high: int | None,
    dependent: dict[str, list[str]],
    dep_schemas: tuple[tuple[str, Check], ...],
) -> None:
    size = len(value)
    if low is not None and size < low:
        raise ValidationError("minProperties", f"must have at least {low} properties; has {size}")
    if high is not None and size > high:
        raise ValidationError("maxProperties", f"must have at most {high} properties; has {size}")
    if names is not None:
        for key in value:
            try:
                names(key)
            except ValidationError as exc:
                raise ValidationError(
                    "propertyNames", f"is not an accepted property name: {exc.message}", [key]
                ) from None
    for key, needed in dependent.items():
        if key in value:
            for name in needed:
                if name not in value:
                    raise ValidationError("dependentRequired", f"is required when {key!r} is given", [name])
    for key, sub in dep_schemas:
        if key in value:
            sub(value)


#: Keywords that do not validate: a property schema made of ``type`` and these is checked inline.
_ANNOTATIONS = frozenset(
    {"description", "title", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment", "format"}
)
_INLINE = {
    "string": "v.__class__ is not str and not isinstance(v, str)",
    "integer": "v.__class__ is not int and not _is_integer(v)",
    "number": "(v.__class__ is not int and not (v.__class__ is float and _isfinite(v))) and not _is_number(v)",
    "boolean": "v is not True and v is not False",
    "null": "v is not None",
}


def _inline_type(schema: Any) -> str | None:
    """The type of a property schema that only says ``type`` (plus annotations), checkable inline."""
    if not isinstance(schema, Mapping) or schema.get("type") not in _INLINE:
        return None
    if schema.get("format") in FORMATS or any(k not in _ANNOTATIONS and k != "type" for k in schema):
        return None
    return str(schema["type"])


def _type_failure(name: str, wanted: str, value: Any) -> ValidationError:
    return ValidationError("type", f"expected {_ARTICLE.get(wanted, 'a ' + wanted)}, got {_describe(value)}", [name])


def _not_object(value: Any) -> ValidationError:
    return ValidationError("type", f"expected an object, got {_describe(value)}")


def _generate_object(
    props: list[tuple[str, Any, Check]],
    required: list[str],
    closed: bool,
    extra: Check | None,
    limits: Check | None,
    typed: bool,
) -> Check:
    """Generate one straight-line function checking an object: its type, required names, each property
    (simple types inline, others through their compiled check), unknown names. Generated once per schema, it
    runs several times faster than walking the schema at every call."""
    namespace: dict[str, Any] = {
        "_Mapping": Mapping, "_VE": ValidationError, "_is_integer": _is_integer, "_is_number": _is_number,
        "_isfinite": math.isfinite, "_type_failure": _type_failure, "_not_object": _not_object,
        "_extra": extra, "_limits": limits,
    }
    lines = ["def check_object(value):", "    if value.__class__ is not dict and not isinstance(value, _Mapping):"]
    lines.append("        raise _not_object(value)" if typed else "        return")
    for name in required:
        lines.append(f"    if {name!r} not in value: raise _VE('required', 'is required', [{name!r}])")
    present = set(required)
    if closed:
        lines.append(f"    n = {len(present)}")
    for index, (name, schema, check) in enumerate(props):
        if check is _noop and name in present:
            continue
        body: list[str] = []
        kind = _inline_type(schema)
        if kind is not None:
            body.append(f"if {_INLINE[kind]}: raise _type_failure({name!r}, {kind!r}, v)")
        elif check is not _noop:
            namespace[f"_c{index}"] = check
            body += [f"try: _c{index}(v)", "except _VE as e:", f"    e.path.insert(0, {name!r}); raise"]
        if name in present:
            lines.append(f"    v = value[{name!r}]")
            lines += [f"    {line}" for line in body]
        elif body or closed:
            lines.append(f"    if {name!r} in value:")
            if closed:
                lines.append("        n += 1")
            if body:
                lines.append(f"        v = value[{name!r}]")
                lines += [f"        {line}" for line in body]
    if closed:
        namespace["_known"] = frozenset(name for name, _, _ in props)
        lines.append("    if len(value) != n:")
        lines.append("        for key in value:")
        lines.append("            if key not in _known:")
        lines.append("                raise _VE('additionalProperties', 'is not an accepted property', [key])")
    if extra is not None:
        lines.append("    _extra(value)")
    if limits is not None:
        lines.append("    _limits(value)")
    return compile_function("\n".join(lines), "check_object", namespace, "tool schema check")



def _all_of(subs: tuple[Check, ...]) -> Check:
    def check_all_of(value: Any) -> None:
        for sub in subs:
            sub(value)

    return check_all_of


def _any_of(subs: tuple[Check, ...]) -> Check:
    def check_any_of(value: Any) -> None:
        errors: list[ValidationError] = []
        for sub in subs:
            try:
                sub(value)
            except ValidationError as exc:
                errors.append(exc)
            else:
                return
        raise _best(errors, "anyOf", "does not match any of the accepted forms")

    return check_any_of


def _one_of(subs: tuple[Check, ...]) -> Check:
    def check_one_of(value: Any) -> None:
        errors: list[ValidationError] = []
        matched = 0
        for sub in subs:
            try:
                sub(value)
            except ValidationError as exc:
                errors.append(exc)
            else:
                matched += 1
        if matched == 1:
            return
        if matched > 1:
            raise ValidationError("oneOf", f"matches {matched} of the accepted forms; it must match exactly one")
        raise _best(errors, "oneOf", "does not match any of the accepted forms")

    return check_one_of


def _best(errors: Sequence[ValidationError], rule: str, message: str) -> ValidationError:
    """The error to report for a failed ``anyOf``/``oneOf``: a branch's own error when only one branch accepted
    the value's type (``Optional[int]`` given a string reports the integer branch), else a summary."""
    typed = [e for e in errors if e.rule != "type" or e.path]
    if len(typed) == 1:
        return typed[0]
    if not typed and errors:
        wanted = " or ".join(dict.fromkeys(e.message.split(", got ")[0].removeprefix("expected ") for e in errors))
        got = errors[0].message.rsplit(", got ", 1)[-1]
        return ValidationError("type", f"expected {wanted}, got {got}")
    return ValidationError(rule, message)


def _not(sub: Check) -> Check:
    def check_not(value: Any) -> None:
        try:
            sub(value)
        except ValidationError:
            return
        raise ValidationError("not", "matches a form that is not allowed")

    return check_not


def _if_then_else(condition: Check, then: Check, otherwise: Check) -> Check:
    def check_if(value: Any) -> None:
        try:
            condition(value)
        except ValidationError:
            otherwise(value)
        else:
            then(value)

    return check_if
