"""What an ABI method is, and the table that holds every one of them.

A :class:`Method` is one entry: dotted name, params and result types, how several plugins' answers combine, the
capability that declares it, its stage, its time limit. The :class:`Table` is filled family by family (see
:mod:`pluginkit.abi._families`) the first time it is read, so importing the ABI costs nothing until a host or a
tool actually needs it.
"""

from __future__ import annotations

import enum
import re
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from pluginkit import wire
from pluginkit.errors import InvalidRequest, UnknownMethod

__all__ = ["Combine", "Direction", "Fallback", "Method", "Stage", "Table", "hook_name"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class Combine(enum.Enum):
    """How the answers of several plugins implementing one method combine (the seed's rules, §5.5)."""

    #: Plugins are asked in order; the first non-empty answer wins. An error or an empty answer → next plugin.
    FIRST_SUCCESS = "first-success"
    #: Every plugin gets the previous plugin's output. An error or an empty answer keeps the payload unchanged.
    CHAIN = "chain"
    #: A chain of interceptors: ``clear_headers`` removed, then ``headers`` replace per key, a non-empty body
    #: replaces the body; an error skips the plugin; ``drop_chunk`` ends the chain for that chunk.
    HEADER_CHAIN = "header-chain"
    #: One plugin answers: the owner chosen by the method's ``owner`` rule (highest priority, tie → lowest ID).
    SINGLE_OWNER = "single-owner"
    #: Every plugin is called; each answer is kept, keyed by plugin ID (or ignored, for ``usage.handle``).
    FAN_OUT = "fan-out"
    #: Plugins are asked in order until one accepts (``authenticated=True``); errors count as "no".
    ANY_ACCEPTS = "any-accepts"
    #: A host callback: the host answers, plugins never implement it.
    HOST = "host"


class Fallback(enum.Enum):
    """What a call answers when no plugin implements the method or none handled it."""

    #: The payload passes through unchanged (chains).
    PASS_THROUGH = "pass-through"
    #: The zero value of the result type (``handled=False``, no models, an empty answer …).
    ZERO = "zero"
    #: A ``not_handled`` error.
    ERROR = "error"


class Direction(enum.Enum):
    HOST_TO_PLUGIN = "host→plugin"
    PLUGIN_TO_HOST = "plugin→host"


class Stage(enum.IntEnum):
    """Where a method runs. Request-pipeline stages are ordered as the pipeline runs them."""

    COMMAND_LINE = 0
    STARTUP = 1
    FRONTEND_AUTH = 10
    REQUEST_INTERCEPT = 20
    SCHEDULE = 30
    REQUEST_TRANSLATE = 40
    REQUEST_NORMALIZE = 50
    THINKING = 60
    EXECUTE = 70
    RESPONSE_NORMALIZE_BEFORE = 80
    RESPONSE_TRANSLATE = 90
    RESPONSE_NORMALIZE_AFTER = 100
    RESPONSE_INTERCEPT = 110
    USAGE = 120

    @property
    def in_request_pipeline(self) -> bool:
        return self >= Stage.FRONTEND_AUTH


def hook_name(method: str) -> str:
    """The Python hook name of a dotted method name: ``auth.login.start`` → ``auth_login_start``."""
    return method.replace(".", "_")


#: What a call answers when nothing handled it, for each rule unless the method says otherwise.
_DEFAULT_FALLBACK = {
    Combine.CHAIN: Fallback.PASS_THROUGH,
    Combine.HEADER_CHAIN: Fallback.PASS_THROUGH,
    Combine.FIRST_SUCCESS: Fallback.ERROR,
    Combine.SINGLE_OWNER: Fallback.ERROR,
}


def _default_fallback(method: Method) -> Fallback:
    return _DEFAULT_FALLBACK.get(method.combine, Fallback.ZERO)


def _default_owner(method: Method) -> str:
    return "priority" if method.combine is Combine.SINGLE_OWNER else ""


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip()


@attrs.frozen
class Method:
    """One entry of the ABI table: ``Method(name, params, result, combine, summary=..., doc=..., ...)``."""

    #: The dotted name, verbatim from the seed ABI (``scheduler.pick``).
    name: str
    #: Type of the params a hook receives.
    params: type
    #: Type of the result a hook returns.
    result: type
    #: How the answers of several plugins combine.
    combine: Combine
    #: One line for tables.
    summary: str = attrs.field(kw_only=True)
    #: The plugin author's documentation of the hook (dedented).
    doc: str = attrs.field(kw_only=True, converter=_dedent)
    #: What the call answers when no plugin handled it (by default: chains pass through, first-success and
    #: single-owner fail with ``not_handled``, the rest answer the zero value).
    fallback: Fallback = attrs.field(kw_only=True, default=attrs.Factory(_default_fallback, takes_self=True))
    #: The capability flag (a :class:`~pluginkit.types.Capabilities` field) that declares the method, or ``None``.
    capability: str | None = attrs.field(kw_only=True, default=None)
    #: Where the method runs; ``None`` for calls made on demand (lifecycle, logins, management, host callbacks).
    stage: Stage | None = attrs.field(kw_only=True, default=None)
    #: For :attr:`Combine.SINGLE_OWNER`: what selects the owner (``priority``, ``provider``, ``flag``, ``route``).
    owner: str = attrs.field(kw_only=True, default=attrs.Factory(_default_owner, takes_self=True))
    #: Whether hookimpls may be ``async def``. Identifier methods are called while registries are built and
    #: must answer synchronously.
    may_be_async: bool = attrs.field(kw_only=True, default=True)
    #: Default time limit of one plugin's answer, in seconds (``None``: no limit). For a method that
    #: :attr:`yields`, the limit of the whole stream, as a Go context's deadline bounds a channel's producer.
    timeout: float | None = attrs.field(kw_only=True, default=30.0)
    #: Whether the hookimpl answers a stream: it returns (or is) a sync or async iterator of ``result`` items, and
    #: the call's answer is a :class:`~pluginkit.runtime.PluginStream` that checks each item.
    yields: bool = attrs.field(kw_only=True, default=False)

    @property
    def hook_name(self) -> str:
        return hook_name(self.name)

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def direction(self) -> Direction:
        return Direction.PLUGIN_TO_HOST if self.combine is Combine.HOST else Direction.HOST_TO_PLUGIN

    @property
    def is_hook(self) -> bool:
        """Whether plugins implement this method (host callbacks are answered by the host)."""
        return self.combine is not Combine.HOST

    def parse_params(self, data: Any) -> Any:
        """Params given as the typed object, a JSON-like dict or JSON text → the typed params.

        Raises :class:`~pluginkit.errors.InvalidRequest` whose message names the offending field.
        """
        if isinstance(data, self.params):
            return data
        return _parse(data, self.params)

    def parse_result(self, data: Any) -> Any:
        """A result given as JSON-like data → the typed result (for hosts reading another host's answers)."""
        if isinstance(data, self.result):
            return data
        return _parse(data, self.result)


def _parse(data: Any, tp: type) -> Any:
    try:
        return wire.from_wire({} if data is None else data, tp)
    except wire.WireError as exc:
        raise InvalidRequest(message=str(exc)) from None


class Table(Mapping[str, Method]):
    """Read-only mapping of dotted name → :class:`Method`, in definition order.

    ``load`` fills the table the first time it is read (every family's methods, see
    :mod:`pluginkit.abi._families`); until then the table holds nothing and has imported none of the families'
    payload classes.
    """

    def __init__(self, load: Callable[[Table], Iterable[Method]]) -> None:
        self._load: Callable[[Table], Iterable[Method]] | None = load
        self._lock = threading.RLock()
        self._methods: dict[str, Method] = {}
        self._by_hook: dict[str, Method] = {}

    def _ready(self) -> dict[str, Method]:
        load = self._load
        if load is not None:
            with self._lock:
                if self._load is not None:
                    self._load = None
                    try:
                        for method in load(self):
                            self._add(method)
                    except BaseException:
                        self._load = load  # a broken family must fail every read, not leave a half table
                        self._methods, self._by_hook = {}, {}
                        raise
        return self._methods

    def __getitem__(self, name: str) -> Method:
        return self._ready()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ready())

    def __len__(self) -> int:
        return len(self._ready())

    def by_hook(self, hook: str) -> Method | None:
        self._ready()
        return self._by_hook.get(hook)

    def hooks(self) -> list[Method]:
        """The methods plugins implement (every entry but the host callbacks)."""
        return [m for m in self._ready().values() if m.is_hook]

    def capability_methods(self, capability: str) -> list[Method]:
        return [m for m in self._ready().values() if m.capability == capability]

    def get_method(self, name: str) -> Method:
        """The entry for ``name``; raises :class:`~pluginkit.errors.UnknownMethod`."""
        try:
            return self._ready()[name]
        except (KeyError, TypeError):
            raise UnknownMethod(message=f"no ABI method is named {name!r}") from None

    def add(self, method: Method) -> Method:
        """Add one method after the families (how a host or a test adds a method of its own)."""
        with self._lock:
            self._ready()
            return self._add(method)

    def _add(self, method: Method) -> Method:
        if not _NAME.match(method.name):
            raise ValueError(f"ABI method name {method.name!r} must be dotted lower-case words")
        if method.name in self._methods or method.hook_name in self._by_hook:
            raise ValueError(f"ABI method {method.name!r} is already defined")
        self._methods[method.name] = method
        self._by_hook[method.hook_name] = method
        return method
