"""The converter and the functions every wire conversion goes through (see :mod:`pluginkit.wire`)."""


from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import cattrs

from pluginkit.wire._hooks import make_converter
from pluginkit.wire._payload import is_payload
from pluginkit.wire._scalars import WireError, check_text, dumps, loads, use_payload_encoder

__all__ = ["converter", "decode", "encode", "from_wire", "to_wire"]

T = TypeVar("T")

#: The converter every wire conversion goes through.
converter: cattrs.Converter = make_converter()


#: Per-type hooks used by the functions below: a payload class's generated hook, called directly (skipping cattrs'
#: dispatch), or for any other type the converter's own ``structure``/``unstructure``.
_STRUCTURE_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {}
_UNSTRUCTURE_HOOKS: dict[type, Callable[[Any], Any]] = {}


def _structure_hook(tp: Any) -> Callable[[Any, Any], Any]:
    hook = converter.get_structure_hook(tp) if is_payload(tp) else converter.structure
    _STRUCTURE_HOOKS[tp] = hook
    return hook


def _unstructure_hook(cls: type) -> Callable[[Any], Any]:
    hook = converter.get_unstructure_hook(cls) if is_payload(cls) else converter.unstructure
    _UNSTRUCTURE_HOOKS[cls] = hook
    return hook


def to_wire(value: Any) -> Any:
    """Typed value → JSON-like value (dicts, lists, strings, numbers) with the seed's wire names."""
    return (_UNSTRUCTURE_HOOKS.get(value.__class__) or _unstructure_hook(value.__class__))(value)


def from_wire(data: Any, tp: type[T]) -> T:
    """JSON-like value, or JSON text as ``str``/``bytes``, → ``tp``. Raises :class:`WireError` on bad input."""
    text = data.__class__ is not dict and isinstance(data, bytes | bytearray | memoryview | str)
    if text and tp is not str and tp is not bytes:
        data = loads(data)  # valid Unicode, by the parser's own rules
    else:
        check_text(data)  # JSON-like objects from the caller: nothing checked them yet
    return structure(data, tp)


def structure(data: Any, tp: type[T]) -> T:
    """JSON-like ``data`` that :func:`~pluginkit.wire.loads` read (its text checked already) → ``tp``: what
    :func:`from_wire` does for dicts, without walking them again. Raises :class:`WireError`."""
    try:
        value: T = (_STRUCTURE_HOOKS.get(tp) or _structure_hook(tp))(data, tp)
    except WireError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:  # garbage that slipped past a check
        raise WireError(f"invalid value: {exc}") from None
    return value


use_payload_encoder(to_wire)


def encode(value: Any) -> bytes:
    """Typed value → JSON bytes."""
    return dumps((_UNSTRUCTURE_HOOKS.get(value.__class__) or _unstructure_hook(value.__class__))(value))


def decode(data: bytes | bytearray | memoryview | str, tp: type[T]) -> T:
    """JSON bytes or text → ``tp``. Raises :class:`WireError` on malformed JSON or a value that does not fit.

    What :func:`loads` parsed is valid Unicode by the parser's own rules: it is not walked again (that second walk
    was ~60% of decoding a scheduler request, ``benchmarks``, ``wire``)."""
    return structure(loads(data), tp)

