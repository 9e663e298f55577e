"""Picking the credential that serves a request: a scheduler plugin first, the built-in selectors otherwise.

The seed host's rules (``research/seed-systems.md`` §5.4):

1. the host narrows the credentials first — provider, enabled, serves the model, not tried yet in this request,
   not cooling down, highest priority tier only, sorted by ID — and gives a plugin copies without sensitive
   attributes;
2. only the highest-priority scheduler plugin is asked; its error fails the pick; a crash fuses it and the
   built-in selector decides;
3. ``handled=False``, an unknown ``auth_id`` (whatever delegate comes with it) or an invalid ``delegate_builtin``
   fall back to the built-in selector (a valid ``auth_id`` wins over a bad delegate);
4. ``fill-first`` takes the first candidate; ``round-robin`` rotates a cursor per ``provider:model``, and a
   plugin's ``round-robin`` delegate one cursor per provider.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.runtime import PluginRecord, PluginState, copy_headers, copy_metadata
from pluginkit.scheduling._credentials import Credential, candidates_for, eligible, top_tier
from pluginkit.scheduling._state import CURSOR_WRAP, MemoryState, SchedulerState, now
from pluginkit.wire._payload import builder, copier

if TYPE_CHECKING:
    from pluginkit.runtime import PluginManager

__all__ = ["Pick", "Scheduler"]

log = logging.getLogger("pluginkit.scheduler")
BUILTINS = ("fill-first", "round-robin")
#: Bounds of the scheduler's caches (each is reset when full): routes remembered as pools, fallback reasons
#: remembered per pool.
MAX_POOLS = 256
MAX_REASONS = 64
#: Why the built-in selector picks: (the scheduler plugin that did not, why not, its delegate or ``""``).
Fallback = tuple[str, str, str]
_NO_PLUGIN: Fallback = ("", "", "")
_NOT_HANDLED = "did not handle the pick"


@attrs.frozen
class Pick:
    """The chosen credential and how it was chosen (for the trace)."""

    credential: Credential
    plugin: str
    decision: str
    #: The trace's notes for the scheduler stage: the plugin that answered, if one did.
    notes: tuple[tuple[str, str], ...] | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "notes", _notes_of(self.plugin))


class _Pool:
    """What one route (first provider, provider list, model) offers, for one version of the credentials.

    Eligibility, the top tier, the provider keys a plugin sees, the round-robin cursor keys and the built-in
    decisions (immutable :class:`Pick` objects, one per candidate and reason) depend only on the credentials and
    the route, so they are derived once here instead of on every request. What a request adds — credentials it
    already tried, cooldowns — is applied on top (:meth:`Scheduler._candidates`).
    """

    __slots__ = (
        "builtin", "cursor_keys", "keys", "model", "names", "offered", "picks", "providers", "shown_provider", "top",
        "usable",
    )

    def __init__(
        self, credentials: Sequence[Credential], provider: str, providers: Sequence[str], model: str, selector: str
    ):
        self.model = model
        self.providers = list(providers)
        self.keys = frozenset(p.lower() for p in providers) if providers else frozenset((provider.lower(),))
        #: The provider keys a scheduler plugin is shown, sorted.
        self.names = tuple(sorted(self.keys))
        #: The ``provider`` a scheduler plugin is shown: the key, or ``""`` when the route mixes providers.
        self.shown_provider = "" if len(self.keys) > 1 else provider.lower()
        self.usable = eligible(credentials, providers=self.keys, model=model, tried=frozenset())
        self.top = top_tier(self.usable)
        #: The top tier as a scheduler plugin sees it (sensitive attributes removed); each request gets copies.
        self.offered = candidates_for(self.top)
        #: Round-robin cursor keys: the strategy's own, and a delegate's (a plugin's rotation is its own).
        self.cursor_keys = (_cursor_key(provider, model, False), _cursor_key(provider, model, True))
        #: The built-in selector's decision for each top-tier candidate when no plugin is asked: the pick of most
        #: requests, one list index away (the selector is the scheduler's: changing it replaces the pools).
        self.builtin: list[Pick | None] = [_decided(c, "", "", "", selector) for c in self.top]
        #: Why the built-in selector decides (a :data:`Fallback`) → its decision for each top-tier candidate, built
        #: when first needed.
        self.picks: dict[Fallback, list[Pick | None]] = {_NO_PLUGIN: self.builtin}


class Scheduler:
    """Chooses credentials for requests; ``strategy`` is the built-in selector used when no plugin decides.

    :meth:`pick` is the general path. :meth:`pick_now` is the same decision without awaiting, for the pipeline's
    hot path when nothing in it can block: a pick is a handful of dictionary lookups, and a chain of coroutines
    would cost more than the work.

    :attr:`credentials` is a tuple: assign a new sequence, or :meth:`replace` one credential, to change it.
    """

    def __init__(
        self,
        manager: PluginManager,
        credentials: Sequence[Credential] = (),
        *,
        strategy: str = "round-robin",
        state: SchedulerState | None = None,
    ) -> None:
        self.manager = manager
        self.state: SchedulerState = state or MemoryState()
        self._pools: dict[tuple[str, str], _Pool] = {}
        self.strategy = strategy
        self.credentials = tuple(credentials)

    @property
    def strategy(self) -> str:
        """The built-in selector used when no plugin decides: ``fill-first`` or ``round-robin``."""
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: str) -> None:
        if strategy not in BUILTINS:
            raise PluginKitError("invalid_config", f"strategy must be one of {', '.join(BUILTINS)}, not {strategy!r}")
        self._strategy = strategy
        self._pools = {}  # their remembered decisions name the old selector

    @property
    def credentials(self) -> tuple[Credential, ...]:
        """The host's credentials, in the order they were given."""
        return self._credentials

    @credentials.setter
    def credentials(self, credentials: Sequence[Credential]) -> None:
        ids = [c.id for c in credentials]
        if len(set(ids)) != len(ids):
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            raise PluginKitError("invalid_config", f"credential ids must be unique: {', '.join(duplicated)}")
        self._credentials = tuple(credentials)
        self._pools = {}  # a new dict, not clear(): a pick running on another thread keeps the pools it read

    def replace(self, credential: Credential) -> None:
        """Put ``credential`` in place of the one with the same ID (added at the end when there is none), e.g.
        ``scheduler.replace(attrs.evolve(old, disabled=True))``."""
        current = list(self._credentials)
        for index, existing in enumerate(current):
            if existing.id == credential.id:
                current[index] = credential
                break
        else:
            current.append(credential)
        self.credentials = current

    def _pool(self, provider: str, providers: Sequence[str], model: str) -> _Pool:
        """The route's pool for the current credentials (built on first use, bounded)."""
        pools = self._pools
        pool = pools.get((provider, model))
        if pool is None or pool.providers != providers:
            pool = _Pool(self._credentials, provider, providers, model, self._strategy)
            if len(pools) >= MAX_POOLS:
                pools = self._pools = {}
            pools[(provider, model)] = pool
        return pool

    def _usable(self, pool: _Pool, model: str, tried: frozenset[str]) -> list[Credential]:
        usable = [c for c in pool.usable if c.id not in tried] if tried else pool.usable
        if not usable:
            raise PluginKitError("auth_unavailable", f"no credential available for {'/'.join(pool.names)} {model}")
        return usable

    async def available(
        self, provider: str, providers: Sequence[str], model: str, tried: frozenset[str] = frozenset()
    ) -> list[Credential]:
        """Credentials a request may use now, highest tier first and sorted by ID; raises ``model_cooldown`` or
        ``auth_unavailable`` when none."""
        return await self._available(self._pool(provider, providers, model), model, tried)

    async def _available(self, pool: _Pool, model: str, tried: frozenset[str]) -> list[Credential]:
        usable = self._usable(pool, model, tried)
        moment = now()
        return _ready(usable, await self.state.cooling(model, moment), model, moment)

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
        pool = self._pool(provider, providers, model)
        candidates = await self._available(pool, model, tried)
        plugin_pick = await self._ask_plugin(candidates, pool, stream, headers or {}, metadata or {})
        if isinstance(plugin_pick, Pick):
            return plugin_pick
        delegate = plugin_pick[2]
        if (delegate or self._strategy) == "fill-first":
            index = 0
        else:
            index = await self.state.next_cursor(pool.cursor_keys[bool(delegate)]) % len(candidates)
        return self._decision(pool, candidates, index, plugin_pick)

    def pick_now(
        self,
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
        The plugin's call is not counted on its own (the caller counts the request it belongs to). Arguments are
        positional on the hot path (keywords cost a dict per call)."""
        state: Any = self.state
        if state.__class__ is not MemoryState:  # exactly: a subclass may do I/O in its async methods
            return None
        runtime = self.manager.runtime
        plan = runtime.plans.get("scheduler.pick") or runtime.plan("scheduler.pick")
        if plan.impls and not plan.inline:
            return None
        pool = self._pools.get((provider, model))
        if pool is None or pool.providers != providers:
            pool = self._pool(provider, providers, model)
        top = pool.top
        if top and not tried and not state._cool:
            if not plan.impls:  # most requests: the built-in selector over the pool's top tier, written out here
                picks = pool.builtin  # (each call it saves was ~0.4 us of a request in context: benchmarks, plugins)
                if self._strategy == "fill-first":
                    return picks[0]
                key = pool.cursor_keys[0]
                counter = state._cursors.get(key) or state._counter(key)
                return picks[next(counter) % CURSOR_WRAP % len(picks)]
            candidates = top
        else:
            candidates = self._candidates(pool, model, tried, state)
        if not plan.impls:
            return self._builtin_now(pool, candidates, _NO_PLUGIN)
        owner = plan.impls[0].record
        request = self._pick_request(owner, candidates, pool, stream, headers, metadata)
        notes: list[tuple[str, str]] = []
        try:
            answer = plan.runner(plan, request, runtime, notes)
        except PluginKitError:
            if owner.state is PluginState.FUSED:
                return self._builtin_now(pool, candidates, (owner.id, "crashed and was fused", ""))
            raise
        if notes and not answer.handled:  # _judge's most common answer, without its call
            return self._builtin_now(pool, candidates, (owner.id, _NOT_HANDLED, ""))
        judged = self._judge(owner, answer, notes, candidates)
        if isinstance(judged, Pick):
            return judged
        return self._builtin_now(pool, candidates, judged)

    def _candidates(self, pool: _Pool, model: str, tried: frozenset[str], state: MemoryState) -> list[Credential]:
        """The general rule applied to the pool, for when its top tier cannot serve as it is (this request already
        tried some, something is cooling down, or nothing is eligible: ``auth_unavailable``)."""
        usable = self._usable(pool, model, tried)
        moment = now()
        return _ready(usable, state.cooling_now(model, moment), model, moment)

    def _builtin_now(self, pool: _Pool, candidates: list[Credential], reason: Fallback) -> Pick:
        """The built-in selector's pick, without awaiting: ``MemoryState.next_cursor_now`` and the remembered
        decision of :meth:`_decision` written out (two Python calls, ~0.8 us of a request in context)."""
        delegate = reason[2]
        if (delegate or self._strategy) == "fill-first":
            index = 0
        else:
            state: Any = self.state
            key = pool.cursor_keys[bool(delegate)]
            counter = state._cursors.get(key) or state._counter(key)
            index = next(counter) % CURSOR_WRAP % len(candidates)
        if candidates is pool.top:
            known = pool.picks.get(reason)
            if known is not None and (pick := known[index]) is not None:
                return pick
        return self._decision(pool, candidates, index, reason)

    def _decision(self, pool: _Pool, candidates: list[Credential], index: int, reason: Fallback) -> Pick:
        """The built-in selector's :class:`Pick` of ``candidates[index]``. Decisions repeat (same credential, same
        words) and a Pick is immutable, so one object per candidate and reason serves every request of the pool;
        when ``candidates`` is not the pool's top tier (tries, cooldowns) a new one is made."""
        plugin_id, why, delegate = reason
        selector = delegate or self._strategy
        chosen = candidates[index]
        if candidates is not pool.top:
            return _decided(chosen, plugin_id, why, delegate, selector)
        known = pool.picks.get(reason)
        if known is None:
            if len(pool.picks) >= MAX_REASONS:
                pool.picks.clear()
            known = pool.picks[reason] = [None] * len(candidates)
        pick = known[index]
        if pick is None:
            pick = known[index] = _decided(chosen, plugin_id, why, delegate, selector)
        return pick

    def _pick_request(
        self,
        owner: PluginRecord,
        candidates: list[Credential],
        pool: _Pool,
        stream: bool,
        headers: t.Headers,
        metadata: t.Metadata,
    ) -> t.SchedulerPickRequest:
        """What the scheduler plugin ``owner`` is asked: copies of everything, sensitive attributes removed."""
        if candidates is pool.top:  # the pool's own copies, copied again: nothing a plugin does reaches them
            shown = []
            for candidate in pool.offered:
                shown.append(_copy_candidate(candidate))
        else:
            shown = candidates_for(candidates)
        return _pick_request(
            owner.registration.metadata if owner.registration else t.PluginMetadata(),
            pool.shown_provider,
            list(pool.names),
            pool.model,
            stream,
            _options(copy_headers(headers), copy_metadata(metadata)),
            shown,
        )

    async def _ask_plugin(
        self,
        candidates: list[Credential],
        pool: _Pool,
        stream: bool,
        headers: t.Headers,
        metadata: t.Metadata,
    ) -> Pick | Fallback:
        """The plugin's pick, or ``(plugin_id, why it fell back, delegate or "")`` for the built-in selector."""
        runtime = self.manager.runtime
        plan = runtime.plans.get("scheduler.pick") or runtime.plan("scheduler.pick")
        if not plan.impls:
            return _NO_PLUGIN
        owner = plan.impls[0].record
        request = self._pick_request(owner, candidates, pool, stream, headers, metadata)
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
    ) -> Pick | Fallback:
        """What the plugin's answer means (the fallback table of the module docstring)."""
        if not notes:  # fused between the plan lookup and the call: nobody was asked
            return _NO_PLUGIN
        if not answer.handled:
            return owner.id, _NOT_HANDLED, ""
        auth_id, delegate = answer.auth_id.strip(), answer.delegate_builtin.strip()
        if auth_id:
            for credential in candidates:
                if credential.id == auth_id:
                    return _new_pick(credential, owner.id, f"scheduler {owner.id!r} picked {auth_id!r}")
            # the seed host (internal/pluginhost/scheduler.go, normalizeSchedulerResponse): an unknown auth id makes
            # the whole answer invalid, whatever delegate came with it
            log.warning("scheduler %r picked unknown credential %r; using the built-in selector", owner.id, auth_id)
            return owner.id, f"picked unknown credential {auth_id!r}", ""
        if delegate in BUILTINS:
            return owner.id, "delegated", delegate
        log.warning("scheduler %r answered neither a candidate nor a valid delegate (%r)", owner.id, delegate)
        return owner.id, f"answered an invalid delegate {delegate!r}", ""

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
    """The round-robin cursor of a pool: per provider and model for the built-in strategy; per provider for a
    plugin's delegate, as the seed host keeps it (one rotation across a provider's models)."""
    return f"delegate:{provider.lower()}" if delegated else f"{provider.lower()}:{model}"


