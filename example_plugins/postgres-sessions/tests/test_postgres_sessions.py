"""The PostgreSQL example plugin: the conformance kit against a real server, migrations, the GIN index, and
loading through its ``pluginkit`` entry point.

Each run works in a schema of its own, dropped afterwards. Where no server answers, the tests skip and say why
— except when ``CI=true``, where a missing server is a failure. The server is ``$PLUGINKIT_TEST_POSTGRES`` (a
libpq connection string), by default ``host=127.0.0.1 port=5432 user=postgres dbname=test``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pluginkit
from pluginkit.sessions import Message, PluginSessionStore, SessionStoreUnavailable, open_session_store

DSN = os.environ.get("PLUGINKIT_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test")
IN_CI = os.environ.get("CI", "").lower() == "true"

SOURCE = str(Path(__file__).resolve().parents[1] / "src")  # this plugin's own source


def _unavailable() -> str | None:
    """Why the tests cannot run here, or None."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers at {DSN!r}: {str(exc).strip().splitlines()[0]}"
    return None


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """The server's connection string, with the plugin's source importable for the module's tests only (its
    build leaves metadata there, which discovery would otherwise find for every later test)."""
    reason = _unavailable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    sys.path.insert(0, SOURCE)
    try:
        yield DSN
    finally:
        sys.path.remove(SOURCE)


def _store(dsn: str, schema: str, **options: Any) -> Any:
    from pluginkit_postgres_sessions import PostgresSessionStore

    return PostgresSessionStore(dsn, schema=schema, **options)


@pytest.fixture(scope="module")
def shared_store(postgres: str) -> Iterator[Any]:
    """One schema for the module's run (the kit empties the store before each test), dropped afterwards."""
    store = _store(postgres, f"pk_test_{uuid.uuid4().hex[:12]}")
    yield store
    store.drop_schema()
    asyncio.run(store.aclose())


@pytest.fixture
def pluginkit_session_store(shared_store: Any) -> Any:
    return shared_store


def test_migrations_are_recorded_and_run_once_across_replicas(postgres: str) -> None:
    import psycopg

    schema = f"pk_test_{uuid.uuid4().hex[:12]}"
    replicas = [_store(postgres, schema) for _ in range(4)]
    errors: list[BaseException] = []

    def start(store: Any) -> None:
        try:
            store._open()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(store,)) for store in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with psycopg.connect(postgres) as conn:
            rows = conn.execute(f"SELECT version, name FROM {schema}.schema_migrations").fetchall()
        assert rows == [(1, "sessions, messages and full-text search"), (2, "substring search")]
    finally:
        replicas[0].drop_schema()
        for store in replicas:
            asyncio.run(store.aclose())


def test_search_uses_the_gin_index(shared_store: Any) -> None:
    asyncio.run(shared_store.list_sessions())
    with shared_store._open().connection() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN SELECT id FROM messages WHERE tsv @@ phraseto_tsquery('simple', 'needle')"
        ))
    assert "messages_search" in plan


def test_an_unreachable_server_is_a_retryable_unavailable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"CI=true requires psycopg: {exc}")
        pytest.skip(f"psycopg is not installed ({exc})")
    monkeypatch.syspath_prepend(SOURCE)
    store = _store("host=127.0.0.1 port=1 connect_timeout=1", "pk_never", connect_timeout=1.0)

    async def scenario() -> None:
        with pytest.raises(SessionStoreUnavailable) as caught:
            await store.list_sessions()
        assert caught.value.retryable and caught.value.code == "plugin_unavailable"
        await store.aclose()

    asyncio.run(scenario())


def test_the_installed_plugin_is_the_hosts_session_store(postgres: str, on_path: Path) -> None:
    schema = f"pk_test_{uuid.uuid4().hex[:12]}"
    config = {
        "pluginkit": {"load": ["postgres-sessions"]},
        "plugins": {"postgres-sessions": {"dsn": postgres, "schema": schema, "pool_size": 2}},
    }
    manager = pluginkit.PluginManager(config, search_path=[str(on_path)])
    try:
        store = open_session_store(manager)
        assert isinstance(store, PluginSessionStore)
        info = manager.plugin("postgres-sessions")
        assert (info.state.value, info.capabilities, info.distribution.replace("_", "-")) == (
            "active", ("session_store",), "pluginkit-postgres-sessions"
        )

        async def scenario() -> None:
            session = await store.create_session("/replica", "through the entry point")
            await store.add_message(session.id, Message.user("stored in postgres"))
            assert [m.message_content for m in await store.search_chat_history("postgres")] == ["stored in postgres"]

        asyncio.run(scenario())
    finally:
        from pluginkit_postgres_sessions import PostgresSessionStore

        PostgresSessionStore(postgres, schema=schema).drop_schema()
        manager.shutdown()
