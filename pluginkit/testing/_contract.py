"""The conformance kit's tests: every documented rule of the session contract, then the stateful comparison.

They use one fixture, ``pluginkit_session_store`` (the store under test, empty or not: each test empties it
through the contract first). See :mod:`pluginkit.testing` for how they are collected.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from pluginkit.sessions import (
    ContentType,
    InvalidSessionData,
    Message,
    MessageContent,
    MessageMetadata,
    ModelConfig,
    Recipe,
    SessionNotFound,
    SessionStore,
    SessionType,
    SyncSessionStore,
    TokenStatsUpdate,
)

__all__ = ["SessionStoreContract", "StoreDriver"]

T0 = 1_700_000_000
#: A wrong type where the contract wants an integer.
NOT_AN_INT: Any = "soon"
#: The messages of ``test_queries_are_taken_literally`` holding the word "deploy" ("deployment" is another word).
DEPLOY = ["deploy the release", "the deploy failed", "deploy is near"]


class StoreDriver:
    """Calls a store's coroutines from a test: ``driver.create_session(...)`` runs and returns the result."""

    def __init__(self, store: SessionStore, runner: asyncio.Runner) -> None:
        self.store = store
        self.runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.store, name)
        return lambda *args, **kwargs: self.runner.run(method(*args, **kwargs))

    def ids(self) -> list[str]:
        return [s.id for s in self.runner.run(self.store.list_sessions_by_types(list(SessionType)))]


def _text(text: str, created: int = T0, role: str = "user") -> Message:
    return Message(role=role, created=created, content=[MessageContent.of_text(text)])


