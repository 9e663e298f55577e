"""Declaring ABI payload classes and their wire names.

Every params and result type of the ABI is an ``attrs`` class declared with :func:`payload`. The decorator
records how the class is spelled on the wire, because the seed ABI mixes two conventions: the envelope, the
registration wrapper and the host-callback DTOs use ``snake_case`` keys, while every struct of the Go
``pluginapi`` package has no JSON tags and therefore appears with its Go field names in ``PascalCase``
(``AuthID``, ``StorageJSON``, ``GitHubRepository``).  Python code always uses snake_case attribute names; the
wire name is derived once, here, and can be overridden per field with ``wire_field(name=...)``.
"""

from __future__ import annotations

import types as pytypes
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, dataclass_transform, overload

import attrs

from pluginkit.wire._codegen import compile_function

__all__ = ["WIRE_NAME", "ReadOnlyParams", "builder", "pascal_case", "payload", "sealer", "wire_field", "wire_names"]

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


def _field_copier(tp: Any) -> Callable[[Any], Any] | None:
    """A function copying a value of ``tp`` so that mutating the copy cannot reach the original, or ``None``
    when values of ``tp`` are immutable and can be shared."""

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, pytypes.UnionType):
        inner = [a for a in args if a is not type(None)]
        item = _field_copier(inner[0]) if len(inner) == 1 else _copy_json
        return None if item is None else (lambda v: None if v is None else item(v))
    if tp in (str, int, float, bool, bytes) or (tp.__class__ is type and tp.__module__ == "datetime"):
        return None
    if is_payload(tp):
        copy = copier(tp)
        # a typed object may hold a value of the wrong type (a caller's mistake): copied as JSON-like data, so the
        # copy fails no earlier than the plugin's own check would
        return lambda v: copy(v) if v.__class__ is tp else _copy_json(v)
    if origin in (list, dict):
        element = _field_copier(args[-1]) if args else _copy_json
        if origin is list:
            return list if element is None else (lambda v: [element(x) for x in v] if v else [])
        return dict if element is None else (lambda v: {k: element(x) for k, x in v.items()} if v else {})
    return _copy_json


def _copy_json(value: Any) -> Any:
    cls = value.__class__
    if cls is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if cls is list:
        return [_copy_json(v) for v in value]
    return value


_COPIERS: dict[type, Callable[[Any], Any]] = {}


def copier(cls: type[T]) -> Callable[[T], T]:
    """A generated function returning an isolated copy of a payload object: nested payloads, lists and dicts are
    copied, immutable leaves (str, bytes, numbers, datetimes) shared. The manager hands plugins such copies."""
    existing = _COPIERS.get(cls)
    if existing is not None:
        return existing

    hints = typing.get_type_hints(cls)
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_cls": cls, "_new": object.__new__, "_copy_json": _copy_json}
    values = []
    for name in names:
        hint = hints[name]
        fn = _field_copier(hint)
        if fn is None:
            values.append(f"o.{name}")
        elif fn is dict or fn is list:
            values.append(f"{fn.__name__}(o.{name})")
        elif is_payload(hint):  # the nested copier called directly, not through its type-checking lambda
            namespace[f"_c_{name}"], namespace[f"_t_{name}"] = copier(hint), hint
            values.append(f"_c_{name}(v) if (v := o.{name}).__class__ is _t_{name} else _copy_json(v)")
        elif typing.get_origin(hint) in (list, dict):  # an empty one made here, without calling its copier
            namespace[f"_c_{name}"] = fn
            values.append(f"_c_{name}(v) if (v := o.{name}) else {'[]' if typing.get_origin(hint) is list else '{}'}")
        else:
            namespace[f"_c_{name}"] = fn
            values.append(f"_c_{name}(o.{name})")
    if plain_init(cls, aliases=True):  # filled slot by slot, as builder() builds (no call of a constructor)
        lines = [f"    c.{name} = {value}" for name, value in zip(names, values, strict=True)]
        source = f"def copy_{cls.__name__}(o):\n    c = _new(_cls)\n" + "\n".join([*lines, "    return c\n"])
    else:  # built as cls(...) would build it, positionally (see builder)
        namespace["_cls"] = builder(cls, *names)
        source = f"def copy_{cls.__name__}(o):\n    return _cls({', '.join(f'({v})' for v in values)})\n"
    fn = compile_function(source, f"copy_{cls.__name__}", namespace, f"copier {cls.__name__}")
    _COPIERS[cls] = fn
    return fn


_SEALERS: dict[type, Callable[[Any], Any] | None] = {}


