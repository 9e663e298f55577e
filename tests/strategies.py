"""Hypothesis strategies derived from the payload classes' type hints (shared by the property tests)."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any

import attrs
from hypothesis import strategies as st

from pluginkit.wire._payload import is_payload, wire_names

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | int64 | finite | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@cache
def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """Values of ``tp`` that a payload field may hold."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        return st.none() | for_type(next(a for a in args if a is not type(None)))
    if tp is str:
        return text
    if tp is int:
        return int64
    if tp is float:
        return finite
    if tp is bool:
        return st.booleans()
    if tp is bytes:
        return st.binary(max_size=16)
    if tp is datetime:
        return times
    if tp is Any:
        return json_values
    if origin is list:
        return st.lists(for_type(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(text, for_type(args[1]), max_size=3)
    if is_payload(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{f.name: for_type(hints[f.name]) for f in attrs.fields(tp)})
    raise TypeError(tp)


@cache
def wire_shaped(tp: Any) -> st.SearchStrategy[Any]:
    """JSON objects that use ``tp``'s wire keys with arbitrary JSON values (reaches deep into the decoder)."""
    if not is_payload(tp):
        return json_values
    hints = typing.get_type_hints(tp)
    names = wire_names(tp)
    fields = {}
    for field in attrs.fields(tp):
        inner = hints[field.name]
        args = [a for a in typing.get_args(inner) if a is not type(None)]
        nested = args[0] if args and is_payload(args[0]) else inner
        if is_payload(nested):
            fields[names[field.name]] = json_values | st.deferred(lambda n=nested: wire_shaped(n))
        elif typing.get_origin(nested) is list and typing.get_args(nested) and is_payload(typing.get_args(nested)[0]):
            item = typing.get_args(nested)[0]
            fields[names[field.name]] = json_values | st.lists(st.deferred(lambda n=item: wire_shaped(n)), max_size=3)
        else:
            fields[names[field.name]] = json_values | for_type_json(inner)
    return st.fixed_dictionaries({}, optional=fields)


def for_type_json(tp: Any) -> st.SearchStrategy[Any]:
    """Correctly typed JSON for simple field types, so decoders also see valid leaves."""
    from pluginkit import wire

    return for_type(tp).map(lambda v: wire.sanitize_json(v) if not isinstance(v, bytes | datetime) else None)
