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
from typing import TYPE_CHECKING, Any

import attrs

from pluginkit import types as t
from pluginkit._payload import builder
from pluginkit._plugin import PluginRecord, PluginState
from pluginkit._redact import strip_sensitive
from pluginkit.errors import PluginKitError
from pluginkit.scheduling._credentials import Credential, eligible, top_tier
from pluginkit.scheduling._state import MemoryState, SchedulerState, now

if TYPE_CHECKING:
    from pluginkit._dispatch import Plan
    from pluginkit._manager import PluginManager

__all__ = ["Pick", "Scheduler"]

log = logging.getLogger("pluginkit.scheduler")
BUILTINS = ("fill-first", "round-robin")
#: Bounds of the scheduler's small caches (each is reset when full): provider lists → key sets, key sets →
#: sorted lists, built-in decisions → their :class:`Pick`.
MAX_KEY_SETS = 256
MAX_PICKS = 1024


@attrs.frozen
class Pick:
    """The chosen credential and how it was chosen (for the trace)."""

    credential: Credential
    plugin: str
    decision: str


class Scheduler:
    """Chooses credentials for requests; ``strategy`` is the built-in selector used when no plugin decides.

    :meth:`pick` is the general path. :meth:`pick_now` is the same decision without awaiting, for the pipeline's
    hot path when nothing in it can block: a pick is a handful of dictionary lookups, and a chain of coroutines
    would cost more than the work.
    """

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
        self._key_sets: dict[tuple[str, ...], frozenset[str]] = {}
        self._sorted_keys: dict[frozenset[str], tuple[str, ...]] = {}
        self._picks: dict[tuple[Any, ...], Pick] = {}

    async def available(self, providers: frozenset[str], model: str, tried: frozenset[str]) -> list[Credential]:
        """Credentials a request may use now; raises ``model_cooldown`` or ``auth_unavailable`` when none."""
        usable = self._usable(providers, model, tried)
        moment = now()
        return _ready(usable, await self.state.cooling(model, moment), model, moment)

    def _usable(self, providers: frozenset[str], model: str, tried: frozenset[str]) -> list[Credential]:
        usable = eligible(self.credentials, providers=providers, model=model, tried=tried)
        if not usable:
            raise PluginKitError(
                "auth_unavailable", f"no credential available for {'/'.join(sorted(providers)) or '?'} {model}"
            )
        return usable

    def _keys(self, provider: str, providers: Sequence[str]) -> frozenset[str]:
        """The lower-cased provider keys of a route (routes are few and reused: remembered per provider list)."""
        names = tuple(providers) if providers else (provider,)
        keys = self._key_sets.get(names)
        if keys is None:
            if len(self._key_sets) >= MAX_KEY_SETS:
                self._key_sets.clear()
            keys = self._key_sets[names] = frozenset(p.lower() for p in names)
        return keys

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
        keys = self._keys(provider, providers)
        candidates = await self.available(keys, model, tried)
        plugin_pick = await self._ask_plugin(candidates, provider, keys, model, stream, headers or {}, metadata or {})
        if isinstance(plugin_pick, Pick):
            return plugin_pick
        plugin_id, why, delegate = plugin_pick
        selector = delegate or self.strategy
        chosen = await self._builtin(selector, candidates, provider, model, delegated=bool(delegate))
        return _decided(chosen, plugin_id, why, delegate, selector)

    def pick_now(
        self,
        *,
        provider: str,
        providers: Sequence[str],
        model: str,
        stream: bool,
        headers: t.Headers,
        metadata: t.Metadata,
        tried: frozenset[str],
    ) -> Pick | None:
        """:meth:`pick` without awaiting, or ``None`` (nothing done) when that is not possible: the state is not
        in-process memory, or the scheduler plugin is not plain synchronous code the caller's loop may run inline.
        The plugin's call is not counted on its own (the caller counts the request it belongs to)."""
        state: Any = self.state
        if state.__class__ is not MemoryState:  # exactly: a subclass may do I/O in its async methods
            return None
        keys = self._keys(provider, providers)
        usable = self._usable(keys, model, tried)
        if state._cool:  # something is cooling down (for some model): the general rule
            moment = now()
            candidates = _ready(usable, state.cooling_now(model, moment), model, moment)
        else:
            candidates = usable if len(usable) == 1 else top_tier(usable)
        asked = self._plugin_request(candidates, provider, keys, model, stream, headers, metadata)
        if asked is None:
            return self._builtin_now(candidates, provider, model, "", "", "")
        plan, owner, request = asked
        if not plan.inline:
            return None
        notes: list[tuple[str, str]] = []
        try:
            answer = plan.runner(plan, request, self.manager, notes)
        except PluginKitError:
            if owner.state is PluginState.FUSED:
                return self._builtin_now(candidates, provider, model, owner.id, "crashed and was fused", "")
            raise
        judged = self._judge(owner, answer, notes, candidates)
        if isinstance(judged, Pick):
            return judged
        return self._builtin_now(candidates, provider, model, *judged)

    def _builtin_now(
        self, candidates: list[Credential], provider: str, model: str, plugin_id: str, why: str, delegate: str
    ) -> Pick:
        selector = delegate or self.strategy
        if selector == "fill-first":
            chosen = candidates[0]
        else:
            state: Any = self.state
            chosen = candidates[state.next_cursor_now(_cursor_key(provider, model, bool(delegate))) % len(candidates)]
        # Built-in decisions repeat (same credential, same words): a Pick is immutable, so one object serves them
        # all. Keyed by the credential object too (the cached Pick holds it, so its id cannot be reused).
        key = (id(chosen), chosen.id, plugin_id, why, delegate, selector)
        pick = self._picks.get(key)
        if pick is None:
            if len(self._picks) >= MAX_PICKS:
                self._picks.clear()
            pick = self._picks[key] = _decided(chosen, plugin_id, why, delegate, selector)
        return pick

    def _plugin_request(
        self,
        candidates: list[Credential],
        provider: str,
        providers: frozenset[str],
        model: str,
        stream: bool,
        headers: t.Headers,
        metadata: t.Metadata,
    ) -> tuple[Plan, PluginRecord, t.SchedulerPickRequest] | None:
        """The plan, its owner and the owner's request, or ``None`` when no scheduler plugin is active (then no
        request is built at all)."""
        plan = self.manager._plans.get("scheduler.pick") or self.manager._plan("scheduler.pick")
        if not plan.impls:
            return None
        owner = plan.impls[0].record
        names = self._sorted_keys.get(providers)
        if names is None:
            if len(self._sorted_keys) >= MAX_KEY_SETS:
                self._sorted_keys.clear()
            names = self._sorted_keys[providers] = tuple(sorted(providers))
        request = _pick_request(
            plugin=owner.registration.metadata if owner.registration else t.PluginMetadata(),
            provider="" if len(providers) > 1 else provider.lower(),
            providers=list(names),
            model=model,
            stream=stream,
            options=_options(headers={k: list(v) for k, v in headers.items()}, metadata=dict(metadata)),
            candidates=[  # copies: what the plugin does to them never reaches the host's credentials
                _candidate(
                    id=c.id,
                    provider=c.provider.lower(),
                    priority=c.priority,
                    status=c.status,
                    attributes=strip_sensitive(c.attributes) if c.attributes else {},
                    metadata=dict(c.metadata),
                )
                for c in candidates
            ],
        )
        return plan, owner, request

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
        asked = self._plugin_request(candidates, provider, providers, model, stream, headers, metadata)
        if asked is None:
            return "", "", ""
        _, owner, request = asked
        notes: list[tuple[str, str]] = []
        try:
            answer: t.SchedulerPickResult = await self.manager.acall("scheduler.pick", request, notes=notes)
        except PluginKitError:
            if owner.state is PluginState.FUSED:  # a crash: the seed fuses the plugin and uses the built-in
                return owner.id, "crashed and was fused", ""
            raise  # a deliberate error (scheduler_denied, …) fails the request
        return self._judge(owner, answer, notes, candidates)

    def _judge(
        self, owner: PluginRecord, answer: t.SchedulerPickResult, notes: list[tuple[str, str]],
        candidates: list[Credential],
    ) -> Pick | tuple[str, str, str]:
        """What the plugin's answer means (the fallback table of the module docstring)."""
        if not notes:  # fused between the plan lookup and the call: nobody was asked
            return "", "", ""
        if not answer.handled:
            return owner.id, "did not handle the pick", ""
        auth_id, delegate = answer.auth_id.strip(), answer.delegate_builtin.strip()
        if auth_id:
            for credential in candidates:
                if credential.id == auth_id:
                    return _new_pick(credential, owner.id, f"scheduler {owner.id!r} picked {auth_id!r}")
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
        cursor = await self.state.next_cursor(_cursor_key(provider, model, delegated))
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


def _ready(usable: list[Credential], cooling: dict[str, float], model: str, moment: float) -> list[Credential]:
    """``usable`` without the credentials cooling down, highest tier only; raises ``model_cooldown`` when none."""
    ready = [c for c in usable if c.id not in cooling] if cooling else usable
    if not ready:
        wait = max(0.0, min(cooling[c.id] for c in usable) - moment)
        raise PluginKitError(
            "model_cooldown",
            f"every credential for {model} is cooling down; retry after {wait:.1f}s",
            retry_after=round(wait, 3),
        )
    return [ready[0]] if len(ready) == 1 else top_tier(ready)  # one credential is its own top tier


def _cursor_key(provider: str, model: str, delegated: bool) -> str:
    return f"{'delegate:' if delegated else ''}{provider.lower()}:{model}"


def _decided(chosen: Credential, plugin_id: str, why: str, delegate: str, selector: str) -> Pick:
    via = f"{selector} delegate" if delegate else f"built-in {selector}"
    if plugin_id:
        return _new_pick(chosen, plugin_id, f"scheduler {plugin_id!r} {why}; picked {chosen.id!r} via {via}")
    return _new_pick(chosen, plugin_id, f"picked {chosen.id!r} via {via}")


_pick_request = builder(t.SchedulerPickRequest)
_options = builder(t.SchedulerOptions)
_candidate = builder(t.SchedulerCandidate)
_set_credential = Pick.__dict__["credential"].__set__
_set_plugin = Pick.__dict__["plugin"].__set__
_set_decision = Pick.__dict__["decision"].__set__


def _new_pick(credential: Credential, plugin: str, decision: str) -> Pick:
    """``Pick(credential, plugin, decision)`` through the slots (a frozen attrs ``__init__`` costs ~1.6x this)."""
    pick: Pick = object.__new__(Pick)
    _set_credential(pick, credential)
    _set_plugin(pick, plugin)
    _set_decision(pick, decision)
    return pick