def _decided(chosen: Credential, plugin_id: str, why: str, delegate: str, selector: str) -> Pick:
    via = f"{selector} delegate" if delegate else f"built-in {selector}"
    if plugin_id:
        return _new_pick(chosen, plugin_id, f"scheduler {plugin_id!r} {why}; picked {chosen.id!r} via {via}")
    return _new_pick(chosen, plugin_id, f"picked {chosen.id!r} via {via}")


_pick_request = builder(
    t.SchedulerPickRequest, "plugin", "provider", "providers", "model", "stream", "options", "candidates"
)
_options = builder(t.SchedulerOptions, "headers", "metadata")
_copy_candidate = copier(t.SchedulerCandidate)
_set_credential = Pick.__dict__["credential"].__set__
_set_plugin = Pick.__dict__["plugin"].__set__
_set_decision = Pick.__dict__["decision"].__set__
_set_notes = Pick.__dict__["notes"].__set__


def _notes_of(plugin: str) -> tuple[tuple[str, str], ...] | None:
    return ((plugin, "answered"),) if plugin else None


def _new_pick(credential: Credential, plugin: str, decision: str) -> Pick:
    """``Pick(credential, plugin, decision)`` through the slots (a frozen attrs ``__init__`` costs ~1.6x this)."""
    pick: Pick = object.__new__(Pick)
    _set_credential(pick, credential)
    _set_plugin(pick, plugin)
    _set_decision(pick, decision)
    _set_notes(pick, _notes_of(plugin))
    return pick
