"""Declaring ABI payload classes and their wire names.

Every params and result type of the ABI is an ``attrs`` class declared with :func:`payload`. The decorator
records how the class is spelled on the wire, because the seed ABI mixes two conventions: the envelope, the
registration wrapper and the host-callback DTOs use ``snake_case`` keys, while every struct of the Go
``pluginapi`` package has no JSON tags and therefore appears with its Go field names in ``PascalCase``
(``AuthID``, ``StorageJSON``, ``GitHubRepository``).  Python code always uses snake_case attribute names; the
wire name is derived once, here, and can be overridden per field with ``wire_field(name=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar, dataclass_transform, overload

import attrs

__all__ = ["WIRE_NAME", "pascal_case", "payload", "wire_field", "wire_names"]

T = TypeVar("T")

#: Key in an attrs field's metadata holding its explicit wire name.
WIRE_NAME = "pluginkit.wire_name"
#: Class attribute naming the wire convention of a payload class.
_CASE_ATTR = "__pluginkit_wire_case__"
#: Class attribute naming a key whose object, when present, is merged into the outer object on input.
_UNWRAP_ATTR = "__pluginkit_wire_unwrap__"

# Go initialisms as they appear in the seed's field names.
_INITIALISMS = {"id": "ID", "url": "URL", "json": "JSON", "http": "HTTP", "api": "API", "ttft": "TTFT"}

Case = Literal["pascal", "snake"]


def pascal_case(name: str) -> str:
    """Spell a snake_case attribute name the way the Go field would be spelled (``auth_id`` → ``AuthID``)."""
    return "".join(_INITIALISMS.get(part, part[:1].upper() + part[1:]) for part in name.split("_"))


def wire_field(
    *,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    name: str | None = None,
    doc: str = "",
) -> Any:
    """An attrs field with an explicit wire name and a docstring shown in the reference docs."""
    metadata: dict[str, Any] = {"doc": doc}
    if name is not None:
        metadata[WIRE_NAME] = name
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


@overload
def payload(cls: type[T], /) -> type[T]: ...
@overload
def payload(*, case: Case = "pascal", unwrap: str | None = None) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(field_specifiers=(attrs.field, wire_field), kw_only_default=True)
def payload(
    cls: type[T] | None = None, /, *, case: Case = "pascal", unwrap: str | None = None
) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a slotted attrs class that the wire converter knows how to spell.

    ``case`` is the wire convention of the class's keys; ``unwrap`` names a key whose object is merged into the
    outer object on input (the seed accepts ``host.http.do`` params either flat or inside ``"request"``).
    Classes are mutable for speed (frozen attrs classes construct ~3× slower); the manager hands every plugin
    its own copy, so a plugin that mutates its params cannot change what the host or the next plugin sees.
    """

    def wrap(klass: type[T]) -> type[T]:
        setattr(klass, _CASE_ATTR, case)
        setattr(klass, _UNWRAP_ATTR, unwrap)
        return attrs.define(klass, kw_only=True, eq=True, repr=True)

    return wrap if cls is None else wrap(cls)


def is_payload(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and hasattr(cls, _CASE_ATTR)


def unwrap_key(cls: type) -> str | None:
    value: str | None = getattr(cls, _UNWRAP_ATTR, None)
    return value


def wire_names(cls: type) -> dict[str, str]:
    """Attribute name → wire key for every field of a payload class, in declaration order."""
    case: Case = getattr(cls, _CASE_ATTR, "pascal")
    names: dict[str, str] = {}
    for field in attrs.fields(cls):
        explicit = field.metadata.get(WIRE_NAME)
        if explicit is not None:
            names[field.name] = explicit
        else:
            names[field.name] = field.name if case == "snake" else pascal_case(field.name)
    return names
