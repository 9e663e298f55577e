"""The SQLite store's schema, as numbered migrations recorded in the database.

Opening a database applies the missing migrations in order, all in one ``BEGIN IMMEDIATE`` transaction
(SQLite's DDL is transactional): a process killed half-way leaves the previous version intact, and two
processes opening the same file at once apply them once. A database newer than this code is refused with a
clear error rather than misread. Each applied version is a row of ``schema_migrations``.
"""

from __future__ import annotations

import sqlite3
import time

from pluginkit.sessions._errors import SessionStoreError

__all__ = ["LATEST", "MIGRATIONS", "configure", "migrate", "schema_version", "text_sql"]

def text_sql(column: str) -> str:
    """SQL computing a message's searchable text from its JSON: its text parts joined by newlines (what
    :attr:`Message.text <pluginkit.sessions.Message.text>` gives)."""
    return (
        "coalesce((SELECT group_concat(json_extract(part.value, '$.text'), char(10)) "
        f"FROM json_each({column}, '$.content') AS part WHERE json_extract(part.value, '$.type') = 'text' "
        "AND coalesce(json_extract(part.value, '$.text'), '') != ''), '')"
    )


#: (version, name, statements). Never edit a released migration: add one.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "sessions and messages", (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            user_set_name INTEGER NOT NULL DEFAULT 0,
            session_type TEXT NOT NULL DEFAULT 'user',
            working_dir TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            extension_data TEXT NOT NULL DEFAULT '{}',
            total_tokens INTEGER, input_tokens INTEGER, output_tokens INTEGER,
            accumulated_total_tokens INTEGER, accumulated_input_tokens INTEGER, accumulated_output_tokens INTEGER,
            schedule_id TEXT, recipe_json TEXT, user_recipe_values_json TEXT
        )""",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            created INTEGER NOT NULL,
            message_json TEXT NOT NULL
        )""",
        "CREATE INDEX messages_by_session ON messages(session_id, id)",
        "CREATE INDEX sessions_by_type ON sessions(session_type)",
    )),
    (2, "provider configuration and cached tokens", (
        "ALTER TABLE sessions ADD COLUMN provider_name TEXT",
        "ALTER TABLE sessions ADD COLUMN model_config_json TEXT",
        "ALTER TABLE sessions ADD COLUMN cached_input_tokens INTEGER",
        "ALTER TABLE sessions ADD COLUMN cache_creation_input_tokens INTEGER",
    )),
    (3, "message count and last activity on the session row", (
        "ALTER TABLE sessions ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN last_activity INTEGER",
        """UPDATE sessions SET
            message_count = (SELECT count(*) FROM messages WHERE session_id = sessions.id),
            last_activity = (SELECT max(created) FROM messages WHERE session_id = sessions.id)""",
    )),
    (4, "full-text search", (
        # Contentless: the indexed text is derived from message_json by TEXT_SQL (never stored twice), and the
        # same expression gives FTS5 the exact text back when a message is deleted.
        """CREATE VIRTUAL TABLE messages_fts USING fts5(
            search_text, content='', tokenize='unicode61 remove_diacritics 2'
        )""",
        # Messages with an id up to ``indexed_upto`` are in messages_fts; newer ones are indexed in batches.
        "CREATE TABLE fts_state (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_upto INTEGER NOT NULL)",
        "INSERT INTO fts_state (id, indexed_upto) VALUES (1, 0)",
        f"""CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
            WHEN old.id <= (SELECT indexed_upto FROM fts_state)
            BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, search_text)
                SELECT 'delete', old.id, text FROM (SELECT {text_sql("old.message_json")} AS text) WHERE text != '';
            END""",
    )),
    (5, "session id counters", (
        # The seed's ids are YYYYMMDD_N; counting per day here (not max+1) means a deleted id is never reused.
        "CREATE TABLE session_ids (day TEXT PRIMARY KEY, last INTEGER NOT NULL)",
        """INSERT INTO session_ids (day, last)
            SELECT substr(id, 1, 8), max(CAST(substr(id, 10) AS INTEGER)) FROM sessions
            WHERE id GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]_[0-9]*' GROUP BY substr(id, 1, 8)""",
    )),
    (6, "search over folded text: whole words, and substrings through the vocabulary", (
        # FTS5's own case folding disagrees with PostgreSQL's and Python's on ß, full-width forms and ligatures:
        # the text is folded once, in Python (pluginkit.sessions.fold), kept in message_text, and the word index
        # reads it from there (external content). The seed's any-word substring search looks a term up in the
        # vocabulary of indexed words (trigrams of ~30 000 words, not of every message), then in the word index;
        # a term inside many words is common, and found faster newest-first through messages_by_created.
        # Every message is indexed again from the start.
        "DROP TRIGGER messages_fts_delete",
        "DROP TABLE messages_fts",
        "CREATE TABLE message_text (id INTEGER PRIMARY KEY, folded TEXT NOT NULL)",
        """CREATE VIRTUAL TABLE messages_fts USING fts5(
            folded, content='message_text', content_rowid='id', tokenize='unicode61 remove_diacritics 0'
        )""",
        "CREATE TABLE vocabulary (id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE)",
        """CREATE VIRTUAL TABLE vocabulary_trigram USING fts5(
            word, content='vocabulary', content_rowid='id', tokenize='trigram'
        )""",
        "CREATE INDEX messages_by_created ON messages(created, id)",
        "UPDATE fts_state SET indexed_upto = 0",
        """CREATE TRIGGER message_text_delete AFTER DELETE ON messages
            WHEN old.id <= (SELECT indexed_upto FROM fts_state)
            BEGIN
                INSERT INTO messages_fts (messages_fts, rowid, folded)
                SELECT 'delete', id, folded FROM message_text WHERE id = old.id;
                DELETE FROM message_text WHERE id = old.id;
            END""",
    )),
)

#: The version this code writes.
LATEST = MIGRATIONS[-1][0]

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL
)"""


def configure(conn: sqlite3.Connection, *, busy_ms: int = 0) -> None:
    """The settings every connection gets: WAL (readers never wait for the writer), ``synchronous=NORMAL``
    (a commit is durable against a crash of the process; checkpoints fsync), foreign keys, and no automatic
    checkpoints — the store runs them on its own writer thread, never on a caller's event loop."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("PRAGMA journal_size_limit=67108864")  # a checkpointed WAL shrinks back to 64 MiB at most
    conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")


def schema_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied to the database (0 for a new or foreign file)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> list[int]:
    """Bring the database to ``target`` (default: the latest version) in one transaction; returns the versions
    applied. ``conn`` must be in autocommit mode (``isolation_level=None``)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_LEDGER)
        current = schema_version(conn)
        if current > LATEST:
            raise SessionStoreError(
                "invalid_config",
                f"the session database is at schema version {current}, newer than this pluginkit knows "
                f"({LATEST}); upgrade pluginkit to open it",
            )
        applied = []
        for version, name, statements in MIGRATIONS:
            if current < version <= target:
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
                )
                applied.append(version)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied
