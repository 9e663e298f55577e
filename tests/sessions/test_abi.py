"""The ``session.*`` ABI family: the table, a store served by a plugin (the whole conformance kit through
``PluginManager``), store selection, and the JSON path through ``invoke``."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pluginkit
from pluginkit import abi, wire
from pluginkit.sessions import (
    InMemorySessionStore,
    PluginSessionStore,
    SessionNotFound,
    SessionStore,
    SessionStorePlugin,
    SqliteSessionStore,
    open_session_store,
)
from pluginkit.sessions._contract import METHOD_NAMES
from pluginkit.sessions._operations import OPERATIONS

SEED_METHODS = [
    "create_session", "get_session", "add_message", "replace_conversation", "list_sessions",
    "list_sessions_by_types", "delete_session", "get_insights", "export_session", "import_session",
    "copy_session", "truncate_conversation", "update_session_name", "update_extension_data",
    "update_token_stats", "update_provider_config", "update_recipe", "search_chat_history",
]


@pytest.fixture
def pluginkit_session_store(tmp_path: Path) -> Iterator[PluginSessionStore]:
    """The SQLite store served by a plugin, used through the ABI: the conformance kit runs on the adapter."""
    manager = pluginkit.PluginManager(entry_points=False)
    manager.register(SessionStorePlugin(lambda config: SqliteSessionStore(config["path"])), "sqlite-sessions",
                     settings={"path": str(tmp_path / "served.db")})
    yield PluginSessionStore(manager)
    manager.shutdown()


def test_the_contract_has_the_seed_methods_in_order() -> None:
    assert list(METHOD_NAMES) == SEED_METHODS
    assert [m for m in abi.METHODS if m.startswith("session.")] == [f"session.{name}" for name in SEED_METHODS]


def test_each_entry_is_single_owner_with_the_capability_and_the_contract_docs() -> None:
    for op in OPERATIONS:
        method = abi.get(op.abi_name)
        assert (method.combine, method.owner, method.capability) == (abi.Combine.SINGLE_OWNER, "priority",
                                                                      "session_store")
        documented = inspect.cleandoc(getattr(SessionStore, op.name).__doc__)
        assert (method.summary + "\n\n" + method.doc).replace("\n", " ").startswith(documented.replace("\n", " "))
        for cls in (method.params, method.result):
            assert wire.to_wire(cls()) == {}, f"{cls.__name__}: every field must default to its zero value"


def test_params_fields_are_the_method_parameters() -> None:
    for op in OPERATIONS:
        arguments = [a for a in inspect.signature(getattr(SessionStore, op.name)).parameters if a != "self"]
        assert [f.name for f in attrs.fields(op.params) if f.name != "clear"] == arguments


def test_invoke_with_json_reaches_the_plugin_store(tmp_path: Path) -> None:
    with pluginkit.PluginManager(entry_points=False) as manager:
        manager.register(SessionStorePlugin(SqliteSessionStore(tmp_path / "s.db")), "store")
        created = manager.invoke("session.create_session", {"working_dir": "/w", "name": "json"})
        assert created.ok, created.error
        session_id = created.result.id
        added = manager.invoke("session.add_message", {"session_id": session_id, "message": {
            "role": "user", "created": 1700000000, "content": [{"type": "text", "text": "hello json"}]}})
        assert added.ok
        found = manager.invoke("session.search_chat_history", '{"query": "json"}').to_wire()
        assert found["result"]["matches"][0]["message_content"] == "hello json"
        missing = manager.invoke("session.get_session", {"id": "19990101_1"})
        assert (missing.error.code, missing.error.http_status) == ("not_found", 404)
        cleared = manager.invoke("session.update_provider_config", {"session_id": session_id, "provider_name": "x"})
        assert cleared.ok
        manager.invoke("session.update_provider_config", {"session_id": session_id, "clear": ["provider_name"]})
        assert manager.call("session.get_session", {"id": session_id}).provider_name is None


def test_without_a_store_plugin_session_calls_are_not_handled() -> None:
    with pluginkit.PluginManager(entry_points=False) as manager:
        assert manager.invoke("session.list_sessions").error.code == "not_handled"


def test_open_session_store_prefers_the_host_then_a_plugin_then_sqlite(tmp_path: Path) -> None:
    given = InMemorySessionStore()
    assert open_session_store(store=given) is given
    with pluginkit.PluginManager(entry_points=False) as manager:
        default = open_session_store(manager, path=tmp_path / "default.db")
        assert isinstance(default, SqliteSessionStore) and default.path == tmp_path / "default.db"
        default.close()
        manager.register(SessionStorePlugin(InMemorySessionStore()), "memory")
        assert isinstance(open_session_store(manager), PluginSessionStore)


def test_a_pinned_plugin_and_errors_come_back_as_the_same_classes(tmp_path: Path) -> None:
    import asyncio

    with pluginkit.PluginManager(entry_points=False) as manager:
        manager.register(SessionStorePlugin(InMemorySessionStore()), "low", priority=1)
        manager.register(SessionStorePlugin(InMemorySessionStore()), "high", priority=5)

        async def scenario() -> None:
            low, high = PluginSessionStore(manager, "low"), PluginSessionStore(manager)
            session = await low.create_session("/w")
            assert [s.id for s in await low.list_sessions()] == [session.id]
            assert await high.list_sessions() == []  # the highest priority plugin answers unpinned calls
            with pytest.raises(SessionNotFound):
                await high.get_session(session.id)

        asyncio.run(scenario())


def test_the_plugin_store_is_built_lazily_and_closed_at_shutdown(tmp_path: Path) -> None:
    built: list[SqliteSessionStore] = []

    def factory(config: dict[str, object]) -> SqliteSessionStore:
        built.append(SqliteSessionStore(tmp_path / "lazy.db"))
        return built[-1]

    manager = pluginkit.PluginManager(entry_points=False)
    info = manager.register(SessionStorePlugin(factory), "lazy")
    assert info.capabilities == ("session_store",) and not info.problems and built == []
    manager.call("session.get_insights")
    assert len(built) == 1
    manager.shutdown()
    assert built[0]._closed
