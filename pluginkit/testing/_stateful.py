"""The stateful part of the conformance kit: random sequences of all 18 methods, the store against the model.

A hypothesis ``RuleBasedStateMachine`` runs every method on the store under test and on the in-memory model
(:class:`~pluginkit.sessions.InMemorySessionStore`) and requires the same answers: the same sessions (ids are
mapped, times only checked for order), the same errors, the same search hits. Search relevance scores differ
between stores, so hits are compared as sets when all of them fit the limit, and as a subset otherwise.

Hypothesis is imported here only, so ``pluginkit.testing`` loads in any pytest run without it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from pluginkit.sessions import (
    SEARCH_MODES,
    UNSET,
    InMemorySessionStore,
    Message,
    MessageContent,
    MessageMetadata,
    ModelConfig,
    Recipe,
    RecipeParameter,
    SearchMode,
    Session,
    SessionStore,
    SessionStoreError,
    SessionType,
    TokenStatsUpdate,
)
from pluginkit.sessions.sql import exact_json

__all__ = ["run_stateful_contract"]

#: Words of generated messages and queries: few, so that searches hit; "or", "near" and "and" are FTS syntax
#: elsewhere and must stay words here.
VOCABULARY = ("alpha", "beta", "gamma", "or", "near", "and")
BASE_TIME = 1_700_000_000

words = st.lists(st.sampled_from(VOCABULARY), min_size=0, max_size=6).map(" ".join)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
parts = st.one_of(
    words.map(MessageContent.of_text),
    words.map(MessageContent.of_text),
    st.builds(MessageContent.of_tool_request, st.text(max_size=6), st.sampled_from(["shell", "read"]),
              st.dictionaries(st.text(max_size=4), json_values, max_size=2)),
    st.builds(MessageContent.of_tool_response, st.text(max_size=6), json_values),
    st.builds(MessageContent.of_thinking, words, st.text(max_size=6)),
    st.builds(MessageContent.of_image, st.text(max_size=8), st.just("image/png")),
    st.builds(MessageContent.of_system_notification, st.sampled_from(["inlineMessage", "thinkingMessage"]), words),
)
messages = st.builds(
    Message,
    id=st.text(max_size=6),
    role=st.sampled_from(["user", "assistant"]),
    created=st.integers(BASE_TIME, BASE_TIME + 6),
    content=st.lists(parts, max_size=3),
    metadata=st.none() | st.builds(MessageMetadata, user_visible=st.booleans(), agent_visible=st.booleans()),
)
optional_count = st.none() | st.sampled_from([0, 1]) | st.integers(0, 2**40)
token_stats = st.builds(
    TokenStatsUpdate,
    schedule_id=st.none() | st.text(alphabet="abc", max_size=4),
    total_tokens=optional_count,
    input_tokens=optional_count,
    output_tokens=optional_count,
    accumulated_total=optional_count,
    accumulated_input=optional_count,
    accumulated_output=optional_count,
    cached_input_tokens=optional_count,
    cache_creation_input_tokens=optional_count,
    clear=st.lists(st.sampled_from(["total_tokens", "schedule_id", "cached_input_tokens", "accumulated_total"]),
                   max_size=2, unique=True),
)
model_configs = st.builds(
    ModelConfig,
    model_name=st.sampled_from(["", "gpt", "claude"]),
    context_limit=st.none() | st.integers(0, 10**6),
    temperature=st.none() | st.sampled_from([0.0, 0.5, 1.0]),
    max_tokens=st.none() | st.integers(0, 4096),
    toolshim=st.booleans(),
)
recipes = st.builds(
    Recipe,
    title=st.text(max_size=6),
    instructions=st.none() | st.text(max_size=6),
    activities=st.lists(st.text(max_size=4), max_size=2),
    parameters=st.lists(st.builds(RecipeParameter, key=st.text(max_size=3), default=st.none() | st.just("")),
                        max_size=1),
    settings=st.dictionaries(st.text(max_size=4), json_values, max_size=2),
)
leave = st.just(UNSET)
extension_data = st.dictionaries(st.sampled_from(["todo.v0", "memory.v1", "a.b.c"]), json_values, max_size=3)
modes = st.sampled_from(SEARCH_MODES)
queries = st.lists(
    st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(["", '"', "*", "-", "(", ")", "^", ":"])),
    min_size=1, max_size=3,
).map(lambda pieces: " ".join(f"{deco}{word}" if deco in '"-(^' else f"{word}{deco}" for word, deco in pieces))
session_types = st.sampled_from([t.value for t in SessionType])
instants = st.integers(BASE_TIME - 1, BASE_TIME + 7).map(lambda s: datetime.fromtimestamp(s, UTC))

Pair = tuple[str, str]


class ContractMachine(RuleBasedStateMachine):
    """Store under test vs the model; subclassed per store by :func:`run_stateful_contract`."""

    store: SessionStore
    runner: asyncio.Runner
    sessions = Bundle("sessions")
    #: Set by :meth:`both`: whether the last call raised (on both sides).
    failed = False

    def __init__(self) -> None:
        super().__init__()
        self.model = InMemorySessionStore()
        self.ids: dict[str, str] = {}  # store id → model id
        self.stamps: dict[str, datetime] = {}  # store id → last updated_at seen
        self.runner.run(_empty(self.store))  # every sequence starts from an empty store, like the model

    # -- helpers --------------------------------------------------------------------------------------------
    def both(self, call: Callable[[SessionStore], Coroutine[Any, Any, Any]]) -> tuple[Any, Any]:
        """Run ``call`` on the store and the model: both raise the same error class (then ``self.failed`` and
        ``(None, None)``), or both answer (returned)."""
        results: list[tuple[str, Any]] = []
        for store in (self.store, self.model):
            try:
                results.append(("ok", self.runner.run(call(store))))
            except SessionStoreError as exc:
                results.append(("error", type(exc).__name__))
        (kind, got), (model_kind, expected) = results
        assert (kind, kind == "error" and got) == (model_kind, model_kind == "error" and expected), (
            f"store answered {kind} {got!r}, the model {model_kind} {expected!r}"
        )
        self.failed = kind == "error"
        return (None, None) if self.failed else (got, expected)

    def same_session(self, got: Session, expected: Session) -> None:
        assert self.ids.get(got.id) == expected.id, f"session {got.id} is not the model's {expected.id}"
        assert got.created_at is not None and got.updated_at is not None
        assert got.created_at <= got.updated_at
        mine = _comparable(got)
        theirs = _comparable(expected)
        assert mine == theirs, f"session {got.id} differs from the model:\n{mine}\n!=\n{theirs}"

    def write(
        self, pair: Pair, call: Callable[[SessionStore, str], Coroutine[Any, Any, Any]], *, changes: bool = True
    ) -> None:
        """A write on both, then the session compared in full; a successful write must move ``updated_at``, one
        with nothing to change (``changes=False``) must not."""
        self.both(lambda s: call(s, pair[0] if s is self.store else pair[1]))
        failed = self.failed
        got, expected = self.both(lambda s: s.get_session(pair[0] if s is self.store else pair[1], True))
        if got is None:
            return
        self.same_session(got, expected)
        before = self.stamps.get(got.id)
        if changes:
            assert failed or before is None or got.updated_at > before, f"{got.id}: updated_at did not move on a write"
        assert changes or got.updated_at == before, f"{got.id}: a write with nothing to change moved updated_at"
        assert not failed or got.updated_at == before, f"{got.id}: a refused write changed updated_at"
        self.stamps[got.id] = got.updated_at

    def added(self, got: Session, expected: Session) -> Pair:
        self.ids[got.id] = expected.id
        self.same_session(got, expected)
        self.stamps[got.id] = got.updated_at  # type: ignore[assignment]
        return got.id, expected.id

    # -- rules ----------------------------------------------------------------------------------------------
    def create(self, working_dir: str, name: str, session_type: str) -> Pair:
        got, expected = self.both(lambda s: s.create_session(working_dir, name, session_type))
        return self.added(got, expected)

    @initialize(target=sessions, session_type=session_types, conversation=st.lists(messages, min_size=1, max_size=5))
    def first_session(self, session_type: str, conversation: list[Message]) -> Pair:
        """Every sequence starts with a session holding messages, so that the rules have something to work on."""
        pair = self.create("/work", "first", session_type)
        self.write(pair, lambda s, i: s.replace_conversation(i, conversation))
        return pair

    @rule(target=sessions, working_dir=names, name=names, session_type=session_types)
    def create_session(self, working_dir: str, name: str, session_type: str) -> Pair:
        return self.create(working_dir, name, session_type)

    @rule(pair=sessions, include=st.booleans())
    def get_session(self, pair: Pair, include: bool) -> None:
        got, expected = self.both(lambda s: s.get_session(pair[0] if s is self.store else pair[1], include))
        if got is not None:
            self.same_session(got, expected)

    @rule(pair=sessions, message=messages)
    def add_message(self, pair: Pair, message: Message) -> None:
        self.write(pair, lambda s, i: s.add_message(i, message))

    @rule(pair=sessions, conversation=st.lists(messages, max_size=4))
    def replace_conversation(self, pair: Pair, conversation: list[Message]) -> None:
        self.write(pair, lambda s, i: s.replace_conversation(i, conversation))

    @rule(types=st.none() | st.lists(session_types, max_size=3))
    def list_sessions(self, types: list[str] | None) -> None:
        got, expected = self.both(lambda s: s.list_sessions() if types is None else s.list_sessions_by_types(types))
        assert [self.ids.get(s.id) for s in got] == [s.id for s in expected], "list order or content differs"
        for mine, theirs in zip(got, expected, strict=True):
            self.same_session(mine, theirs)

    @rule(pair=consumes(sessions))
    def delete_session(self, pair: Pair) -> None:
        self.both(lambda s: s.delete_session(pair[0] if s is self.store else pair[1]))

    @invariant()
    def insights(self) -> None:
        got, expected = self.both(lambda s: s.get_insights())
        assert got == expected, f"insights {got} differ from the model's {expected}"

    @rule(target=sessions, pair=sessions)
    def export_and_import(self, pair: Pair) -> Pair:
        exported, model_exported = self.both(lambda s: s.export_session(pair[0] if s is self.store else pair[1]))
        if exported is None:
            return pair
        assert _export_shape(exported) == _export_shape(model_exported), "exports differ"
        got, expected = self.both(lambda s: s.import_session(exported if s is self.store else model_exported))
        return self.added(got, expected)

    @rule(target=sessions, pair=sessions, name=names)
    def copy_session(self, pair: Pair, name: str) -> Pair:
        got, expected = self.both(lambda s: s.copy_session(pair[0] if s is self.store else pair[1], name))
        return pair if got is None else self.added(got, expected)

    @rule(pair=sessions, data=st.data())
    def truncate_conversation(self, pair: Pair, data: st.DataObject) -> None:
        """Truncate at a message's own time (the boundary the rule is about) or near it."""
        conversation = self.runner.run(_conversation(self.model, pair[1]))
        times = sorted({m.created for m in conversation}) or [BASE_TIME]
        timestamp = data.draw(st.sampled_from(times).flatmap(lambda t: st.sampled_from([t, t, t - 1, t + 1])))
        self.write(pair, lambda s, i: s.truncate_conversation(i, timestamp))

    @rule(pair=sessions, name=names, user_set=st.booleans())
    def update_session_name(self, pair: Pair, name: str, user_set: bool) -> None:
        self.write(pair, lambda s, i: s.update_session_name(i, name, user_set), changes=bool(name.strip()))

    @rule(pair=sessions, data=extension_data)
    def update_extension_data(self, pair: Pair, data: dict[str, Any]) -> None:
        self.write(pair, lambda s, i: s.update_extension_data(i, data))

    @rule(pair=sessions, stats=token_stats)
    def update_token_stats(self, pair: Pair, stats: TokenStatsUpdate) -> None:
        self.write(pair, lambda s, i: s.update_token_stats(i, stats))

    @rule(pair=sessions, provider=leave | st.none() | st.sampled_from(["", "openai"]), config=leave | st.none()
          | model_configs)
    def update_provider_config(self, pair: Pair, provider: Any, config: Any) -> None:
        self.write(pair, lambda s, i: s.update_provider_config(i, provider, config))

    @rule(pair=sessions, recipe=leave | st.none() | recipes,
          values=leave | st.none() | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))
    def update_recipe(self, pair: Pair, recipe: Any, values: Any) -> None:
        self.write(pair, lambda s, i: s.update_recipe(i, recipe, values))

    @rule(query=queries, limit=st.none() | st.integers(1, 5), after=st.none() | instants,
          before=st.none() | instants, exclude=st.none() | sessions, mode=modes)
    def search_chat_history(
        self, query: str, limit: int | None, after: datetime | None, before: datetime | None, exclude: Pair | None,
        mode: SearchMode,
    ) -> None:
        self.search(query, limit, after, before, exclude, mode)

    @rule(query=queries, limit=st.none() | st.integers(1, 5), mode=modes)
    def search_again(self, query: str, limit: int | None, mode: SearchMode) -> None:
        """Searches are cheap and find most differences: a second rule makes them twice as frequent."""
        self.search(query, limit, None, None, None, mode)

    def search(
        self, query: str, limit: int | None, after: datetime | None, before: datetime | None, exclude: Pair | None,
        mode: SearchMode,
    ) -> None:
        def search(s: SessionStore, many: bool = False) -> Coroutine[Any, Any, Any]:
            skip = None if exclude is None else exclude[0] if s is self.store else exclude[1]
            return s.search_chat_history(query, 1000 if many else limit, after, before, skip, mode=mode)

        got, expected = self.both(search)
        everything = self.runner.run(search(self.model, many=True))
        if mode == "any":  # the seed's order: newest first
            times = [m.timestamp for m in got]
            assert times == sorted(times, reverse=True), "any-word matches are not newest first"
        else:
            scores = [m.relevance_score for m in got]
            assert scores == sorted(scores, reverse=True), "matches are not best first"
        mine = Counter(self.hit(m, mapped=True) for m in got)
        if len(everything) <= (limit or 10):
            assert mine == Counter(self.hit(m) for m in everything), f"search {query!r} finds different messages"
        else:
            assert len(got) == len(expected), f"search {query!r} returned {len(got)} of {len(expected)} matches"
            assert not mine - Counter(self.hit(m) for m in everything), f"search {query!r} found a wrong message"

    def hit(self, match: Any, mapped: bool = False) -> tuple[Any, ...]:
        session = self.ids.get(match.session_id) if mapped else match.session_id
        return session, match.session_name, match.message_role, match.message_content, match.timestamp

    @rule(method=st.sampled_from(["get_session", "delete_session", "export_session"]))
    def unknown_session(self, method: str) -> None:
        self.both(lambda s: getattr(s, method)("19990101_999"))
        assert self.failed, f"{method} of an unknown session did not raise"


