"""``PostgresSessionStore``: the session contract on PostgreSQL with psycopg 3 and a connection pool.

The shared rules (argument checks, partial updates, export/import, copy) come from
:class:`pluginkit.sessions.BaseSessionStore`; this module only says where the data lives. Each backend call is
one transaction on a pooled connection, run on a worker thread: the host's event loop never waits on the
network, and the pool works whichever event loop (or thread) calls the store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import sql as pgsql

from pluginkit.sessions import (
    DEFAULT_MAX_IMPORT_BYTES,
    BaseSessionStore,
    ChatHistoryMatch,
    Message,
    SearchRequest,
    Session,
    SessionInsights,
    SessionNotFound,
    SessionStoreUnavailable,
    WorkerPool,
    sql,
)
from pluginkit.sessions.sql import (
    decode_message,
    encode_message,
    fold,
    from_us,
    new_session_id,
    search_text,
    session_day,
)

from ._schema import migrate

__all__ = ["PostgresSessionStore"]

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SELECT = "SELECT " + ", ".join(sql.SESSION_COLUMNS) + " FROM sessions"
_COPY = "COPY messages (session_id, role, created, message_json, search_words) FROM STDIN"


def _time(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _session(row: Any) -> Session:
    return sql.session_from_row(row, _time)


def _filters(request: SearchRequest) -> tuple[str, list[Any]]:
    """The search's bounds as ``AND`` conditions, with their parameters."""
    filters: list[str] = []
    params: list[Any] = []
    for condition, value in (
        ("m.created >= %s", request.after), ("m.created <= %s", request.before), ("m.session_id <> %s", request.exclude)
    ):
        if value is not None:
            filters.append(condition)
            params.append(value)
    return "".join(f" AND {f}" for f in filters), params


def _matches(rows: Iterable[Any]) -> list[ChatHistoryMatch]:
    return [
        ChatHistoryMatch(
            session_id=session_id, session_name=name, message_role=role,
            message_content=search_text(decode_message(message)), timestamp=from_us(created * 1_000_000),
            relevance_score=float(score),
        )
        for session_id, name, role, message, created, score in rows
    ]


def _rows(session_id: str, messages: list[Message]) -> Iterator[tuple[Any, ...]]:
    for m in messages:
        yield (session_id, m.role, m.created, encode_message(m), fold(search_text(m)))