class ReadOnlyParams(attrs.exceptions.FrozenInstanceError):
    """A plugin tried to change params it shares with the other plugins of a call."""

    def __init__(self, cls: type, name: str) -> None:
        super().__init__()
        self.args = (
            f"{cls.__name__}.{name}: the params of a call several plugins answer are shared and read-only; "
            "return your answer instead of changing them",
        )


def sealer(cls: type[T]) -> Callable[[T], T] | None:
    """A generated function returning a read-only copy of a payload object, or ``None`` for a class with a
    mutable field (a list, a dict, a nested payload): read-only at the top would not protect those.

    Every field of the others holds an immutable value, so one read-only copy can be handed to every plugin of a
    call: copying per plugin costs ~160 ns each (``benchmarks``, ``manager``, a chain of 100 plugins), a seal
    once ~220 ns. The copy is an instance of a frozen subclass (``isinstance`` holds, ``attrs.evolve`` works, it
    compares equal to the plain object); setting an attribute raises :class:`ReadOnlyParams`. The host itself
    changes a sealed object's fields with ``object.__setattr__`` between plugins.
    """
    if cls in _SEALERS:
        return _SEALERS[cls]
    hints = typing.get_type_hints(cls)
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    if any(_field_copier(hints[name]) is not None for name in names):
        _SEALERS[cls] = None
        return None
    twin = _read_only_twin(cls, names)
    namespace: dict[str, Any] = {"_cls": builder(cls, *names), "_twin": twin}
    source = (
        f"def seal_{cls.__name__}(o):\n"
        f"    n = _cls({', '.join(f'o.{name}' for name in names)})\n"
        "    n.__class__ = _twin  # the same slots: only the class changes\n"
        "    return n\n"
    )
    fn = compile_function(source, f"seal_{cls.__name__}", namespace, f"sealer {cls.__name__}")
    _SEALERS[cls] = fn
    return fn


def _read_only_twin(cls: type, names: list[str]) -> type:
    """A frozen subclass of ``cls`` with no slots of its own (so an instance's class can be swapped), equal to
    a plain instance holding the same values."""
    twin: Any = attrs.define(frozen=True, kw_only=True, eq=False, repr=False, slots=True)(
        type(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    )
    fields = attrs.fields(cls)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        raise ReadOnlyParams(cls, name)

    def __delattr__(self: Any, name: str) -> None:
        raise ReadOnlyParams(cls, name)

    def __eq__(self: Any, other: object) -> bool:
        if not isinstance(other, cls):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields)

    twin.__setattr__, twin.__delattr__, twin.__eq__, twin.__hash__ = __setattr__, __delattr__, __eq__, None
    made: type = twin
    return made


def zero_test(cls: type) -> Callable[[Any], bool]:
    """A generated predicate: is this payload object at its zero value (every field falsy)?

    "Empty answer" in the ABI's combination rules means exactly that (an empty ``Body``, ``Handled: false`` …).
    """
    names = [f.name for f in attrs.fields(cls)]
    if not names:
        return lambda o: True
    source = f"def is_zero(o):\n    return not (o.{' or o.'.join(names)})\n"
    return compile_function(source, "is_zero", {}, f"zero test {cls.__name__}")


_BUILDERS: dict[tuple[type, tuple[str, ...]], Callable[..., Any]] = {}


def builder(cls: type[T], *given: str) -> Callable[..., T]:
    """A generated constructor building the same object as ``cls(...)``.

    Calling an attrs class with keywords goes through ``type.__call__`` and costs ~3x filling a bare instance slot
    by slot; the request pipeline builds a dozen params objects per request, so it builds them with this. Default
    factories run as attrs runs them (``dict``/``list`` as literals, nested payload classes through their own
    builder). Classes whose ``__init__`` does more than store its arguments (validators, converters, hooks,
    frozen) are built by ``cls`` itself.

    Without ``given`` the constructor takes the same keyword arguments as ``cls``. With field names it takes
    exactly those fields, positionally and in that order, and gives every other field its default: CPython 3.11
    specialises positional calls but not keyword ones, which matters on the request path
    (``_new_request = builder(t.Request, "model", "body")`` … ``_new_request(model, body)``).
    """
    key = (cls, given)
    existing = _BUILDERS.get(key)
    if existing is None:
        existing = _BUILDERS[key] = _generate_builder(cls, given)
    return existing


