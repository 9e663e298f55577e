"""What the manager knows about one plugin."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from pluginkit import types as t
from pluginkit import wire
from pluginkit.runtime._context import PluginContext
from pluginkit.runtime._threads import PluginThreads

__all__ = ["PluginInfo", "PluginRecord", "PluginState"]


class PluginState(enum.Enum):
    #: Loaded, registered, answering calls.
    ACTIVE = "active"
    #: Installed but not selected by the configuration or the environment.
    DISABLED = "disabled"
    #: Failed to import, to register, or refused (ABI mismatch, invalid config, ID conflict).
    FAILED = "failed"
    #: Raised an unexpected exception; taken out of every hook for the life of the manager.
    FUSED = "fused"
    #: Shut down with the manager.
    STOPPED = "stopped"
    #: Timed out again and again: taken out of every hook like a fused plugin (``pluginkit.quarantine``).
    QUARANTINED = "quarantined"


@attrs.define(eq=False)
class PluginRecord:
    """Mutable state of one plugin inside the manager (read through :class:`PluginInfo` snapshots)."""

    id: str
    source: str  # "entry-point", "code", or a family's own kind ("native")
    distribution: str = ""
    version: str = ""
    entry_point: str = ""
    priority: int = 0
    threaded: bool = False
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    state: PluginState = PluginState.DISABLED
    reason: str = ""
    abi_version: str = ""
    import_seconds: float = 0.0
    obj: Any = None
    registration: t.Registration | None = None
    #: Hook names the plugin implements.
    hooks: frozenset[str] = frozenset()
    #: Registration findings that do not stop the plugin (undeclared hooks, unknown settings, …).
    problems: list[str] = attrs.field(factory=list)
    #: ``<family>.identifier`` answers, e.g. ``{"executor": "openai"}``.
    identifiers: dict[str, str] = attrs.field(factory=dict)
    #: Command-line flag names from ``command_line.register``.
    flags: frozenset[str] = frozenset()
    #: ``"METHOD /v0/management/path"`` keys from ``management.register``.
    routes: frozenset[str] = frozenset()
    ctx: PluginContext | None = None
    #: When its recent calls timed out (monotonic seconds), for the quarantine rule.
    timeouts: list[float] = attrs.field(factory=list)
    #: The watchdog caught one of its sync hooks running past the time limit.
    overran: bool = False
    #: Its calls run in worker threads of its own, each bounded by its time limit: configured ``threaded``, or
    #: caught overrunning (see :meth:`update_isolation`).
    isolated: bool = False
    _threads: PluginThreads | None = attrs.field(default=None, init=False, repr=False)
    #: ``(registration, its declared capabilities)``: the flags are read on every plan build and every request's
    #: executor lookup, and ``declared()`` walks every flag field; keyed by the registration object so that a new
    #: registration (``plugin.reconfigure``) is never answered from a stale cache.
    _declared: tuple[t.Registration, frozenset[str]] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.update_isolation()

    def update_isolation(self) -> None:
        """Recompute :attr:`isolated` after ``threaded`` or ``overran`` changed."""
        self.isolated = self.threaded or self.overran

    def worker_threads(self) -> PluginThreads:
        """The plugin's own worker threads, started on first use."""
        threads = self._threads
        if threads is None:
            threads = self._threads = PluginThreads(self.id)
        return threads

    def stop_threads(self) -> None:
        if self._threads is not None:
            self._threads.shutdown()

    @property
    def capabilities(self) -> frozenset[str]:
        registration = self.registration
        if registration is None:
            return frozenset()
        cached = self._declared
        if cached is not None and cached[0] is registration:
            return cached[1]
        return self.set_registration(registration)

    def set_registration(self, registration: t.Registration) -> frozenset[str]:
        """Store a validated registration and compute its declared capabilities once."""
        declared = registration.capabilities.declared()
        self.registration, self._declared = registration, (registration, declared)
        return declared

    def snapshot(self) -> PluginInfo:
        metadata = self.registration.metadata if self.registration else t.PluginMetadata()
        return PluginInfo(
            id=self.id,
            source=self.source,
            distribution=self.distribution,
            version=self.version,
            entry_point=self.entry_point,
            priority=self.priority,
            state=self.state,
            reason=self.reason,
            abi_version=self.abi_version,
            import_seconds=self.import_seconds,
            capabilities=tuple(sorted(self.capabilities)),
            hooks=tuple(sorted(self.hooks)),
            problems=tuple(self.problems),
            metadata=metadata,
        )


@attrs.frozen
class PluginInfo:
    """A read-only view of one plugin, as ``PluginManager.plugins()`` and ``pluginkit list`` report it."""

    id: str
    source: str
    distribution: str
    version: str
    entry_point: str
    priority: int
    state: PluginState
    reason: str
    abi_version: str
    import_seconds: float
    capabilities: tuple[str, ...]
    hooks: tuple[str, ...]
    problems: tuple[str, ...]
    metadata: t.PluginMetadata

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``pluginkit list --json``)."""
        return {
            "id": self.id,
            "source": self.source,
            "distribution": self.distribution,
            "version": self.version,
            "entry_point": self.entry_point,
            "priority": self.priority,
            "state": self.state.value,
            "reason": self.reason,
            "abi_version": self.abi_version,
            "import_seconds": round(self.import_seconds, 6),
            "capabilities": list(self.capabilities),
            "hooks": list(self.hooks),
            "problems": list(self.problems),
            "metadata": wire.to_wire(self.metadata),
        }