class PostgresSessionStore(BaseSessionStore):
    """Sessions in PostgreSQL. ``dsn`` is a libpq connection string (empty: libpq's ``PG*`` variables);
    ``schema`` holds the tables and is created on first use; ``pool_size`` bounds connections and threads."""

    def __init__(
        self,
        dsn: str = "",
        *,
        schema: str = "pluginkit_sessions",
        pool_size: int = 4,
        connect_timeout: float = 10.0,
        max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
    ) -> None:
        if not _SCHEMA.match(schema):
            raise ValueError(f"schema {schema!r} must be lower-case letters, digits and _")
        self.dsn = dsn
        self.schema = schema
        self.max_import_bytes = max_import_bytes
        self._timeout = connect_timeout
        self._size = max(1, pool_size)
        self._pool: psycopg_pool.ConnectionPool[Conn] | None = None
        self._open_lock = threading.Lock()
        self._workers = WorkerPool("pluginkit-postgres-sessions", self._size)

    # -- connections --------------------------------------------------------------------------------------------
    def _open(self) -> psycopg_pool.ConnectionPool[Conn]:
        """The pool, opened (and the schema migrated) by the first call that needs it."""
        pool = self._pool
        if pool is not None:
            return pool
        with self._open_lock:
            return self._open_locked()

    def _open_locked(self) -> psycopg_pool.ConnectionPool[Conn]:
        if self._pool is None:
            pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
                self.dsn, min_size=1, max_size=self._size, open=False, timeout=self._timeout,
                kwargs={"options": f"-c search_path={self.schema} -c TimeZone=UTC"},
            )
            try:
                pool.open(wait=True, timeout=self._timeout)
                with pool.connection() as conn:
                    migrate(conn, self.schema)
            except BaseException:
                pool.close()
                raise
            self._pool = pool
        return self._pool

    @contextmanager
    def _transaction(self) -> Iterator[Conn]:
        """A pooled connection in a transaction (committed on success); connection failures become
        ``SessionStoreUnavailable``, which callers may retry."""
        try:
            with self._open().connection() as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise SessionStoreUnavailable(message=f"PostgreSQL is unavailable: {exc}", retryable=True) from None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._workers.run(fn, *args)

    async def _cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._workers.run(fn, *args)

    @staticmethod
    def _new_id(conn: Conn, now: int) -> str:
        while True:
            row = conn.execute(
                "INSERT INTO session_ids (day, last) VALUES (%s, 1) "
                "ON CONFLICT (day) DO UPDATE SET last = session_ids.last + 1 RETURNING last",
                (session_day(now),),
            ).fetchone()
            assert row is not None
            session_id = new_session_id(now, row[0])
            if conn.execute("SELECT 1 FROM sessions WHERE id = %s", (session_id,)).fetchone() is None:
                return session_id

    # -- blocking backend ---------------------------------------------------------------------------------------
    def _create_blocking(self, working_dir: str, name: str, session_type: str, now: int) -> Session:
        with self._transaction() as conn:
            session_id = self._new_id(conn, now)
            conn.execute(
                "INSERT INTO sessions (id, name, session_type, working_dir, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (session_id, name, session_type, working_dir, from_us(now), from_us(now)),
            )
        return Session(
            id=session_id, working_dir=working_dir, name=name, session_type=session_type, created_at=from_us(now),
            updated_at=from_us(now),
        )

    def _get_blocking(self, session_id: str, include_messages: bool) -> Session:
        with self._transaction() as conn:
            if include_messages:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = conn.execute(f"{_SELECT} WHERE id = %s", (session_id,)).fetchone()
            if row is None:
                raise SessionNotFound.for_id(session_id)
            session = _session(row)
            if include_messages:
                cursor = conn.execute(
                    "SELECT message_json FROM messages WHERE session_id = %s ORDER BY id", (session_id,)
                )
                session.conversation = [decode_message(text) for (text,) in cursor]
        return session

    def _add_blocking(self, session_id: str, message: Message, now: int) -> None:
        row = next(_rows(session_id, [message]))
        with self._transaction() as conn:
            updated = conn.execute(
                "UPDATE sessions SET updated_at = %s, message_count = message_count + 1, "
                "last_activity = greatest(last_activity, %s) WHERE id = %s",
                (from_us(now), message.created, session_id),
            ).rowcount
            if not updated:
                raise SessionNotFound.for_id(session_id)
            conn.execute(
                "INSERT INTO messages (session_id, role, created, message_json, search_words) "
                "VALUES (%s, %s, %s, %s, %s)",
                row,
            )

    @staticmethod
    def _copy(conn: Conn, session_id: str, messages: list[Message]) -> None:
        if messages:
            with conn.cursor().copy(_COPY) as copy:
                for row in _rows(session_id, messages):
                    copy.write_row(row)

    def _replace_blocking(self, session_id: str, messages: list[Message], now: int) -> None:
        last = max((m.created for m in messages), default=None)
        with self._transaction() as conn:
            updated = conn.execute(
                "UPDATE sessions SET updated_at = %s, message_count = %s, last_activity = %s WHERE id = %s",
                (from_us(now), len(messages), last, session_id),
            ).rowcount
            if not updated:
                raise SessionNotFound.for_id(session_id)
            conn.execute("DELETE FROM messages WHERE session_id = %s", (session_id,))
            self._copy(conn, session_id, messages)

    def _list_blocking(self, types: list[str]) -> list[Session]:
        with self._transaction() as conn:
            cursor = conn.execute(
                f"{_SELECT} WHERE session_type = ANY(%s) ORDER BY updated_at DESC, id DESC", (types,)
            )
            return [_session(row) for row in cursor]

    def _delete_blocking(self, session_id: str) -> None:
        with self._transaction() as conn:
            if not conn.execute("DELETE FROM sessions WHERE id = %s", (session_id,)).rowcount:
                raise SessionNotFound.for_id(session_id)

    def _insights_blocking(self) -> SessionInsights:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(coalesce(accumulated_total_tokens, total_tokens, 0)), 0) FROM sessions"
            ).fetchone()
        assert row is not None
        return SessionInsights(total_sessions=int(row[0]), total_tokens=int(row[1]))

    def _insert_blocking(self, session: Session, now: int) -> Session:
        messages = list(session.conversation or [])
        values = {column: sql.encode_column(f, getattr(session, f)) for f, column in sql.FIELD_COLUMNS.items()}
        last = max((m.created for m in messages), default=None)
        with self._transaction() as conn:
            session_id = self._new_id(conn, now)
            columns = ["id", "session_type", "working_dir", "created_at", "updated_at", "message_count",
                       "last_activity", *values]
            params = [session_id, session.session_type, session.working_dir, from_us(now), from_us(now),
                      len(messages), last, *values.values()]
            conn.execute(
                pgsql.SQL("INSERT INTO sessions ({}) VALUES ({})").format(
                    pgsql.SQL(", ").join(map(pgsql.Identifier, columns)),
                    pgsql.SQL(", ").join(pgsql.Placeholder() * len(columns)),
                ),
                params,
            )
            self._copy(conn, session_id, messages)
            row = conn.execute(f"{_SELECT} WHERE id = %s", (session_id,)).fetchone()
        return _session(row)

    def _truncate_blocking(self, session_id: str, timestamp: int, now: int) -> None:
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", (session_id,)).fetchone() is None:
                raise SessionNotFound.for_id(session_id)
            conn.execute("DELETE FROM messages WHERE session_id = %s AND created >= %s", (session_id, timestamp))
            conn.execute(
                "UPDATE sessions SET updated_at = %s, "
                "message_count = (SELECT count(*) FROM messages WHERE session_id = sessions.id), "
                "last_activity = (SELECT max(created) FROM messages WHERE session_id = sessions.id) WHERE id = %s",
                (from_us(now), session_id),
            )

    def _update_blocking(self, session_id: str, changes: dict[str, Any], now: int) -> None:
        assignments: list[pgsql.Composable] = [
            pgsql.SQL("{} = %s").format(pgsql.Identifier(sql.FIELD_COLUMNS[field])) for field in changes
        ]
        assignments.append(pgsql.SQL("updated_at = %s"))
        params = [sql.encode_column(field, value) for field, value in changes.items()]
        with self._transaction() as conn:
            updated = conn.execute(
                pgsql.SQL("UPDATE sessions SET {} WHERE id = %s").format(pgsql.SQL(", ").join(assignments)),
                (*params, from_us(now), session_id),
            ).rowcount
            if not updated:
                raise SessionNotFound.for_id(session_id)

    def _search_blocking(self, request: SearchRequest) -> list[ChatHistoryMatch]:
        if request.mode == "any":
            return self._search_any(request)
        # Each term is a phrase of pluginkit's words (phraseto_tsquery: adjacent, nothing is syntax), all required.
        phrases = request.terms
        query = " && ".join(["phraseto_tsquery('simple', %s)"] * len(phrases))
        where, params = _filters(request)
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT m.session_id, s.name, m.role, m.message_json, m.created, ts_rank_cd(m.tsv, q.q) AS score "
                f"FROM (SELECT {query} AS q) q, messages m JOIN sessions s ON s.id = m.session_id "
                f"WHERE m.tsv @@ q.q{where} ORDER BY score DESC, m.created DESC, m.id DESC LIMIT %s",
                (*phrases, *params, request.limit),
            ).fetchall()
        return _matches(rows)

    def _search_any(self, request: SearchRequest) -> list[ChatHistoryMatch]:
        """The seed's search: any term as a substring of the folded words (the trigram index serves terms of
        three characters or more), newest first, scored by the number of terms found."""
        likes = " OR ".join(["m.search_words LIKE %s"] * len(request.terms))
        where, params = _filters(request)
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT m.session_id, s.name, m.role, m.message_json, m.created, m.search_words "
                f"FROM messages m JOIN sessions s ON s.id = m.session_id WHERE ({likes}){where} "
                "ORDER BY m.created DESC, m.id DESC LIMIT %s",
                (*(f"%{term}%" for term in request.terms), *params, request.limit),
            ).fetchall()
        return _matches((*row[:5], request.matches(row[5])) for row in rows)

    # -- backend ------------------------------------------------------------------------------------------------
    async def _create(self, working_dir: str, name: str, session_type: str, now: int) -> Session:
        return await self._run(self._create_blocking, working_dir, name, session_type, now)

    async def _get(self, id: str, include_messages: bool) -> Session:
        return await self._run(self._get_blocking, id, include_messages)

    async def _add(self, session_id: str, message: Message, now: int) -> None:
        await self._run(self._add_blocking, session_id, message, now)

    async def _replace(self, session_id: str, messages: list[Message], now: int) -> None:
        await self._run(self._replace_blocking, session_id, messages, now)

    async def _list(self, types: list[str]) -> list[Session]:
        return await self._run(self._list_blocking, types)

    async def _delete(self, id: str) -> None:
        await self._run(self._delete_blocking, id)

    async def _insights(self) -> SessionInsights:
        return await self._run(self._insights_blocking)

    async def _insert(self, session: Session, now: int, texts: list[str] | None = None) -> Session:
        return await self._run(self._insert_blocking, session, now)

    async def _truncate(self, session_id: str, timestamp: int, now: int) -> None:
        await self._run(self._truncate_blocking, session_id, timestamp, now)

    async def _update(self, session_id: str, changes: dict[str, Any], now: int) -> None:
        await self._run(self._update_blocking, session_id, changes, now)

    async def _search(self, request: SearchRequest) -> list[ChatHistoryMatch]:
        return await self._run(self._search_blocking, request)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def aclose(self) -> None:
        await self._run(self.close_pool)
        self._workers.close()

    def close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def drop_schema(self) -> None:
        """Drop the store's schema and everything in it (for tests and teardown; irreversible)."""
        with self._open().connection() as conn:
            conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(self.schema)))
        self.close_pool()

    def __repr__(self) -> str:
        return f"PostgresSessionStore(schema={self.schema!r})"