def _generate_builder(cls: type[T], given: tuple[str, ...]) -> Callable[..., T]:
    fields = {field.name: field for field in attrs.fields(cls)}  # type: ignore[arg-type]
    unknown = [name for name in given if name not in fields]
    if unknown or len(set(given)) != len(given):
        raise ValueError(f"builder({cls.__name__}): unknown or repeated fields {given!r}")
    missing = [n for n, f in fields.items() if f.default is attrs.NOTHING and n not in given]
    if given and missing:
        raise ValueError(f"builder({cls.__name__}): required fields not given: {', '.join(missing)}")
    namespace: dict[str, Any] = {"_cls": cls, "_new": object.__new__, "_unset": _UNSET}
    name_of = f"build_{cls.__name__}"
    if not plain_init(cls, aliases=bool(given)) or any(
        isinstance(f.default, attrs.Factory) and f.default.takes_self  # type: ignore[arg-type]
        for f in fields.values()
    ):
        if not given:
            return cls
        arguments = ", ".join(f"{n}={n}" for n in given)
        source = f"def {name_of}({', '.join(given)}):\n    return _cls({arguments})\n"
    else:
        params, body = list(given), []
        for name, field in fields.items():
            default = field.default
            if name in given:
                body.append(f"    o.{name} = {name}")
                continue
            if default is attrs.NOTHING:  # required: keyword builders only, before the first default
                if any("=" in p for p in params):
                    return cls
                params.append(name)
                body.append(f"    o.{name} = {name}")
                continue
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # run per object, as attrs runs it
                factory = default.factory
                if factory is dict or factory is list:
                    make = "{}" if factory is dict else "[]"
                elif given and (nested := _default_lines(factory, f"_o_{name}", namespace)) is not None:
                    body.extend(nested)  # a nested payload's default built here, without a call of its builder
                    make = f"_o_{name}"
                else:
                    namespace[f"_f_{name}"] = builder(factory) if is_payload(factory) else factory
                    make = f"_f_{name}()"
                fallback = "_unset"
            else:
                make = fallback = f"_d_{name}"
                namespace[make] = default
            if given:  # positional: every field not given is its default
                body.append(f"    o.{name} = {make}")
            else:
                params.append(f"{name}={fallback}")
                value = name if make == fallback else f"{make} if {name} is _unset else {name}"
                body.append(f"    o.{name} = {value}")
        signature = ", ".join(params)  # not keyword-only: CPython fills positional defaults from a tuple, faster
        source = f"def {name_of}({signature}):\n    o = _new(_cls)\n" + "\n".join([*body, "    return o\n"])
    return compile_function(source, name_of, namespace, f"builder {cls.__name__}")


def _default_lines(cls: Any, var: str, namespace: dict[str, Any]) -> list[str] | None:
    """Lines of a builder's body making ``cls()`` into the local ``var`` slot by slot, nested payloads included,
    or ``None`` when ``cls()`` must be called (not a payload, or an ``__init__`` that does more than store). A
    default's builder call cost ~0.1 us of a ``UsageRecord`` (two nested payloads) on every request."""
    if not is_payload(cls) or not plain_init(cls):
        return None
    namespace[f"_k{var}"] = cls
    lines = [f"    {var} = _new(_k{var})"]
    for field in attrs.fields(cls):
        default, name = field.default, field.name
        if default is attrs.NOTHING or (isinstance(default, attrs.Factory) and default.takes_self):  # type: ignore[arg-type]
            return None
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            factory = default.factory
            if factory is dict or factory is list:
                value = "{}" if factory is dict else "[]"
            elif (nested := _default_lines(factory, f"{var}_{name}", namespace)) is not None:
                lines.extend(nested)
                value = f"{var}_{name}"
            else:
                namespace[f"_f{var}_{name}"] = factory
                value = f"_f{var}_{name}()"
        else:
            namespace[f"_d{var}_{name}"] = default
            value = f"_d{var}_{name}"
        lines.append(f"    {var}.{name} = {value}")
    return lines


#: "Argument not given" for generated builders (``None`` is a legitimate value of optional fields).
_UNSET: Any = object()


def plain_init(cls: type, *, aliases: bool = False) -> bool:
    """Whether ``cls(**kwargs)`` only stores its arguments (attrs' own ``__init__``; no validators, converters,
    on_setattr or pre/post-init hooks; not frozen), so that setting them on ``object.__new__(cls)`` is the same.
    ``aliases``: a field whose ``__init__`` argument has another name (a private ``_field``) is fine — for
    builders whose arguments are positional, where the name does not show."""
    klass: Any = cls  # typeshed's signatures of __init__/__setattr__ only get in the way here
    code = getattr(klass.__dict__.get("__init__"), "__code__", None)
    return (
        code is not None
        and code.co_filename.startswith("<attrs generated")
        and klass.__setattr__ is object.__setattr__
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
        and not any(
            f.validator or f.converter or f.on_setattr or not f.init or (f.alias != f.name and not aliases)
            for f in attrs.fields(cls)
        )
    )
