"""JSON values as a JSON Schema sees them: the two errors, type tests, equality and the asserted formats.

Shared by the schema compiler (:mod:`pluginkit.tools._validate`) and its keyword checks
(:mod:`pluginkit.tools._keywords`).
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from pluginkit.wire._scalars import format_path

__all__ = ["FORMATS", "SchemaError", "ValidationError", "json_equal"]

_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
_ARTICLE = {"integer": "an integer", "array": "an array", "object": "an object", "null": "null"}


class SchemaError(ValueError):
    """A schema (or a builder option) that cannot be used: the message says which keyword and why."""


class ValidationError(ValueError):
    """Arguments that do not satisfy a tool's schema.

    ``path`` lists the property names and array indexes from the arguments object down to the offending value;
    ``rule`` is the schema keyword that failed (``required``, ``maximum``, ``type`` …).
    """

    def __init__(self, rule: str, message: str, path: list[str | int] | None = None) -> None:
        self.rule = rule
        self.message = message
        self.path: list[str | int] = path if path is not None else []
        super().__init__(message)

    @property
    def field(self) -> str:
        """The offending field as ``address.city`` or ``tags[2]``; empty for the arguments object itself."""
        return format_path(self.path)

    def __str__(self) -> str:
        field = self.field
        where = f"'{field}'" if field else "the arguments"
        return f"{where}: {self.message} (rule: {self.rule})"


def _kind(value: Any) -> str:
    cls = value.__class__
    if cls is str:
        return "string"
    if value is True or value is False:
        return "boolean"
    if cls is int or cls is float:
        return "number"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return "other"


def _describe(value: Any) -> str:
    kind = _kind(value)
    if kind == "number":
        return "an integer" if isinstance(value, int) else "a number"
    if kind in ("object", "array", "null"):
        return _ARTICLE[kind]
    if kind == "other":
        return f"a Python {type(value).__name__}"
    return f"a {kind}"


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: ``true`` is not ``1``, ``1`` equals ``1.0``, containers compare deeply."""
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return False
    if ka == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ka == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _canonical(value: Any) -> Any:
    """A hashable stand-in with :func:`json_equal`'s equality (for ``uniqueItems`` and ``enum`` lookups)."""
    kind = _kind(value)
    if kind == "array":
        return ("a", tuple(_canonical(v) for v in value))
    if kind == "object":
        return ("o", frozenset((k, _canonical(v)) for k, v in value.items()))
    if kind == "boolean":
        return ("b", value)
    return (kind[0], value)


# ----------------------------------------------------------------------------------------------------------
# type checks
# ----------------------------------------------------------------------------------------------------------


def _is_string(v: Any) -> bool:
    return v.__class__ is str or isinstance(v, str)


def _is_integer(v: Any) -> bool:
    cls = v.__class__
    if cls is int:
        return True
    if cls is float:
        return bool(v.is_integer())
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    cls = v.__class__
    if cls is int:
        return True
    if cls is float:
        return math.isfinite(v)
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_boolean(v: Any) -> bool:
    return v is True or v is False


def _is_array(v: Any) -> bool:
    return v.__class__ is list or isinstance(v, list | tuple)


def _is_object(v: Any) -> bool:
    return v.__class__ is dict or isinstance(v, Mapping)


def _is_null(v: Any) -> bool:
    return v is None


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": _is_string,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": _is_boolean,
    "array": _is_array,
    "object": _is_object,
    "null": _is_null,
}


# ----------------------------------------------------------------------------------------------------------
# formats
# ----------------------------------------------------------------------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}\.?$){_LABEL}(?:\.{_LABEL})*\.?$")


def _date_time_ok(v: str) -> bool:
    if not _DATE_TIME.match(v):
        return False
    try:
        datetime.fromisoformat(v.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _date_ok(v: str) -> bool:
    if not _DATE.match(v):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _time_ok(v: str) -> bool:
    m = _TIME.match(v)
    if not m:
        return False
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    if m[6] is not None and (int(m[6]) > 23 or int(m[7]) > 59):
        return False
    return hour <= 23 and minute <= 59 and second <= 60


def _uuid_ok(v: str) -> bool:
    if len(v) != 36 or v.count("-") != 4:
        return False
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _ip_ok(kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> Callable[[str], bool]:
    def check(v: str) -> bool:
        try:
            kind(v)
        except ValueError:
            return False
        return True

    return check


#: Formats that are asserted (others are annotations, as Draft 2020-12 allows).
FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time_ok,
    "date": _date_ok,
    "time": _time_ok,
    "email": lambda v: bool(_EMAIL.match(v)),
    "uri": lambda v: bool(_URI.match(v)),
    "uuid": _uuid_ok,
    "ipv4": _ip_ok(ipaddress.IPv4Address),
    "ipv6": _ip_ok(ipaddress.IPv6Address),
    "hostname": lambda v: bool(_HOSTNAME.match(v)),
}
