"""The PostgreSQL store's schema, as numbered migrations recorded in ``<schema>.schema_migrations``.

All pending migrations run in one transaction (PostgreSQL's DDL is transactional) after taking an advisory
lock on the schema's name, so replicas starting at the same moment migrate once and never half-way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from pluginkit.sessions import SessionStoreError

__all__ = ["LATEST", "MIGRATIONS", "migrate"]

def _substring_index(conn: psycopg.Connection[Any]) -> None:
    """A trigram index on the folded words, for the seed's any-word substring search (``LIKE '%term%'``).

    pg_trgm is installed once per database, in whichever schema was current then: its operator class is named
    with that schema, and the creation is serialised across stores of every schema.
    """
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('pluginkit-sessions:pg_trgm'))")
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).fetchone()
    assert row is not None  # created just above
    conn.execute(
        sql.SQL("CREATE INDEX messages_substring ON messages USING gin (search_words {}.gin_trgm_ops)").format(
            sql.Identifier(str(row[0]))
        )
    )


Statement = str | Callable[[psycopg.Connection[Any]], None]

#: (version, name, statements). Never edit a released migration: add one.
MIGRATIONS: tuple[tuple[int, str, tuple[Statement, ...]], ...] = (
    (1, "sessions, messages and full-text search", (
        """CREATE TABLE sessions (
            id text PRIMARY KEY,
            name text NOT NULL DEFAULT '',
            user_set_name boolean NOT NULL DEFAULT false,
            session_type text NOT NULL DEFAULT 'user',
            working_dir text NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            extension_data text NOT NULL DEFAULT '{}',
            total_tokens bigint, input_tokens bigint, output_tokens bigint,
            accumulated_total_tokens bigint, accumulated_input_tokens bigint, accumulated_output_tokens bigint,
            cached_input_tokens bigint, cache_creation_input_tokens bigint,
            schedule_id text, recipe_json text, user_recipe_values_json text,
            provider_name text, model_config_json text,
            message_count integer NOT NULL DEFAULT 0,
            last_activity bigint
        )""",
        "CREATE INDEX sessions_by_type ON sessions (session_type, updated_at DESC, id DESC)",
        """CREATE TABLE messages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            role text NOT NULL,
            created bigint NOT NULL,
            message_json text NOT NULL,
            -- the message's words as pluginkit splits them (lower case, no accents), so that PostgreSQL's
            -- parser sees plain words and matches exactly what the other stores match; the first 100 000
            -- characters are indexed (a tsvector holds at most 1 MB)
            search_words text NOT NULL DEFAULT '',
            tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', left(search_words, 100000))) STORED
        )""",
        "CREATE INDEX messages_by_session ON messages (session_id, id)",
        "CREATE INDEX messages_search ON messages USING gin (tsv)",
        # The seed's ids are YYYYMMDD_N; counting per day (not max+1) means a deleted id is never reused.
        "CREATE TABLE session_ids (day text PRIMARY KEY, last integer NOT NULL)",
    )),
    (2, "substring search", (_substring_index,)),
)

LATEST = MIGRATIONS[-1][0]


def migrate(conn: psycopg.Connection[Any], schema: str, target: int = LATEST) -> list[int]:
    """Create ``schema`` if needed and apply the missing migrations in one transaction; returns the versions
    applied. Refuses a database newer than this code."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pluginkit-sessions:{schema}",))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        current = int(str(row[0])) if row else 0
        if current > LATEST:
            raise SessionStoreError(
                "invalid_config",
                f"schema {schema!r} is at version {current}, newer than this plugin knows ({LATEST}); upgrade it",
            )
        for version, name, statements in MIGRATIONS:
            if current < version <= target:
                for statement in statements:
                    if callable(statement):
                        statement(conn)
                    else:
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                applied.append(version)
    return applied
