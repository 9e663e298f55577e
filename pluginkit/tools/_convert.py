"""Python values ↔ the JSON a tool's schema speaks, with cattrs.

Tools are called with JSON arguments and may be written against typed parameters (attrs classes, dataclasses,
enums, dates); hosts may call them with a typed object; tools may return typed objects. One cattrs converter,
configured here, does every such conversion, so a value means the same thing in a schema, an argument and a
result: dates and times are ISO 8601 text, UUIDs and paths are text, bytes are base64, sets are arrays, and
pluginkit payload classes keep their wire names.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Mapping, Set
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import cattrs

from pluginkit import wire
from pluginkit.errors import PluginKitError
from pluginkit.wire._payload import is_payload

__all__ = ["arguments_object", "converter", "jsonable", "structure"]


def _b64decode(value: Any, _: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected base64 text")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except binascii.Error:
        raise ValueError("expected base64 text") from None


def _make() -> cattrs.Converter:
    conv = cattrs.Converter(unstruct_collection_overrides={Set: list})
    conv.register_unstructure_hook_factory(is_payload, lambda cls: wire.to_wire)
    for tp in (datetime, date, time):
        conv.register_unstructure_hook(tp, lambda v: v.isoformat())
    conv.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    conv.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
    conv.register_structure_hook(time, lambda v, _: time.fromisoformat(v))
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_structure_hook(uuid.UUID, lambda v, _: uuid.UUID(v))
    conv.register_unstructure_hook(bytes, lambda v: base64.b64encode(v).decode("ascii"))
    conv.register_structure_hook(bytes, _b64decode)
    conv.register_unstructure_hook_func(lambda tp: isinstance(tp, type) and issubclass(tp, PurePath), str)
    conv.register_unstructure_hook(Decimal, float)
    return conv


#: The converter between typed Python values and tool JSON.
converter: cattrs.Converter = _make()


def structure(value: Any, tp: Any) -> Any:
    """JSON value → ``tp`` (a parameter's annotation)."""
    return converter.structure(value, tp)


def jsonable(value: Any) -> Any:
    """A typed value (attrs, dataclass, enum, date, set, …) → plain JSON data. Raises ``TypeError`` for
    anything that has no JSON form (functions, sockets, NaN)."""
    data = converter.unstructure(value)
    _check(data, "value")
    return data


def _check(data: Any, where: str) -> None:
    cls = data.__class__
    if data is None or cls is str or cls is bool or cls is int:
        return
    if cls is float:
        if not math.isfinite(data):
            raise TypeError(f"{where} is {data!r}, which JSON cannot carry")
        return
    if isinstance(data, Mapping):
        for key, item in data.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a non-string key {key!r}")
            _check(item, f"{where}.{key}")
        return
    if isinstance(data, list | tuple):
        for index, item in enumerate(data):
            _check(item, f"{where}[{index}]")
        return
    if isinstance(data, str | int | float):
        return
    raise TypeError(f"{where} is a {type(data).__name__}, which has no JSON form")


def arguments_object(arguments: Any) -> dict[str, Any]:
    """Arguments as the JSON object a schema checks: a mapping, JSON text, or a typed object via cattrs."""
    if arguments is None:
        return {}
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if isinstance(arguments, str | bytes | bytearray):
        try:
            data = wire.loads(arguments)
        except wire.WireError as exc:
            raise PluginKitError("invalid_request", f"arguments: {exc}") from None
    else:
        try:
            data = jsonable(arguments)
        except TypeError as exc:
            raise PluginKitError("invalid_request", f"arguments: {exc}") from None
    if not isinstance(data, dict):
        raise PluginKitError(
            "invalid_request",
            "arguments must be an object (a mapping, JSON object, attrs class or dataclass), "
            f"not {type(arguments).__name__}",
        )
    return data
