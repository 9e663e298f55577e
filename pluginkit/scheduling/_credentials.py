"""Credentials (the seed's "auths") and how the host narrows them to the candidates a scheduler sees."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from pluginkit import types as t
from pluginkit.redaction import strip_sensitive

__all__ = ["Credential", "candidates_for"]


@attrs.frozen(eq=False)
class Credential:
    """A credential the host can use for a provider.

    ``models`` limits the models it serves (``None``: every model). ``priority`` tiers credentials: only the
    highest tier with an available credential is offered to a scheduler.

    Frozen: the scheduler derives each route's candidates once per version of its credentials, so a change is a
    new object handed to :meth:`~pluginkit.scheduling.Scheduler.replace` (``attrs.evolve`` makes one), never an
    edit in place that the scheduler could not see. Compared by identity, like the account it stands for.
    """

    id: str
    provider: str
    priority: int = 0
    status: str = "active"
    disabled: bool = False
    attributes: dict[str, str] = attrs.field(factory=dict)
    metadata: dict[str, Any] = attrs.field(factory=dict)
    models: frozenset[str] | None = None
    #: Opaque provider credential handed to executors (``ExecutorRequest.storage_json``).
    storage_json: bytes = b""

    def serves(self, model: str) -> bool:
        return self.models is None or model in self.models


def eligible(
    credentials: Iterable[Credential],
    *,
    providers: frozenset[str],
    model: str,
    tried: frozenset[str],
) -> list[Credential]:
    """The host's filter before cooldowns: provider, enabled, serves the model, not tried in this request."""
    return [
        c
        for c in credentials
        if c.provider.lower() in providers
        and not c.disabled
        and c.status != "disabled"
        and c.serves(model)
        and c.id not in tried
    ]


def top_tier(credentials: list[Credential]) -> list[Credential]:
    """Highest priority tier only, sorted by ID (what the seed offers its selectors)."""
    if not credentials:
        return []
    best = max(c.priority for c in credentials)
    return sorted((c for c in credentials if c.priority == best), key=lambda c: c.id)


def candidates_for(credentials: list[Credential]) -> list[t.SchedulerCandidate]:
    """Copies for a scheduler plugin: sensitive attributes removed, nothing shared with the host's records."""
    return [
        t.SchedulerCandidate(
            id=c.id,
            provider=c.provider.lower(),
            priority=c.priority,
            status=c.status,
            attributes=strip_sensitive(c.attributes),
            metadata=dict(c.metadata),
        )
        for c in credentials
    ]
