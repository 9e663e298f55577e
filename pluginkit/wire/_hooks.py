"""Generating the converter's hooks for payload classes: straight-line Python per class, compiled once.

The structure hook of a class checks each field's JSON type inline (no per-field function call for scalars),
matches keys exactly and then case-insensitively, and fills defaults for absent keys; the unstructure hook writes
only non-default fields. Errors are :class:`~pluginkit.wire.WireError` with the path of the offending field.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs

from pluginkit.wire._codegen import compile_function
from pluginkit.wire._payload import is_payload, plain_init, unwrap_key, wire_names
from pluginkit.wire._scalars import (
    _INT64_MAX,
    _INT64_MIN,
    _MAPPING_ORIGINS,
    _MISSING,
    _SEQUENCE_ORIGINS,
    WireError,
    _b64decode,
    _b64encode,
    _sanitize_metadata,
    format_time,
    parse_time,
    sanitize_json,
)

__all__ = ["make_converter"]

# --------------------------------------------------------------------------------------------------------------
# Generated hooks
# --------------------------------------------------------------------------------------------------------------


def _is_optional(tp: Any) -> tuple[bool, Any]:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return True, args[0]
    return False, tp


class _Gen:
    """Accumulates the source of one generated function and the globals it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.globals: dict[str, Any] = {
            "WireError": WireError,
            "_b64d": _b64decode,
            "_b64e": _b64encode,
            "_ptime": parse_time,
            "_ftime": format_time,
            "_meta": _sanitize_metadata,
            "_isfinite": math.isfinite,
            "_IMIN": _INT64_MIN,
            "_IMAX": _INT64_MAX,
        }
        self._n = 0

    def ref(self, obj: Any) -> str:
        self._n += 1
        name = f"_g{self._n}"
        self.globals[name] = obj
        return name

    def compile(self, name: str) -> Callable[..., Any]:
        source = "\n".join(self.lines)
        fn = compile_function(source, name, dict(self.globals), f"wire hook {name}")
        fn.__pluginkit_source__ = source  # type: ignore[attr-defined]
        return fn


def _value_structurer(tp: Any) -> Callable[[Any], Any]:
    """A function converting one JSON value to ``tp`` (used inside lists and dicts)."""
    optional, inner = _is_optional(tp)
    if optional:
        inner_fn = _value_structurer(inner)
        return lambda v: None if v is None else inner_fn(v)
    if tp is Any or tp is object:
        return _identity
    if tp is str:
        return _check_str
    if tp is int:
        return _check_int
    if tp is float:
        return _check_float
    if tp is bool:
        return _check_bool
    if tp is bytes:
        return _b64decode
    if tp is datetime:
        return parse_time
    if is_payload(tp):  # generated hooks take ``(o, _t=None)``
        return typing.cast(Callable[[Any], Any], converter.get_structure_hook(tp))
    origin = get_origin(tp)
    if origin in _SEQUENCE_ORIGINS:
        (item_tp,) = get_args(tp) or (Any,)
        return _list_structurer(_value_structurer(item_tp))
    if origin in _MAPPING_ORIGINS:
        _key_tp, val_tp = get_args(tp) or (str, Any)
        return _dict_structurer(_value_structurer(val_tp))
    raise TypeError(f"pluginkit.wire cannot structure {tp!r}")


def _identity(v: Any) -> Any:
    return v


def _check_str(v: Any) -> str:
    if isinstance(v, str) and v.__class__ is str:
        return v
    raise WireError("expected string")


def _check_int(v: Any) -> int:
    if v.__class__ is int and _INT64_MIN <= v <= _INT64_MAX:
        return int(v)
    raise WireError("expected int")


def _check_float(v: Any) -> float:
    cls = v.__class__
    if (cls is float and math.isfinite(v)) or cls is int:
        return float(v)
    raise WireError("expected number")


def _check_bool(v: Any) -> bool:
    if v is True or v is False:
        return bool(v)
    raise WireError("expected boolean")


