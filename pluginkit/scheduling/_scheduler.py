"""Picking the credential that serves a request: a scheduler plugin first, the built-in selectors otherwise.

The seed host's rules (``research/seed-systems.md`` §5.4):

1. the host narrows the credentials first — provider, enabled, serves the model, not tried yet in this request,
   not cooling down, highest priority tier only, sorted by ID — and gives a plugin copies without sensitive
   attributes;
2. only the highest-priority scheduler plugin is asked; its error fails the pick; a crash fuses it and the
   built-in selector decides;
3. ``handled=False``, an unknown ``auth_id`` or an invalid ``delegate_builtin`` fall back to the built-in selector
   (a valid ``auth_id`` wins over a bad delegate);
4. ``fill-first`` takes the first candidate; ``round-robin`` rotates a cursor per ``provider:model``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from pluginkit import types as t
from pluginkit._plugin import PluginState
from pluginkit.errors import PluginKitError
from pluginkit.scheduling._credentials import Credential, candidates_for, eligible, top_tier
from pluginkit.scheduling._state import MemoryState, SchedulerState, now

if TYPE_CHECKING:
    from pluginkit._manager import PluginManager

__all__ = ["Pick", "Scheduler"]

log = logging.getLogger("pluginkit.scheduler")
BUILTINS = ("fill-first", "round-robin")


@attrs.frozen
class Pick:
    """The chosen credential and how it was chosen (for the trace)."""

    credential: Credential
    plugin: str
    decision: str


class Scheduler:
    """Chooses credentials for requests; ``strategy`` is the built-in selector used when no plugin decides."""

    def __init__(
        self,
        manager: PluginManager,
        credentials: Sequence[Credential] = (),
        *,
        strategy: str = "round-robin",
        state: SchedulerState | None = None,
    ) -> None:
        if strategy not in BUILTINS:
            raise PluginKitError("invalid_config", f"strategy must be one of {', '.join(BUILTINS)}, not {strategy!r}")
        self.manager = manager
        self.credentials: list[Credential] = list(credentials)
        self.strategy = strategy
        self.state: SchedulerState = state or MemoryState()

    async def available(self, providers: frozenset[str], model: str, tried: frozenset[str]) -> list[Credential]:
        """Credentials a request may use now; raises ``model_cooldown`` or ``auth_unavailable`` when none."""
        usable = eligible(self.credentials, providers=providers, model=model, tried=tried)
        if not usable:
            raise PluginKitError(
                "auth_unavailable", f"no credential available for {'/'.join(sorted(providers)) or '?'} {model}"
            )
        moment = now()
        cooling = await self.state.cooling(model, moment)
        ready = [c for c in usable if c.id not in cooling]
        if not ready:
            wait = max(0.0, min(cooling[c.id] for c in usable) - moment)
            raise PluginKitError(
                "model_cooldown",
                f"every credential for {model} is cooling down; retry after {wait:.1f}s",
                retry_after=round(wait, 3),
            )
        return top_tier(ready)

    async def pick(
        self,
        *,
        provider: str,
        providers: Sequence[str],
        model: str,
        stream: bool = False,
        headers: t.Headers | None = None,
        metadata: t.Metadata | None = None,
        tried: frozenset[str] = frozenset(),
    ) -> Pick:
        keys = frozenset(p.lower() for p in (providers or [provider]))
        candidates = await self.available(keys, model, tried)
        plugin_pick = await self._ask_plugin(candidates, provider, keys, model, stream, headers or {}, metadata or {})
        if isinstance(plugin_pick, Pick):
            return plugin_pick
        plugin_id, why, delegate = plugin_pick
        selector = delegate or self.strategy
        chosen = await self._builtin(selector, candidates, provider, model, delegated=bool(delegate))
        via = f"{selector} delegate" if delegate else f"built-in {selector}"
        decision = (
            f"scheduler {plugin_id!r} {why}; picked {chosen.id!r} via {via}"
            if plugin_id
            else (f"picked {chosen.id!r} via {via}")
        )
        return Pick(chosen, plugin_id, decision)

    async def _ask_plugin(
        self,
        candidates: list[Credential],
        provider: str,
        providers: frozenset[str],
        model: str,
        stream: bool,
        headers: t.Headers,
        metadata: t.Metadata,
    ) -> Pick | tuple[str, str, str]:
        """The plugin's pick, or ``(plugin_id, why it fell back, delegate or "")`` for the built-in selector."""
        notes: list[tuple[str, str]] = []
        request = t.SchedulerPickRequest(
            provider="" if len(providers) > 1 else provider.lower(),
            providers=sorted(providers),
            model=model,
            stream=stream,
            options=t.SchedulerOptions(headers={k: list(v) for k, v in headers.items()}, metadata=dict(metadata)),
            candidates=candidates_for(candidates),
        )
        plan = self.manager._plans.get("scheduler.pick") or self.manager._plan("scheduler.pick")
        if not plan.impls:
            return "", "", ""
        owner = plan.impls[0].record
        request.plugin = owner.registration.metadata if owner.registration else t.PluginMetadata()
        try:
            answer: t.SchedulerPickResult = await self.manager.acall("scheduler.pick", request, notes=notes)
        except PluginKitError:
            if owner.state is PluginState.FUSED:  # a crash: the seed fuses the plugin and uses the built-in
                return owner.id, "crashed and was fused", ""
            raise  # a deliberate error (scheduler_denied, …) fails the request
        if not notes:  # fused between the plan lookup and the call: nobody was asked
            return "", "", ""
        if not answer.handled:
            return owner.id, "did not handle the pick", ""
        auth_id, delegate = answer.auth_id.strip(), answer.delegate_builtin.strip()
        if auth_id:
            for credential in candidates:
                if credential.id == auth_id:
                    return Pick(credential, owner.id, f"scheduler {owner.id!r} picked {auth_id!r}")
            if delegate not in BUILTINS:
                log.warning("scheduler %r picked unknown credential %r; using the built-in selector", owner.id, auth_id)
                return owner.id, f"picked unknown credential {auth_id!r}", ""
        if delegate in BUILTINS:
            return owner.id, "delegated", delegate
        log.warning("scheduler %r answered neither a candidate nor a valid delegate (%r)", owner.id, delegate)
        return owner.id, f"answered an invalid delegate {delegate!r}", ""

    async def _builtin(
        self, selector: str, candidates: list[Credential], provider: str, model: str, *, delegated: bool
    ) -> Credential:
        if selector == "fill-first":
            return candidates[0]
        key = f"{'delegate:' if delegated else ''}{provider.lower()}:{model}"
        cursor = await self.state.next_cursor(key)
        return candidates[cursor % len(candidates)]

    async def report(self, credential: Credential, model: str, error: PluginKitError) -> bool:
        """Cool a credential down after an upstream 429 or 5xx that said when to come back (``retry_after``).

        Returns whether the credential was cooled.
        """
        status = error.http_status
        if (status == 429 or status >= 500) and error.retry_after > 0:
            await self.state.cool_down(credential.id, model, now() + error.retry_after)
            return True
        return False
