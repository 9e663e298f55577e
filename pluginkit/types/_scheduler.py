"""``scheduler.pick`` payloads."""

from __future__ import annotations

from typing import Any

from attrs import Factory

from pluginkit.types._common import Headers, Metadata
from pluginkit.types._lifecycle import PluginMetadata
from pluginkit.wire._payload import payload

__all__ = [
    "BUILTIN_SCHEDULERS",
    "CANDIDATE_STATUSES",
    "SchedulerCandidate",
    "SchedulerOptions",
    "SchedulerPickRequest",
    "SchedulerPickResult",
]

#: Values of :attr:`SchedulerCandidate.status`.
CANDIDATE_STATUSES = ("unknown", "active", "pending", "refreshing", "error", "disabled")
#: Built-in selectors a scheduler may delegate to with :attr:`SchedulerPickResult.delegate_builtin`.
BUILTIN_SCHEDULERS = ("fill-first", "round-robin")


@payload
class SchedulerOptions:
    headers: Headers = Factory(dict)
    metadata: Metadata = Factory(dict)


@payload
class SchedulerCandidate:
    """A credential the request could use. Sensitive attributes were removed by the host; this is a copy."""

    id: str = ""
    provider: str = ""
    priority: int = 0
    status: str = ""
    attributes: dict[str, str] = Factory(dict)
    metadata: dict[str, Any] = Factory(dict)


@payload
class SchedulerPickRequest:
    """Params of ``scheduler.pick``.

    ``provider`` is the lower-cased provider key, or ``""`` when the route mixes providers (then ``providers``
    lists the accepted keys). Candidates are pre-filtered (same provider, not disabled or cooling down, not tried
    yet, highest priority tier) and sorted by ID.
    """

    plugin: PluginMetadata = Factory(PluginMetadata)
    provider: str = ""
    providers: list[str] = Factory(list)
    model: str = ""
    stream: bool = False
    options: SchedulerOptions = Factory(SchedulerOptions)
    candidates: list[SchedulerCandidate] = Factory(list)


@payload
class SchedulerPickResult:
    """``auth_id`` picks a candidate; ``delegate_builtin`` (``fill-first`` / ``round-robin``) hands the choice to
    a built-in selector; ``handled=False`` lets the host's default selector decide."""

    auth_id: str = ""
    delegate_builtin: str = ""
    handled: bool = False