def _comparable(session: Session) -> dict[str, Any]:
    data: dict[str, Any] = exact_json(session)  # keeps 0 apart from null, unlike the wire form
    for key in ("id", "created_at", "updated_at"):
        data.pop(key, None)
    return data


async def _conversation(store: SessionStore, session_id: str) -> list[Message]:
    try:
        return (await store.get_session(session_id, True)).conversation or []
    except SessionStoreError:
        return []


def _export_shape(text: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(text)
    for key in ("id", "created_at", "updated_at"):
        data.pop(key, None)
    return data


async def _empty(store: SessionStore) -> None:
    for session in await store.list_sessions_by_types(list(SessionType)):
        await store.delete_session(session.id)


def run_stateful_contract(
    store: SessionStore,
    *,
    max_examples: int = 20,
    steps: int = 30,
    runner: asyncio.Runner | None = None,
    shrink: bool = True,
    derandomize: bool = False,
) -> None:
    """Drive ``store`` and the model with random sequences of every method; raise on the first difference
    (minimised unless ``shrink=False``). The store is emptied at the start of each sequence, through the
    contract itself. ``derandomize=True`` draws the same sequences on every run (reproducible CI, examples)."""
    own = runner is None
    run = asyncio.Runner() if runner is None else runner
    machine = type("StoreMachine", (ContractMachine,), {"store": store, "runner": run})
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=max_examples, stateful_step_count=steps, deadline=None, database=None,
                phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate], derandomize=derandomize,
            ),
        )
    finally:
        if own:
            run.close()
