"""Scalars of the wire: JSON text, base64, RFC 3339 times, the metadata sanitiser and :class:`WireError`.

Split from :mod:`pluginkit.wire` so the hook generator (:mod:`pluginkit.wire._hooks`) and the public functions each
stay readable; everything here is re-exported by :mod:`pluginkit.wire`.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

try:  # orjson is a declared dependency; the fallback keeps odd platforms working.
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only where orjson has no wheel
    _orjson = None  # type: ignore[assignment]
import json as _json

T = TypeVar("T")

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_GO_ZERO_TIME = "0001-01-01T00:00:00Z"
_MISSING = object()
_SEQUENCE_ORIGINS = (list, Sequence)
_MAPPING_ORIGINS = (dict, Mapping)


def format_path(path: Sequence[str | int]) -> str:
    """A field path as people write it: keys joined by dots, list indexes in brackets (``Candidates[1].Priority``)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class WireError(ValueError):
    """Input that does not fit a payload type.

    ``path`` lists the wire keys and list indexes from the outermost object to the offending value; ``str()``
    renders it as ``Candidates[1].Priority: expected int``.
    """

    def __init__(self, expected: str, path: list[str | int] | None = None) -> None:
        self.expected = expected
        self.path: list[str | int] = path if path is not None else []
        super().__init__(expected)

    @property
    def location(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        location = self.location
        return f"{location}: {self.expected}" if location else self.expected


# --------------------------------------------------------------------------------------------------------------
# JSON text
# --------------------------------------------------------------------------------------------------------------


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text; malformed text raises :class:`WireError`."""
    try:
        if _orjson is not None:
            return _orjson.loads(data)  # refuses lone surrogates itself
        value = _json.loads(data, parse_constant=_reject_constant)
    except (ValueError, TypeError) as exc:
        raise WireError(f"malformed JSON: {exc}") from None
    check_text(value)  # the stdlib parser accepts "\\ud800" escapes
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def dumps(value: Any) -> bytes:
    """Serialise a JSON-like value (as produced by :func:`to_wire`) to compact UTF-8 JSON bytes."""
    if _orjson is not None:
        return _orjson.dumps(value)
    return _json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# --------------------------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")
#: How deep :func:`check_text` follows nested containers (deeper input is refused, not recursed into).
MAX_NESTING = 256


def check_text(value: Any, path: list[str | int] | None = None) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate, which Python's ``json`` accepts in ``\\ud800``
    escapes) anywhere in JSON-like input, keys included, and input nested deeper than :data:`MAX_NESTING`: the
    caller gets a :class:`WireError` naming where, and no plugin ever sees such text (it cannot be encoded, so a
    store writing it would crash).

    The walk keeps depths, not paths: the path of every value was a list built per value, ~60% of decoding a
    scheduler request (``benchmarks``, ``wire``); it is worked out only for input that is refused."""
    stack: list[tuple[Any, int]] = [(value, len(path) if path is not None else 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = item.__class__
        if kind is str:
            if not item.isascii() and _SURROGATE.search(item):
                _locate(value, path)
        elif kind is dict:
            if depth >= MAX_NESTING:
                _locate(value, path)
            for key, inner in item.items():
                if key.__class__ is str and not key.isascii() and _SURROGATE.search(key):
                    _locate(value, path)
                inner_kind = inner.__class__
                if inner_kind is not int and inner_kind is not bool and inner is not None and inner_kind is not float:
                    if inner_kind is str:
                        if not inner.isascii() and _SURROGATE.search(inner):
                            _locate(value, path)
                    else:
                        push((inner, depth + 1))
        elif kind is list or kind is tuple:
            if depth >= MAX_NESTING:
                _locate(value, path)
            for inner in item:
                if inner.__class__ is str:
                    if not inner.isascii() and _SURROGATE.search(inner):
                        _locate(value, path)
                elif inner is not None and inner.__class__ is not int and inner.__class__ is not bool:
                    push((inner, depth + 1))
        elif isinstance(item, dict | list | tuple | str):  # subclasses: the careful walk
            _locate(item, path, strict=False)


def _locate(value: Any, path: list[str | int] | None = None, *, strict: bool = True) -> None:
    """The careful walk of :func:`check_text`, keeping each value's path: raises the :class:`WireError` naming where
    the refused text is (``strict``: the fast walk found some, so this one must)."""
    stack: list[tuple[Any, list[str | int]]] = [(value, path if path is not None else [])]
    while stack:
        item, where = stack.pop()
        if item.__class__ is str:
            if not item.isascii() and _SURROGATE.search(item):
                raise WireError("text is not valid Unicode (a lone surrogate)", where)
        elif isinstance(item, dict):
            if len(where) >= MAX_NESTING:
                raise WireError(f"nested deeper than {MAX_NESTING} levels", where)
            for key, inner in item.items():
                if key.__class__ is str and not key.isascii() and _SURROGATE.search(key):
                    raise WireError("key is not valid Unicode (a lone surrogate)", where)
                if inner.__class__ is not int and inner.__class__ is not bool and inner is not None:
                    stack.append((inner, [*where, key]))
        elif isinstance(item, list | tuple):
            if len(where) >= MAX_NESTING:
                raise WireError(f"nested deeper than {MAX_NESTING} levels", where)
            stack.extend((inner, [*where, index]) for index, inner in enumerate(item))
        elif isinstance(item, str):  # a str subclass
            _locate(str(item), where, strict=False)
    if strict:  # pragma: no cover - the two walks disagree: refuse all the same
        raise WireError("text is not valid Unicode, or nested too deep", path or [])


def _b64decode(value: Any) -> bytes:
    if value.__class__ is not str:
        raise WireError("expected base64 string")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise WireError("expected base64 string") from None


def _b64encode(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 text → aware datetime; Go's zero time → ``None``. Sub-microsecond digits are truncated."""
    if value.__class__ is not str:
        raise WireError("expected RFC 3339 time")
    if value == _GO_ZERO_TIME:
        return None
    text = value
    dot = text.find(".")
    if dot != -1:  # Python keeps microseconds: cut nanosecond digits Go may send.
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot - 1 > 6:
            text = text[: dot + 7] + text[end:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise WireError("expected RFC 3339 time") from None
    if parsed.tzinfo is None or "T" not in text.upper():
        raise WireError("expected RFC 3339 time with a zone")
    return parsed


def format_time(value: datetime) -> str:
    """Aware datetime → RFC 3339 as Go writes it (``Z`` for UTC, fraction without trailing zeros).

    A naive datetime is taken to be UTC.
    """
    offset = value.utcoffset()
    if offset is None:
        offset = timedelta(0)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if len(base) < 19:  # years before 1000 are not zero-padded by strftime on every platform
        base = f"{value.year:04d}" + base[base.index("-") :]
    if value.microsecond:
        base += f".{value.microsecond:06d}".rstrip("0")
    if not offset:
        return base + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{base}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def sanitize_json(value: Any) -> Any:
    """Keep only what JSON can carry, dropping the rest instead of raising (the seed's metadata rule).

    Returns :data:`_MISSING` for a value that must be dropped entirely.
    """
    cls = value.__class__
    if cls is str or cls is bool or value is None:
        return value
    if cls is int:
        return value if _INT64_MIN <= value <= _INT64_MAX else _MISSING
    if cls is float:
        return value if math.isfinite(value) else _MISSING
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                continue
            clean = sanitize_json(item)
            if clean is not _MISSING:
                out[key] = clean
        return out
    if isinstance(value, list | tuple):
        items = [sanitize_json(item) for item in value]
        return [item for item in items if item is not _MISSING]
    if isinstance(value, str):  # str subclasses (StrEnum)
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return sanitize_json(int(value))
    if isinstance(value, float):
        return sanitize_json(float(value))
    if isinstance(value, datetime):
        return format_time(value)
    if attrs.has(value.__class__):  # a payload nested in free-form metadata: its wire form
        return sanitize_json(_payload_to_wire(value))
    return _MISSING


def _no_codec(value: Any) -> Any:
    raise RuntimeError("pluginkit.wire's codec is not loaded")


#: How a payload nested in free-form metadata is written: the codec's ``to_wire``, handed over by
#: :func:`use_payload_encoder` when the codec (which builds on this module) is imported.
_payload_to_wire: Callable[[Any], Any] = _no_codec


def use_payload_encoder(encode: Callable[[Any], Any]) -> None:
    """Let :func:`sanitize_json` write nested payloads with ``encode`` (the codec's ``to_wire``)."""
    global _payload_to_wire
    _payload_to_wire = encode


def _sanitize_metadata(value: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`sanitize_json` for a free-form ``Metadata`` mapping, returning flat JSON-scalar dicts as they are."""
    if value.__class__ is dict:  # fast path: str keys and JSON scalars, the common case
        for key, item in value.items():
            cls = item.__class__
            if key.__class__ is not str:
                break
            if not (cls is str or cls is bool or item is None or cls is int or cls is float):
                break
            if cls is float and not math.isfinite(item):
                break
            if cls is int and not _INT64_MIN <= item <= _INT64_MAX:
                break
        else:
            return value
    result: dict[str, Any] = sanitize_json(value)
    return result