def _list_structurer(item: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def structure_list(v: Any) -> list[Any]:
        if v.__class__ is not list:
            raise WireError("expected array")
        out = []
        for index, element in enumerate(v):
            try:
                out.append(item(element))
            except WireError as exc:
                exc.path.insert(0, index)
                raise
        return out

    if item is _identity:
        return lambda v: list(v) if v.__class__ is list else structure_list(v)
    if item is _check_str:
        return lambda v: list(v) if v.__class__ is list and _all_str(v) else structure_list(v)

    def structure_list_fast(v: Any) -> list[Any]:
        if v.__class__ is list:
            try:
                return [item(element) for element in v]
            except WireError:
                pass  # rerun the indexed loop so that the error path names the index
        return structure_list(v)

    return structure_list_fast


def _dict_structurer(item: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    def structure_dict(v: Any) -> dict[str, Any]:
        if v.__class__ is not dict:
            raise WireError("expected object")
        out = {}
        for key, element in v.items():
            try:
                out[key] = item(element)
            except WireError as exc:
                exc.path.insert(0, key)
                raise
        return out

    if item is _identity:
        return lambda v: dict(v) if v.__class__ is dict else structure_dict(v)
    if item is _check_str:
        return lambda v: dict(v) if v.__class__ is dict and _all_str(v.values()) else structure_dict(v)
    return structure_dict


def _all_str(values: Iterable[Any]) -> bool:
    for value in values:  # noqa: SIM110 - a plain loop is twice as fast as all() over a generator
        if value.__class__ is not str:
            return False
    return True


def _default_expr(gen: _Gen, field: attrs.Attribute[Any]) -> str:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        factory: Callable[[], Any] = default.factory  # type: ignore[union-attr]
        if factory in (dict, list):
            return "{}" if factory is dict else "[]"
        return f"{gen.ref(factory)}()"
    if default is attrs.NOTHING:
        raise TypeError(f"payload field {field.name} needs a default (absent wire keys mean the zero value)")
    if default is None or isinstance(default, bool | int | float | str | bytes):
        if default:  # absent on the wire means the zero value, in Go and here
            raise TypeError(f"payload field {field.name} must default to its zero value, not {default!r}")
        return repr(default)
    return gen.ref(default)


def _make_structure(cls: type) -> Callable[[Any, Any], Any]:
    names = wire_names(cls)
    hints = typing.get_type_hints(cls)
    fields = attrs.fields(cls)
    gen = _Gen()
    known = frozenset(names.values())
    folded = {wire.lower(): wire for wire in names.values()}
    gen.globals.update(_known=known, _folded=folded, _cls=cls, _fold=_fold, _unwrap=unwrap_key(cls))
    fn_name = f"structure_{cls.__name__}"
    lines = gen.lines
    lines.append(f"def {fn_name}(o, _t=None):")
    lines.append("    if o.__class__ is not dict:")
    lines.append("        if not isinstance(o, _Mapping): raise WireError('expected object')")
    lines.append("        o = dict(o)")
    gen.globals["_Mapping"] = Mapping
    lines.append("    if not _known.issuperset(o): o = _fold(o, _known, _folded, _unwrap)")
    kwargs = []
    for index, field in enumerate(fields):
        wire = names[field.name]
        tp = hints[field.name]
        var = f"a{index}"
        kwargs.append(f"{field.name}={var}")
        default = _default_expr(gen, field)
        optional, inner = _is_optional(tp)
        lines.append(f"    v = o.get({wire!r})")
        lines.append(f"    if v is None: {var} = {default}")
        err = f"raise WireError({{}}, [{wire!r}])"
        if inner is str:
            lines.append(f"    elif v.__class__ is str: {var} = v")
            lines.append("    else: " + err.format("'expected string'"))
        elif inner is bool:
            lines.append(f"    elif v is True or v is False: {var} = v")
            lines.append("    else: " + err.format("'expected boolean'"))
        elif inner is int:
            lines.append(f"    elif v.__class__ is int and _IMIN <= v <= _IMAX: {var} = v")
            lines.append("    else: " + err.format("'expected int'"))
        elif inner is float:
            lines.append(f"    elif v.__class__ is float and _isfinite(v): {var} = v")
            lines.append(f"    elif v.__class__ is int: {var} = float(v)")
            lines.append("    else: " + err.format("'expected number'"))
        elif inner is Any:
            lines.append(f"    else: {var} = v")
        else:
            if inner is bytes:
                call = "_b64d(v)"
            elif inner is datetime:
                call = "_ptime(v)"
            else:
                call = f"{gen.ref(_value_structurer(inner))}(v)"
            lines.append("    else:")
            lines.append(f"        try: {var} = {call}")
            lines.append("        except WireError as e:")
            lines.append(f"            e.path.insert(0, {wire!r}); raise")
            if inner is datetime and not optional:
                lines.append(f"        if {var} is None: {var} = {default}")
    if plain_init(cls):  # filling a bare instance skips the keyword call into attrs' __init__
        gen.globals["_new"] = object.__new__
        lines.append("    _o = _new(_cls)")
        lines.extend(f"    _o.{field.name} = a{index}" for index, field in enumerate(fields))
        lines.append("    return _o")
    else:
        lines.append(f"    return _cls({', '.join(kwargs)})")
    return gen.compile(fn_name)


def _fold(o: dict[str, Any], known: frozenset[str], folded: dict[str, str], unwrap: str | None) -> dict[str, Any]:
    """Map keys that match a wire name only case-insensitively onto it (Go's rule: the last key wins)."""
    if unwrap is not None:
        inner = o.get(unwrap)
        if inner.__class__ is dict and unwrap not in known:
            o = {**{k: v for k, v in o.items() if k != unwrap}, **inner}
    out: dict[str, Any] = {}
    for key, value in o.items():
        if key in known:
            out[key] = value
        elif key.__class__ is str:
            canonical = folded.get(key.lower())
            if canonical is not None:
                out[canonical] = value
    return out


def _value_unstructurer(tp: Any) -> Callable[[Any], Any]:
    optional, inner = _is_optional(tp)
    if optional:
        inner_fn = _value_unstructurer(inner)
        return lambda v: None if v is None else inner_fn(v)
    if tp in (str, int, float, bool):
        return _identity
    if tp is Any or tp is object:
        return lambda v: (lambda c: None if c is _MISSING else c)(sanitize_json(v))
    if tp is bytes:
        return _b64encode
    if tp is datetime:
        return format_time
    if is_payload(tp):
        hook: Callable[[Any], Any] = converter.get_unstructure_hook(tp)
        return hook
    origin = get_origin(tp)
    if origin in _SEQUENCE_ORIGINS:
        (item_tp,) = get_args(tp) or (Any,)
        item = _value_unstructurer(item_tp)
        if item is _identity:
            return list
        return lambda v: [item(x) for x in v]
    if origin in _MAPPING_ORIGINS:
        _key_tp, val_tp = get_args(tp) or (str, Any)
        if val_tp is Any:
            return _sanitize_metadata
        item = _value_unstructurer(val_tp)
        if item is _identity:
            return dict
        if item is list:  # headers: {"Key": ["v1", "v2"]}
            return lambda v: {k: list(x) for k, x in v.items()}
        return lambda v: {k: item(x) for k, x in v.items()}
    raise TypeError(f"pluginkit.wire cannot unstructure {tp!r}")


def _make_unstructure(cls: type) -> Callable[[Any], dict[str, Any]]:
    names = wire_names(cls)
    hints = typing.get_type_hints(cls)
    gen = _Gen()
    fn_name = f"unstructure_{cls.__name__}"
    lines = gen.lines
    lines.append(f"def {fn_name}(obj):")
    lines.append("    d = {}")
    for field in attrs.fields(cls):
        wire = names[field.name]
        tp = hints[field.name]
        optional, inner = _is_optional(tp)
        lines.append(f"    v = obj.{field.name}")
        # A field is left out when it holds its default: the zero value, or None for optional fields (where a
        # zero — 0, "", [] — is a real value that must survive the round trip).
        present = "v is not None" if optional else "v"
        if inner in (str, bool, int):
            lines.append(f"    if {present}: d[{wire!r}] = v")
        elif inner is float:
            lines.append(f"    if {present} and _isfinite(v): d[{wire!r}] = v")
        elif inner is bytes:
            lines.append(f"    if {present}: d[{wire!r}] = _b64e(v)")
        elif inner is datetime:
            lines.append(f"    if v is not None: d[{wire!r}] = _ftime(v)")
        elif inner is Any:
            lines.append("    if v is not None:")
            lines.append(f"        v = {gen.ref(sanitize_json)}(v)")
            lines.append(f"        if v is not {gen.ref(_MISSING)} and v is not None: d[{wire!r}] = v")
        elif is_payload(inner):
            hook = gen.ref(converter.get_unstructure_hook(inner))
            if optional:  # present-but-empty differs from None: write "{}"
                lines.append(f"    if v is not None: d[{wire!r}] = {hook}(v)")
            else:  # a nested struct at its zero value is left out like any other default
                lines.append(f"    v = {hook}(v)")
                lines.append(f"    if v: d[{wire!r}] = v")
        else:
            fn = _value_unstructurer(inner)
            if fn is _sanitize_metadata and not optional:  # every value may have been dropped
                lines.append(f"    if v:\n        m = {gen.ref(fn)}(v)\n        if m: d[{wire!r}] = m")
            else:
                lines.append(f"    if {present}: d[{wire!r}] = {gen.ref(fn)}(v)")
    lines.append("    return d")
    return gen.compile(fn_name)


#: The converter the generated hooks look nested hooks up in (set by :func:`make_converter`).
converter: cattrs.Converter


def make_converter() -> cattrs.Converter:
    """The one converter: generated hooks for payload classes, strict checks for scalars."""
    global converter
    conv = cattrs.Converter()
    conv.register_structure_hook_factory(is_payload, _make_structure)
    conv.register_unstructure_hook_factory(is_payload, _make_unstructure)
    conv.register_structure_hook(bytes, lambda v, _: _b64decode(v))
    conv.register_unstructure_hook(bytes, _b64encode)
    conv.register_structure_hook(datetime, lambda v, _: parse_time(v))
    conv.register_unstructure_hook(datetime, format_time)
    for tp, check in ((str, _check_str), (int, _check_int), (float, _check_float), (bool, _check_bool)):
        conv.register_structure_hook(tp, lambda v, _, check=check: check(v))
    converter = conv
    return conv