class SessionStoreContract:
    """The contract's tests; a test module defining ``pluginkit_session_store`` gets them automatically."""

    @pytest.fixture
    def store(self, pluginkit_session_store: SessionStore) -> Iterator[StoreDriver]:
        with asyncio.Runner() as runner:
            driver = StoreDriver(pluginkit_session_store, runner)
            for session_id in driver.ids():
                driver.delete_session(session_id)
            yield driver

    # -- sessions -------------------------------------------------------------------------------------------
    def test_create_and_get(self, store: StoreDriver) -> None:
        session = store.create_session("/work/project", "first", SessionType.SCHEDULED)
        assert re.fullmatch(r"\d{8}_\d+", session.id)
        assert session.created_at == session.updated_at and session.created_at is not None
        got = store.get_session(session.id)
        assert (got.working_dir, got.name, got.session_type, got.user_set_name) == (
            "/work/project", "first", "scheduled", False
        )
        assert got.conversation is None and got.message_count == 0 and got.last_activity is None
        assert store.get_session(session.id, include_messages=True).conversation == []

    def test_ids_are_never_reused(self, store: StoreDriver) -> None:
        first, second = store.create_session("/w"), store.create_session("/w")
        store.delete_session(second.id)
        third = store.create_session("/w")
        assert len({first.id, second.id, third.id}) == 3

    @pytest.mark.parametrize(
        "call",
        [
            lambda s, i: s.get_session(i), lambda s, i: s.add_message(i, _text("x")),
            lambda s, i: s.replace_conversation(i, []), lambda s, i: s.delete_session(i),
            lambda s, i: s.export_session(i), lambda s, i: s.copy_session(i, "c"),
            lambda s, i: s.truncate_conversation(i, 0), lambda s, i: s.update_session_name(i, "n"),
            lambda s, i: s.update_extension_data(i, {}), lambda s, i: s.update_token_stats(i, TokenStatsUpdate()),
            lambda s, i: s.update_provider_config(i, "p"), lambda s, i: s.update_recipe(i, None),
        ],
    )
    def test_unknown_session_is_not_found_and_nothing_is_written(self, store: StoreDriver, call: Any) -> None:
        with pytest.raises(SessionNotFound):
            call(store, "20000101_1")
        assert store.ids() == []

    def test_list_sessions_types_and_order(self, store: StoreDriver) -> None:
        made = {t: store.create_session("/w", t.value, t) for t in SessionType}
        store.update_session_name(made[SessionType.USER].id, "renamed")  # now the most recently updated
        listed = [s.id for s in store.list_sessions()]
        assert listed == [made[SessionType.USER].id, made[SessionType.SCHEDULED].id]  # empty sessions too
        by_type = store.list_sessions_by_types([SessionType.HIDDEN, "sub_agent"])
        assert [s.id for s in by_type] == [made[SessionType.HIDDEN].id, made[SessionType.SUB_AGENT].id]
        assert store.list_sessions_by_types([]) == []
        assert all(s.conversation is None for s in store.list_sessions_by_types(list(SessionType)))

    def test_delete_session_removes_its_messages(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.add_message(session.id, _text("ephemeral words"))
        store.delete_session(session.id)
        with pytest.raises(SessionNotFound):
            store.get_session(session.id)
        assert store.search_chat_history("ephemeral") == []

    def test_insights(self, store: StoreDriver) -> None:
        a, b, _ = (store.create_session("/w") for _ in range(3))
        store.update_token_stats(a.id, TokenStatsUpdate(total_tokens=10, accumulated_total=25))
        store.update_token_stats(b.id, TokenStatsUpdate(total_tokens=7))
        insights = store.get_insights()
        assert (insights.total_sessions, insights.total_tokens) == (3, 32)

    # -- messages -------------------------------------------------------------------------------------------
    def test_messages_round_trip_every_content_kind(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        parts = [
            MessageContent.of_text("hello"), MessageContent.of_image("aGk=", "image/png"),
            MessageContent.of_tool_request("call-1", "shell", {"cmd": "ls", "n": 0}),
            MessageContent.of_tool_response("call-1", [{"type": "text", "text": "ok"}]),
            MessageContent(type=ContentType.TOOL_CONFIRMATION_REQUEST, id="c", tool_name="rm", arguments={},
                           prompt=""),
            MessageContent(type=ContentType.ACTION_REQUIRED, data={"kind": "elicit"}),
            MessageContent(type=ContentType.FRONTEND_TOOL_REQUEST, id="f", tool_call={"status": "error"}),
            MessageContent.of_thinking("hmm", "sig"), MessageContent.of_redacted_thinking("xx"),
            MessageContent.of_system_notification("inlineMessage", "compacted"),
        ]
        message = Message(id="m1", role="assistant", created=T0, content=parts,
                          metadata=MessageMetadata(user_visible=True, agent_visible=False))
        hidden = Message(role="user", created=T0 + 1, content=[], metadata=MessageMetadata())
        store.add_message(session.id, message)
        store.add_message(session.id, hidden)
        got = store.get_session(session.id, include_messages=True)
        assert got.conversation == [message, hidden]
        assert [m.agent_visible for m in got.conversation] == [False, False]
        assert (got.message_count, got.last_activity) == (2, datetime.fromtimestamp(T0 + 1, UTC))

    def test_a_message_is_a_copy(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        message = _text("original")
        store.add_message(session.id, message)
        message.content[0].text = "changed"
        assert store.get_session(session.id, True).conversation[0].text == "original"

    def test_replace_conversation(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.add_message(session.id, _text("old"))
        store.replace_conversation(session.id, [_text("one", T0 + 5), _text("two", T0 + 3)])
        got = store.get_session(session.id, True)
        assert [m.text for m in got.conversation or []] == ["one", "two"]
        assert (got.message_count, got.last_activity) == (2, datetime.fromtimestamp(T0 + 5, UTC))
        assert store.search_chat_history("old") == []

    def test_truncate_removes_at_or_after(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.replace_conversation(session.id, [_text(str(i), T0 + i) for i in range(5)])
        store.truncate_conversation(session.id, T0 + 2)
        got = store.get_session(session.id, True)
        assert [m.text for m in got.conversation or []] == ["0", "1"]
        assert (got.message_count, got.last_activity) == (2, datetime.fromtimestamp(T0 + 1, UTC))

    # -- export, import, copy -------------------------------------------------------------------------------
    def _rich(self, store: StoreDriver) -> Any:
        session = store.create_session("/w", "rich", SessionType.SCHEDULED)
        store.update_session_name(session.id, "named", user_set=True)
        store.update_extension_data(session.id, {"todo.v0": {"items": ["a"]}})
        store.update_token_stats(session.id, TokenStatsUpdate(schedule_id="nightly", total_tokens=0,
                                                               accumulated_total=9, cached_input_tokens=3))
        store.update_provider_config(session.id, "openai", ModelConfig(model_name="gpt", temperature=0.0))
        store.update_recipe(session.id, Recipe(title="r", instructions=""), {"lang": "fr"})
        store.replace_conversation(session.id, [_text("hello there"), _text("general kenobi", T0 + 1, "assistant")])
        return store.get_session(session.id, True)

    def test_export_import_round_trip_with_a_new_id(self, store: StoreDriver) -> None:
        original = self._rich(store)
        exported = store.export_session(original.id)
        data = orjson.loads(exported)
        assert data["id"] == original.id and len(data["conversation"]) == 2 and data["total_tokens"] == 0
        imported = store.import_session(exported)
        assert imported.id != original.id
        again = store.get_session(imported.id, True)
        for field in ("name", "user_set_name", "session_type", "working_dir", "extension_data", "total_tokens",
                      "accumulated_total_tokens", "cached_input_tokens", "schedule_id", "recipe",
                      "user_recipe_values", "provider_name", "model_config", "conversation", "message_count"):
            assert getattr(again, field) == getattr(original, field), field

    def test_import_reads_the_legacy_description(self, store: StoreDriver) -> None:
        legacy = {"description": "from goose", "working_dir": "/w", "conversation": [
            {"role": "user", "created": T0, "content": [{"type": "text", "text": "hi"}],
             "metadata": {"userVisible": True, "agentVisible": True}}]}
        imported = store.import_session(orjson.dumps(legacy).decode())
        assert (imported.name, imported.message_count, imported.session_type) == ("from goose", 1, "user")

    @pytest.mark.parametrize("text", ["{not json", "[]", '{"conversation": {"a": 1}}', '{"session_type": "boss"}',
                                      '{"conversation": [{"role": "robot"}]}', '{"extension_data": {"nodot": 1}}'])
    def test_bad_imports_are_refused_and_write_nothing(self, store: StoreDriver, text: str) -> None:
        with pytest.raises(InvalidSessionData):
            store.import_session(text)
        assert store.ids() == []

    def test_oversized_import_is_refused(self, store: StoreDriver) -> None:
        with pytest.raises(InvalidSessionData, match="limit"):
            store.import_session(" " * (store.store.max_import_bytes + 1))
        assert store.ids() == []

    def test_copy_copies_what_the_seed_copies(self, store: StoreDriver) -> None:
        original = self._rich(store)
        copy = store.copy_session(original.id, "the copy")
        got = store.get_session(copy.id, True)
        assert (got.name, got.user_set_name, got.session_type, got.working_dir) == (
            "the copy", False, "scheduled", "/w"
        )
        for field in ("extension_data", "schedule_id", "recipe", "user_recipe_values", "conversation"):
            assert getattr(got, field) == getattr(original, field), field
        for field in ("total_tokens", "accumulated_total_tokens", "provider_name", "model_config"):
            assert getattr(got, field) is None, field

    # -- partial updates ------------------------------------------------------------------------------------
    def test_update_session_name(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.update_session_name(session.id, "chosen", user_set=True)
        got = store.get_session(session.id)
        assert (got.name, got.user_set_name) == ("chosen", True)
        store.update_session_name(session.id, "  trimmed  ", user_set=False)
        assert store.get_session(session.id).name == "trimmed"

    def test_a_blank_name_is_ignored(self, store: StoreDriver) -> None:
        """Seed behaviour (goose ``SessionUpdateBuilder::user_provided_name``): the name is trimmed and a blank
        one ignored; an update with nothing to set changes nothing, ``updated_at`` included."""
        session = store.create_session("/w", "kept")
        store.update_session_name(session.id, "kept", user_set=False)
        before = store.get_session(session.id)
        store.update_session_name(session.id, " \t ", user_set=True)
        assert store.get_session(session.id) == before

    def test_token_stats_leave_set_and_clear(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.update_token_stats(session.id, TokenStatsUpdate(total_tokens=5, input_tokens=3, schedule_id="s"))
        store.update_token_stats(session.id, TokenStatsUpdate(output_tokens=0, clear=["schedule_id"]))
        got = store.get_session(session.id)
        assert (got.total_tokens, got.input_tokens, got.output_tokens, got.schedule_id) == (5, 3, 0, None)
        with pytest.raises(InvalidSessionData):
            store.update_token_stats(session.id, TokenStatsUpdate(clear=["bogus"]))

    def test_provider_config_leave_versus_null(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        config = ModelConfig(model_name="m", context_limit=0, temperature=0.0)
        store.update_provider_config(session.id, "anthropic", config)
        store.update_provider_config(session.id, provider_name="openai")  # model_config left alone
        got = store.get_session(session.id)
        assert (got.provider_name, got.model_config) == ("openai", config)
        store.update_provider_config(session.id, model_config=None)  # set to null, provider left
        got = store.get_session(session.id)
        assert (got.provider_name, got.model_config) == ("openai", None)

    def test_recipe_leave_versus_null(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.update_recipe(session.id, Recipe(title="t"), {"k": "v"})
        store.update_recipe(session.id, user_recipe_values=None)
        got = store.get_session(session.id)
        assert (got.recipe, got.user_recipe_values) == (Recipe(title="t"), None)

    def test_extension_data_is_replaced_and_checked(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.update_extension_data(session.id, {"todo.v0": [1], "memory.v1": {"a": None}})
        store.update_extension_data(session.id, {"todo.v0": [2]})
        assert store.get_session(session.id).extension_data == {"todo.v0": [2]}
        for bad in ({"todo": 1}, {".v0": 1}, {"todo.": 1}, {"todo.v0": object()}):
            with pytest.raises(InvalidSessionData):
                store.update_extension_data(session.id, bad)
        assert store.get_session(session.id).extension_data == {"todo.v0": [2]}

    def test_every_write_bumps_updated_at(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        other = store.create_session("/w")
        writes: list[Callable[[str], Any]] = [
            lambda i: store.add_message(i, _text("a")), lambda i: store.replace_conversation(i, [_text("b")]),
            lambda i: store.truncate_conversation(i, T0 + 100), lambda i: store.update_session_name(i, "n"),
            lambda i: store.update_extension_data(i, {}), lambda i: store.update_token_stats(i, TokenStatsUpdate()),
            lambda i: store.update_provider_config(i), lambda i: store.update_recipe(i),
        ]
        last = store.get_session(session.id).updated_at
        for write in writes:
            write(session.id)
            now = store.get_session(session.id).updated_at
            assert now is not None and last is not None and now > last
            last = now
        assert store.list_sessions()[0].id == session.id != other.id

    def test_zero_values_are_kept_apart_from_null(self, store: StoreDriver) -> None:
        session = store.create_session("/w", "")
        store.update_token_stats(session.id, TokenStatsUpdate(total_tokens=0, schedule_id=""))
        store.update_provider_config(session.id, "", ModelConfig(temperature=0.0, max_tokens=0))
        got = store.get_session(session.id)
        assert (got.total_tokens, got.schedule_id, got.provider_name) == (0, "", "")
        assert got.model_config is not None and (got.model_config.temperature, got.model_config.max_tokens) == (0, 0)

    # -- bad input ------------------------------------------------------------------------------------------
    @pytest.mark.parametrize(
        "call",
        [
            lambda s, i: s.add_message(i, "not a message"),
            lambda s, i: s.add_message(i, Message(role="robot", created=T0)),
            lambda s, i: s.add_message(i, Message(role="user", created=T0, content=[MessageContent(type="video")])),
            lambda s, i: s.add_message(i, Message(role="user", created=10**15)),
            lambda s, i: s.replace_conversation(i, [_text("ok"), Message(role="user", created=NOT_AN_INT)]),
            lambda s, i: s.update_token_stats(i, TokenStatsUpdate(total_tokens=-1)),
            lambda s, i: s.update_token_stats(i, {"total_tokens": 1}),
            lambda s, i: s.update_provider_config(i, 42),
            lambda s, i: s.update_recipe(i, "recipe"),
            lambda s, i: s.update_recipe(i, user_recipe_values={"k": 1}),
            lambda s, i: s.update_session_name(i, "x\x00y"),
            lambda s, i: s.truncate_conversation(i, "yesterday"),
            lambda s, i: s.list_sessions_by_types(["boss"]),
            lambda s, i: s.create_session("/w", "n", "boss"),
            lambda s, i: s.create_session(42),
            lambda s, i: s.search_chat_history("x", limit=-1),
            lambda s, i: s.search_chat_history(42),
        ],
    )
    def test_bad_input_is_refused_and_writes_nothing(self, store: StoreDriver, call: Any) -> None:
        session = store.create_session("/w")
        store.add_message(session.id, _text("kept"))
        before = store.export_session(session.id)
        with pytest.raises(InvalidSessionData):
            call(store, session.id)
        assert store.export_session(session.id) == before
        assert store.ids() == [session.id]

    # -- search ---------------------------------------------------------------------------------------------
    def test_search_finds_a_message_as_soon_as_it_is_added(self, store: StoreDriver) -> None:
        session = store.create_session("/w", "s")
        for i in range(30):
            store.add_message(session.id, _text(f"filler message number {i}"))
            assert [m.message_content for m in store.search_chat_history(f"number {i}", mode="all")] == [
                f"filler message number {i}"
            ]
            assert store.search_chat_history(f"number {i}")[0].message_content == f"filler message number {i}"

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ('"deploy the"', ["deploy the release", "the deploy failed"]), ("deploy*", DEPLOY), ("-deploy OR", []),
            ("NEAR(deploy", []), ("near deploy", ["deploy is near"]), ("OR", ["this OR that"]),
            ("AND", []), ("release:", ["deploy the release"]), ("^deploy", DEPLOY), ("DEPLOY Déploy", DEPLOY),
            ("'; DROP TABLE sessions; --", []), ("*", []), ("", []), ("deploy-the", ["deploy the release"]),
            ("THE", ["deploy the release", "the deploy failed"]),
        ],
    )
    def test_queries_are_taken_literally(self, store: StoreDriver, query: str, found: list[str]) -> None:
        """All-words mode: every piece as whole adjacent words; no query text is syntax."""
        session = store.create_session("/w")
        for text in ("deploy the release", "the deploy failed", "deploy is near", "this OR that", "deployment"):
            store.add_message(session.id, _text(text))
        hits = store.search_chat_history(query, limit=20, mode="all")
        assert sorted(m.message_content for m in hits) == sorted(found)
        assert store.ids() == [session.id]

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("deploy", [*DEPLOY, "deployment"]), ("ment", ["deployment"]), ("release near", [DEPLOY[0], DEPLOY[2]]),
            ("OR", ["this OR that"]), ('"release"', [DEPLOY[0]]), ("-fail*", [DEPLOY[1]]),
            ("'; DROP TABLE sessions; --", []), ("*", []), ("", []), ("zz", []), ("a", [*DEPLOY, "this OR that"]),
            ("DÉPLOYMENT", ["deployment"]),
        ],
    )
    def test_any_word_search_is_the_seeds(self, store: StoreDriver, query: str, found: list[str]) -> None:
        """The default mode is the seed's search (goose/aster ``search_chat_history``): the query split on
        whitespace, any word found as a case-insensitive substring; punctuation is not searched for."""
        session = store.create_session("/w")
        for text in ("deploy the release", "the deploy failed", "deploy is near", "this OR that", "deployment"):
            store.add_message(session.id, _text(text))
        assert sorted(m.message_content for m in store.search_chat_history(query, limit=20)) == sorted(found)

    def test_any_word_search_is_newest_first_and_counts_words(self, store: StoreDriver) -> None:
        """Newest first (the seed orders by the message's time), ten by default; the score is the number of the
        query's words a message holds."""
        session = store.create_session("/w")
        for i in range(12):
            store.add_message(session.id, _text(f"alpha {i}" + (" gamma" if i == 3 else ""), T0 + i))
        hits = store.search_chat_history("alpha gamma")
        assert [h.message_content for h in hits] == [f"alpha {i}" + (" gamma" if i == 3 else "") for i in
                                                     range(11, 1, -1)]
        assert [h.relevance_score for h in hits] == [2.0 if "gamma" in h.message_content else 1.0 for h in hits]

    @pytest.mark.parametrize("mode", ["any", "all"])
    @pytest.mark.parametrize(
        ("text", "query"),
        [
            ("Straße", "strasse"), ("STRASSE", "straße"), ("ＦＵＬＬ width", "full"), ("full", "ＦＵＬＬ"),
            ("ﬁnal", "final"), ("final", "ﬁnal"), ("Ǆungla", "džungla"), ("ΣΊΣΥΦΟΣ", "σίσυφος"),
            ("İstanbul", "istanbul"), ("Crème Brûlée", "creme brulee"), ("Ⅻ chapters", "xii"), ("①", "1"),
        ],
    )
    def test_search_folds_text_as_every_store_does(self, store: StoreDriver, text: str, query: str,
                                                   mode: str) -> None:
        """Case, compatibility forms and accents fold alike in every store (``pluginkit.sessions.fold``)."""
        session = store.create_session("/w")
        store.add_message(session.id, _text(text))
        store.add_message(session.id, _text("unrelated"))
        assert [m.message_content for m in store.search_chat_history(query, mode=mode)] == [text]

    def test_an_unknown_search_mode_is_refused(self, store: StoreDriver) -> None:
        with pytest.raises(InvalidSessionData):
            store.search_chat_history("x", mode="some")

    def test_search_ignores_case_and_accents(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.add_message(session.id, _text("Café CRÈME"))
        assert len(store.search_chat_history("cafe creme")) == 1

    def test_search_ranks_and_describes_matches(self, store: StoreDriver) -> None:
        session = store.create_session("/w", "chat")
        store.add_message(session.id, _text("kiwi " * 3 + "banana", T0, "assistant"))
        store.add_message(session.id, _text("kiwi and lots of other words here to dilute it", T0 + 1))
        hits = store.search_chat_history("kiwi", mode="all")
        assert [h.message_content.startswith("kiwi kiwi") for h in hits] == [True, False]
        assert hits[0].relevance_score >= hits[1].relevance_score
        assert (hits[0].session_id, hits[0].session_name, hits[0].message_role, hits[0].timestamp) == (
            session.id, "chat", "assistant", datetime.fromtimestamp(T0, UTC)
        )

    def test_search_filters(self, store: StoreDriver) -> None:
        a, b = store.create_session("/w"), store.create_session("/w")
        for i in range(6):
            store.add_message(a.id if i % 2 else b.id, _text(f"needle {i}", T0 + i))

        def when(seconds: float) -> datetime:
            return datetime.fromtimestamp(T0 + seconds, UTC)

        def found(**filters: Any) -> list[str]:
            return sorted(m.message_content for m in store.search_chat_history("needle", **filters))

        assert found(after_date=when(4)) == ["needle 4", "needle 5"]
        assert found(before_date=when(1)) == ["needle 0", "needle 1"]
        assert found(after_date=when(1.5), before_date=when(3)) == ["needle 2", "needle 3"]
        assert found(exclude_session_id=a.id) == ["needle 0", "needle 2", "needle 4"]
        assert len(store.search_chat_history("needle", limit=4)) == 4
        assert len(store.search_chat_history("needle")) == 6
        assert found(after_date=when(5), before_date=when(0)) == []

    def test_search_only_reads_text_parts(self, store: StoreDriver) -> None:
        session = store.create_session("/w")
        store.add_message(session.id, Message(role="assistant", created=T0, content=[
            MessageContent.of_thinking("secretword"), MessageContent.of_tool_request("1", "secretword", {}),
            MessageContent.of_text("visible"),
        ]))
        assert store.search_chat_history("secretword") == []
        assert [m.message_content for m in store.search_chat_history("visible")] == ["visible"]

    # -- concurrency and the facade -------------------------------------------------------------------------
    def test_concurrent_writers_lose_nothing(self, store: StoreDriver) -> None:
        session = store.create_session("/w")

        async def many() -> None:
            await asyncio.gather(*(store.store.add_message(session.id, _text(f"m{i}", T0 + i)) for i in range(40)))

        store.runner.run(many())
        got = store.get_session(session.id, True)
        assert got.message_count == 40 and sorted(m.text for m in got.conversation or []) == sorted(
            f"m{i}" for i in range(40)
        )

    def test_sync_facade(self, store: StoreDriver) -> None:
        facade = SyncSessionStore(store.store, owns_store=False)
        try:
            session = facade.create_session("/w", "sync")
            facade.add_message(session.id, _text("from a thread"))
            assert facade.get_session(session.id).message_count == 1
            assert [m.message_content for m in facade.search_chat_history("thread")] == ["from a thread"]
        finally:
            facade.close()

    # -- random sequences -----------------------------------------------------------------------------------
    def test_random_sequences_match_the_model(self, store: StoreDriver, request: pytest.FixtureRequest) -> None:
        from pluginkit.testing._stateful import run_stateful_contract  # deferred: hypothesis is slow to import

        examples = int(request.config.getoption("pluginkit_examples"))
        shrink = not request.config.getoption("pluginkit_no_shrink")
        derandomize = bool(request.config.getoption("pluginkit_derandomize"))
        run_stateful_contract(
            store.store, max_examples=examples, steps=25, runner=store.runner, shrink=shrink, derandomize=derandomize
        )
