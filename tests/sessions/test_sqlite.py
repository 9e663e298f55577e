"""The SQLite store: the conformance kit, then what only a file shared by processes can show — two writers at
once, a writer killed with SIGKILL, a lock held by another process, the event loop left free, migrations."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pluginkit.sessions import (
    Message,
    SessionStoreBusy,
    SessionStoreError,
    SqliteSessionStore,
    default_sessions_path,
)
from pluginkit.sessions import _sqlite_schema as schema


@pytest.fixture
def pluginkit_session_store(tmp_path: Path) -> Iterator[SqliteSessionStore]:
    store = SqliteSessionStore(tmp_path / "sessions.db")
    yield store
    store.close()


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


WRITER = """
    import asyncio, sys, time
    from pluginkit.sessions import Message, SqliteSessionStore

    path, name, shared, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

    async def main():
        store = SqliteSessionStore(path)
        own = await store.create_session("/w", name)
        while time.time() < start:
            await asyncio.sleep(0.001)
        for i in range(300):
            await store.add_message(shared, Message.user(f"{name}word{i} shared", created=i))
            await store.add_message(own.id, Message.user(f"{name}own{i}", created=i))
            if i % 100 == 50:  # a long write holds the lock while the other process keeps writing
                batch = [Message.user(f"{name}batch{j}", created=j) for j in range(500)]
                other = await store.create_session("/w", name + "-batch")
                await store.replace_conversation(other.id, batch)
        await store.aclose()
        print(own.id)

    asyncio.run(main())
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    store = SqliteSessionStore(path).sync()
    shared = store.create_session("/w", "shared")
    start = str(time.time() + 1.0)
    writers = [_python(WRITER, str(path), name, shared.id, start) for name in ("a", "b")]
    outputs = [w.communicate(timeout=120) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err
    got = store.get_session(shared.id, include_messages=True)
    assert got.message_count == 600 == len(got.conversation or [])
    texts = {m.text for m in got.conversation or []}
    assert texts == {f"{n}word{i} shared" for n in "ab" for i in range(300)}
    for name, (out, _) in zip("ab", outputs, strict=True):
        own = store.get_session(out.strip(), include_messages=True)
        assert own.message_count == 300 == len(own.conversation or [])
        assert len(store.search_chat_history(f"{name}word299")) == 1
        batches = [s for s in store.list_sessions() if s.name == f"{name}-batch"]
        assert [s.message_count for s in batches] == [500, 500, 500]
    assert len(store.search_chat_history("shared", limit=1000)) == 600
    store.close()


KILLED = """
    import asyncio, sys
    from pluginkit.sessions import Message, SqliteSessionStore

    async def main():
        store = SqliteSessionStore(sys.argv[1])
        session = await store.create_session("/w", "victim")
        print(session.id, flush=True)
        i = 0
        while True:
            await store.add_message(session.id, Message.user(f"committed{i} " + "pad " * 50, created=i))
            print(i, flush=True)  # printed only once add_message returned: the message is committed
            i += 1
            if i % 200 == 0:  # large writes too, so that the kill may land inside one
                await store.replace_conversation(
                    (await store.create_session("/w", "bulk")).id,
                    [Message.assistant(f"bulk{j}", created=j) for j in range(2000)],
                )

    asyncio.run(main())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_keeps_the_database_sound(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    for round_ in range(3):
        child = _python(KILLED, str(path))
        assert child.stdout is not None
        session_id = child.stdout.readline().strip()
        committed = []
        deadline = time.monotonic() + 60
        while len(committed) < 150 + 170 * round_ and time.monotonic() < deadline:
            committed.append(int(child.stdout.readline()))
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        assert child.stderr is not None
        child.stderr.close()

        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
        conn.close()
        store = SqliteSessionStore(path).sync()
        got = store.get_session(session_id, include_messages=True)
        texts = {m.text.split()[0] for m in got.conversation or []}
        assert {f"committed{i}" for i in committed} <= texts
        assert got.message_count == len(got.conversation or [])
        last = committed[-1]
        assert [m.message_content.split()[0] for m in store.search_chat_history(f"committed{last}")] == [
            f"committed{last}"
        ]
        store.close()


HOLDER = """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
"""


def test_a_lock_held_by_another_process_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "held.db"

    async def scenario() -> None:
        store = SqliteSessionStore(path)
        session = await store.create_session("/w")
        holder = _python(HOLDER, str(path), "1.0")
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        gaps: list[float] = []

        async def heartbeat() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        started = time.perf_counter()
        await store.add_message(session.id, Message.user("after the lock"))
        waited = time.perf_counter() - started
        beat.cancel()
        holder.communicate(timeout=30)
        assert waited > 0.5  # it did wait for the other process …
        assert max(gaps) < 0.25  # … on a thread: the loop kept running
        assert (await store.get_session(session.id)).message_count == 1
        await store.aclose()

    asyncio.run(scenario())


def test_a_lock_held_too_long_is_a_retryable_busy_error_not_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = SqliteSessionStore(path, lock_timeout=0.3).sync()
    session = store.create_session("/w")
    holder = _python(HOLDER, str(path), "2.0")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(SessionStoreBusy) as caught:
        store.add_message(session.id, Message.user("too late"))
    assert caught.value.code == "timeout" and caught.value.retryable
    assert "locked by another process" in str(caught.value)
    holder.communicate(timeout=30)
    assert store.get_session(session.id).message_count == 0
    store.close()


def test_large_operations_leave_the_event_loop_free(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SqliteSessionStore(tmp_path / "big.db")
        session = await store.create_session("/w")
        conversation = [Message.user(f"message {i} " + "words " * 20, created=i) for i in range(30_000)]
        gaps: list[float] = []
        done = False

        async def heartbeat() -> None:
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        started = time.perf_counter()
        await store.replace_conversation(session.id, conversation)
        exported = await store.export_session(session.id)
        await store.import_session(exported)
        assert len(await store.search_chat_history("message 29999", mode="all")) == 2
        took = time.perf_counter() - started
        done = True
        await beat
        assert took > 0.5 and max(gaps) < took / 5, (took, max(gaps))
        await store.aclose()

    asyncio.run(scenario())


def test_the_default_file_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGINKIT_SESSIONS_DB", raising=False)
    monkeypatch.setenv("PLUGINKIT_DATA_DIR", str(tmp_path / "data"))
    assert default_sessions_path() == tmp_path / "data" / "sessions" / "sessions.db"
    monkeypatch.setenv("PLUGINKIT_SESSIONS_DB", str(tmp_path / "explicit.db"))
    store = SqliteSessionStore().sync()
    store.create_session("/w")
    assert (tmp_path / "explicit.db").exists()
    store.close()


def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = SqliteSessionStore(tmp_path / "closed.db")
    facade = store.sync()
    facade.create_session("/w")
    facade.close()
    store.close()  # idempotent
    with pytest.raises(SessionStoreError, match="closed"):
        asyncio.run(store.list_sessions())


# -- migrations ----------------------------------------------------------------------------------------------


def _old_database(path: Path, version: int) -> None:
    """A database written by an older pluginkit: schema ``version``, two sessions, three messages."""
    conn = sqlite3.connect(path, isolation_level=None)
    schema.configure(conn)
    schema.migrate(conn, target=version)
    now = int(time.time() * 1_000_000)
    day = time.strftime("%Y%m%d", time.gmtime())
    for n in (1, 4):
        conn.execute(
            "INSERT INTO sessions (id, name, working_dir, created_at, updated_at) VALUES (?, ?, '/old', ?, ?)",
            (f"{day}_{n}", f"old {n}", now, now),
        )
    for i, text in enumerate(["legacy hello", "legacy world", "another legacy line"]):
        message = Message.user(text, created=1_700_000_000 + i)
        from pluginkit.sessions.sql import encode_message

        conn.execute(
            "INSERT INTO messages (session_id, role, created, message_json) VALUES (?, 'user', ?, ?)",
            (f"{day}_1", message.created, encode_message(message)),
        )
    if version >= 3:  # that version kept the counts on the session row
        conn.execute(
            "UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE session_id = sessions.id), "
            "last_activity = (SELECT max(created) FROM messages WHERE session_id = sessions.id)"
        )
    if version >= 5:  # that version counted ids per day as it created sessions
        conn.execute("INSERT INTO session_ids (day, last) VALUES (?, 4)", (day,))
    if 4 <= version <= 5:  # those versions indexed the text as FTS5 folded it, in a contentless index
        conn.execute(
            f"INSERT INTO messages_fts (rowid, search_text) SELECT id, {schema.text_sql('message_json')} FROM messages"
        )
        conn.execute("UPDATE fts_state SET indexed_upto = (SELECT max(id) FROM messages)")
    conn.close()


@pytest.mark.parametrize("version", [1, 2, 3, 5])
def test_an_older_schema_is_migrated_in_place(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.db"
    _old_database(path, version)
    store = SqliteSessionStore(path).sync()
    day = time.strftime("%Y%m%d", time.gmtime())
    old = store.get_session(f"{day}_1", include_messages=True)
    assert (old.message_count, [m.text for m in old.conversation or []]) == (
        3, ["legacy hello", "legacy world", "another legacy line"]
    )
    assert old.last_activity is not None and old.provider_name is None
    assert sorted(m.message_content for m in store.search_chat_history("legacy")) == [
        "another legacy line", "legacy hello", "legacy world"
    ]
    assert store.create_session("/new").id == f"{day}_5"  # the id counter starts after the old ids
    store.add_message(old.id, Message.user("new legacy"))
    assert len(store.search_chat_history("legacy")) == 4
    assert len(store.search_chat_history("legacy", mode="all")) == 4
    store.delete_session(old.id)  # the re-indexed messages leave both indexes
    assert store.search_chat_history("legacy") == store.search_chat_history("legacy", mode="all") == []
    store.close()
    conn = sqlite3.connect(path)
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m[0] for m in schema.MIGRATIONS]
    conn.close()


def test_a_failing_migration_leaves_the_previous_version_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "half.db"
    _old_database(path, 2)
    broken = (*schema.MIGRATIONS[:3], (4, "broken", ("CREATE TABLE half_done (x)", "THIS IS NOT SQL")))
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "LATEST", 4)
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn)
    assert schema.schema_version(conn) == 2
    assert conn.execute("SELECT name FROM sqlite_master WHERE name IN ('half_done', 'messages_fts')").fetchall() == []
    assert conn.execute("SELECT count(*) FROM messages").fetchone() == (3,)
    conn.close()


def test_a_newer_database_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    _old_database(path, schema.LATEST)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2099-01-01T00:00:00Z')")
    conn.close()
    store = SqliteSessionStore(path).sync()
    with pytest.raises(SessionStoreError, match="schema version 99, newer"):
        store.list_sessions()
    store.close()


def test_background_indexing_and_checkpoints_run_without_any_search(tmp_path: Path) -> None:
    path = tmp_path / "idle.db"

    async def scenario() -> None:
        store = SqliteSessionStore(path)
        await store.list_sessions()  # opened by a reader: every write below can run inline
        session = await store.create_session("/w")
        for i in range(1200):
            await store.add_message(session.id, Message.user(f"message {i}", created=i))
        deadline = time.monotonic() + 10
        conn = sqlite3.connect(path)
        while time.monotonic() < deadline:
            indexed, newest = conn.execute(
                "SELECT indexed_upto, (SELECT max(id) FROM messages) FROM fts_state"
            ).fetchone()
            if indexed == newest:
                break
            await asyncio.sleep(0.02)
        assert indexed == newest
        conn.close()
        await store.aclose()

    asyncio.run(scenario())
    assert not os.path.exists(f"{path}-wal")  # checkpointed and removed when the last connection closed


def test_flush_finishes_the_background_work(tmp_path: Path) -> None:
    path = tmp_path / "flush.db"

    async def scenario() -> None:
        store = SqliteSessionStore(path)
        session = await store.create_session("/w")
        await store.replace_conversation(session.id, [Message.user(f"row {i}", created=i) for i in range(3000)])
        await store.flush()
        conn = sqlite3.connect(path)
        indexed, newest = conn.execute(
            "SELECT indexed_upto, (SELECT max(id) FROM messages) FROM fts_state"
        ).fetchone()
        assert indexed == newest
        log_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1:]
        assert log_frames == checkpointed  # nothing left for this checkpoint: flush checkpointed everything
        conn.close()
        await store.aclose()

    asyncio.run(scenario())
