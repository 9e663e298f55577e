"""The SQLite store's SQL: plain functions of a connection, each one transaction, run by the store's threads.

Full-text indexing is deferred: a message is written alone and indexed later, in batches — an FTS5 insert
committed alone costs about five times the message insert, because every commit flushes a new index segment.
Indexing folds the message's text in Python (:func:`~pluginkit.sessions.fold`, as every store does) into
``message_text``, which the word index ``messages_fts`` reads as external content, and adds new words to the
``vocabulary`` (with its own trigram index) that the seed's any-word substring search starts from.
``fts_state.indexed_upto`` says which messages are indexed; a search first indexes whatever is pending, so a
message is found as soon as ``add_message`` returns. Message ids only grow (a new id is above both the largest
id and ``indexed_upto``), which is what makes the watermark sound.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pluginkit.sessions import sql
from pluginkit.sessions._base import SearchRequest
from pluginkit.sessions._codec import (
    decode_message,
    encode_message,
    fold,
    from_us,
    new_session_id,
    session_day,
)
from pluginkit.sessions._errors import SessionNotFound
from pluginkit.sessions._sqlite_schema import text_sql
from pluginkit.sessions._types import ChatHistoryMatch, Message, Session, SessionInsights

__all__ = ["Busy", "is_busy"]

_SELECT = "SELECT " + ", ".join(sql.SESSION_COLUMNS) + " FROM sessions"
_NEXT_ID = "(SELECT max(coalesce((SELECT max(id) FROM messages), 0), indexed_upto) + 1 FROM fts_state)"
_INSERT_MESSAGE = f"INSERT INTO messages (id, session_id, role, created, message_json) VALUES ({_NEXT_ID}, ?, ?, ?, ?)"
_TEXT = text_sql("m.message_json")
#: Messages indexed per transaction by the background indexer (keeps each write-lock hold to ~2 ms).
INDEX_CHUNK = 500


class Busy(Exception):
    """SQLite answered SQLITE_BUSY / SQLITE_LOCKED: the transaction was rolled back; try again later."""


def is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """One transaction (``IMMEDIATE`` takes the write lock first, so it never fails half-way for want of it);
    any error rolls back, and busy errors become :class:`Busy`."""
    try:
        conn.execute(f"BEGIN {mode}")
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise Busy from exc
        raise
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
            raise Busy from exc
        raise


def _session(row: Sequence[Any]) -> Session:
    return sql.session_from_row(row, _time)


def _time(value: Any) -> Any:
    return None if value is None else from_us(value)


def _message_rows(
    session_id: str, messages: list[Message], first_id: int, texts: list[str] | None = None
) -> list[tuple[Any, ...]]:
    if texts is not None:
        pairs = enumerate(zip(messages, texts, strict=True))
        return [(first_id + i, session_id, m.role, m.created, text) for i, (m, text) in pairs]
    return [(first_id + i, session_id, m.role, m.created, encode_message(m)) for i, m in enumerate(messages)]


def _next_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute(f"SELECT {_NEXT_ID}").fetchone()[0])


def _new_id(conn: sqlite3.Connection, now: int) -> str:
    day = session_day(now)
    while True:
        (sequence,) = conn.execute(
            "INSERT INTO session_ids (day, last) VALUES (?, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
            (day,),
        ).fetchone()
        session_id = new_session_id(now, sequence)
        if not conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone():
            return session_id


# -- writes --------------------------------------------------------------------------------------------------


def create(conn: sqlite3.Connection, working_dir: str, name: str, session_type: str, now: int) -> Session:
    with transaction(conn):
        session_id = _new_id(conn, now)
        conn.execute(
            "INSERT INTO sessions (id, name, session_type, working_dir, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, name, session_type, working_dir, now, now),
        )
    return Session(
        id=session_id, working_dir=working_dir, name=name, session_type=session_type, created_at=from_us(now),
        updated_at=from_us(now),
    )


def add(conn: sqlite3.Connection, session_id: str, message: Message, now: int) -> None:
    row = (session_id, message.role, message.created, encode_message(message))
    with transaction(conn):
        updated = conn.execute(
            "UPDATE sessions SET updated_at = ?, message_count = message_count + 1, "
            "last_activity = max(coalesce(last_activity, ?), ?) WHERE id = ?",
            (now, message.created, message.created, session_id),
        ).rowcount
        if not updated:
            raise SessionNotFound.for_id(session_id)
        conn.execute(_INSERT_MESSAGE, row)


def _insert_messages(
    conn: sqlite3.Connection, session_id: str, messages: list[Message], texts: list[str] | None = None
) -> None:
    if messages:
        conn.executemany(
            "INSERT INTO messages (id, session_id, role, created, message_json) VALUES (?, ?, ?, ?, ?)",
            _message_rows(session_id, messages, _next_id(conn), texts),
        )


def replace(conn: sqlite3.Connection, session_id: str, messages: list[Message], now: int) -> None:
    last = max((m.created for m in messages), default=None)
    with transaction(conn):
        updated = conn.execute(
            "UPDATE sessions SET updated_at = ?, message_count = ?, last_activity = ? WHERE id = ?",
            (now, len(messages), last, session_id),
        ).rowcount
        if not updated:
            raise SessionNotFound.for_id(session_id)
        conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        _insert_messages(conn, session_id, messages)


def delete(conn: sqlite3.Connection, session_id: str) -> None:
    with transaction(conn):
        if not conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount:
            raise SessionNotFound.for_id(session_id)


def insert(conn: sqlite3.Connection, session: Session, now: int, texts: list[str] | None = None) -> Session:
    messages = list(session.conversation or [])
    values = {column: sql.encode_column(field, getattr(session, field)) for field, column in sql.FIELD_COLUMNS.items()}
    last = max((m.created for m in messages), default=None)
    with transaction(conn):
        session_id = _new_id(conn, now)
        columns = ["id", "session_type", "working_dir", "created_at", "updated_at", "message_count", "last_activity",
                   *values]
        params = [session_id, session.session_type, session.working_dir, now, now, len(messages), last,
                  *values.values()]
        conn.execute(
            f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", params
        )
        _insert_messages(conn, session_id, messages, texts)
        row = conn.execute(f"{_SELECT} WHERE id = ?", (session_id,)).fetchone()
    return _session(row)


def truncate(conn: sqlite3.Connection, session_id: str, timestamp: int, now: int) -> None:
    with transaction(conn):
        if not conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone():
            raise SessionNotFound.for_id(session_id)
        conn.execute("DELETE FROM messages WHERE session_id = ? AND created >= ?", (session_id, timestamp))
        conn.execute(
            "UPDATE sessions SET updated_at = ?, "
            "message_count = (SELECT count(*) FROM messages WHERE session_id = sessions.id), "
            "last_activity = (SELECT max(created) FROM messages WHERE session_id = sessions.id) WHERE id = ?",
            (now, session_id),
        )


def update(conn: sqlite3.Connection, session_id: str, changes: dict[str, Any], now: int) -> None:
    assignments = [f"{sql.FIELD_COLUMNS[field]} = ?" for field in changes]
    params = [sql.encode_column(field, value) for field, value in changes.items()]
    with transaction(conn):
        updated = conn.execute(
            f"UPDATE sessions SET {', '.join([*assignments, 'updated_at = ?'])} WHERE id = ?",
            (*params, now, session_id),
        ).rowcount
        if not updated:
            raise SessionNotFound.for_id(session_id)


def index_pending(conn: sqlite3.Connection, chunk: int = INDEX_CHUNK) -> bool:
    """Index up to ``chunk`` pending messages in one transaction; returns whether more are pending."""
    with transaction(conn):
        (watermark,) = conn.execute("SELECT indexed_upto FROM fts_state").fetchone()
        row = conn.execute(
            "SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", (watermark, chunk - 1)
        ).fetchone()
        more = row is not None
        upto = row[0] if more else conn.execute("SELECT max(id) FROM messages").fetchone()[0]
        if upto is None or upto <= watermark:
            return False
        texts = conn.execute(
            f"SELECT id, text FROM (SELECT m.id, {_TEXT} AS text FROM messages m WHERE m.id > ? AND m.id <= ?) "
            "WHERE text != ''",
            (watermark, upto),
        ).fetchall()
        rows = [(message_id, folded) for message_id, text in texts if (folded := fold(text))]
        conn.executemany("INSERT INTO message_text (id, folded) VALUES (?, ?)", rows)
        conn.execute(
            "INSERT INTO messages_fts (rowid, folded) SELECT id, folded FROM message_text WHERE id > ? AND id <= ?",
            (watermark, upto),
        )
        known = conn.execute("SELECT coalesce(max(id), 0) FROM vocabulary").fetchone()[0]
        conn.executemany(
            "INSERT OR IGNORE INTO vocabulary (word) VALUES (?)",
            [(word,) for word in {word for _, folded in rows for word in folded.split(" ")}],
        )
        conn.execute("INSERT INTO vocabulary_trigram (rowid, word) SELECT id, word FROM vocabulary WHERE id > ?",
                     (known,))
        conn.execute("UPDATE fts_state SET indexed_upto = ?", (upto,))
    return more


def merge_index(conn: sqlite3.Connection) -> None:
    """Merge full-text index segments, writing about 500 pages at most (a few ms) over both indexes, in one
    transaction."""
    with transaction(conn):
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('merge', -400)")
        conn.execute("INSERT INTO vocabulary_trigram (vocabulary_trigram, rank) VALUES ('merge', -100)")


def pending(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT (SELECT max(id) FROM messages) > indexed_upto FROM fts_state").fetchone()
    return bool(row and row[0])


# -- reads ---------------------------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, session_id: str, include_messages: bool) -> Session:
    with transaction(conn, "DEFERRED"):
        row = conn.execute(f"{_SELECT} WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound.for_id(session_id)
        session = _session(row)
        if include_messages:
            cursor = conn.execute("SELECT message_json FROM messages WHERE session_id = ? ORDER BY id", (session_id,))
            session.conversation = [decode_message(text) for (text,) in cursor]
    return session


def list_sessions(conn: sqlite3.Connection, types: list[str]) -> list[Session]:
    marks = ", ".join("?" * len(types))
    cursor = conn.execute(f"{_SELECT} WHERE session_type IN ({marks}) ORDER BY updated_at DESC, id DESC", types)
    return [_session(row) for row in cursor]


def insights(conn: sqlite3.Connection) -> SessionInsights:
    total, tokens = conn.execute(
        "SELECT count(*), coalesce(sum(coalesce(accumulated_total_tokens, total_tokens, 0)), 0) FROM sessions"
    ).fetchone()
    return SessionInsights(total_sessions=total, total_tokens=tokens)


#: Messages (summed over a query's words) up to which a search is cheap enough to answer inline.
INLINE_SEARCH_DOCS = 300


def open_vocabulary(conn: sqlite3.Connection) -> None:
    """Give ``conn`` the FTS5 vocabulary (each indexed word and how many messages hold it), a temporary table."""
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_fts_vocab USING fts5vocab(main, messages_fts, row)")


def cheap(conn: sqlite3.Connection, request: SearchRequest, budget: int) -> bool:
    """Whether a search touches at most ``budget`` messages (a search's cost follows them): the messages holding
    its words (all-words), or the words its terms sit in (any-word), from the index's vocabulary. A word the
    vocabulary does not know is not cheap."""
    if request.mode == "all":
        words = [word for term in request.terms for word in term.split(" ")]
    else:
        words = []
        for term in request.terms:
            words += _words_containing(conn, max(term.split(" "), key=len))
            if len(words) > WORD_INDEX_WORDS:
                return False
    total = 0
    for word in words:
        row = conn.execute("SELECT doc FROM temp.messages_fts_vocab WHERE term = ?", (word,)).fetchone()
        if row is None:
            return False
        total += row[0]
        if total > budget:
            return False
    return total > 0


def fts_query(terms: list[str]) -> str:
    """The FTS5 query for literal terms: each one a quoted string (an FTS5 phrase), so nothing in it is syntax;
    space-separated strings mean all of them, ``OR``-separated any."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def search(conn: sqlite3.Connection, request: SearchRequest) -> list[ChatHistoryMatch]:
    if request.mode == "any":
        return _search_any(conn, request)
    return _search_all(conn, request)


def _filters(request: SearchRequest) -> tuple[str, tuple[Any, ...]]:
    return "m.created >= ? AND m.created <= ? AND m.session_id != ?", (
        -(2**63) if request.after is None else request.after,
        2**63 - 1 if request.before is None else request.before,
        "" if request.exclude is None else request.exclude,
    )


def _search_all(conn: sqlite3.Connection, request: SearchRequest) -> list[ChatHistoryMatch]:
    query = fts_query(request.terms)
    if request.after is None and request.before is None and request.exclude is None:
        # Rank inside FTS5 and join only the winners: most of a search's time is the join otherwise.
        cursor = conn.execute(
            f"SELECT m.session_id, s.name, m.role, {_TEXT}, m.created, f.score FROM "
            "(SELECT rowid AS id, -rank AS score FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?) f "
            "JOIN messages m ON m.id = f.id JOIN sessions s ON s.id = m.session_id "
            "ORDER BY f.score DESC, m.created DESC, m.id DESC",
            (query, request.limit),
        )
    else:
        where, bounds = _filters(request)
        cursor = conn.execute(
            f"SELECT m.session_id, s.name, m.role, {_TEXT}, m.created, -f.rank FROM messages_fts f "
            "JOIN messages m ON m.id = f.rowid JOIN sessions s ON s.id = m.session_id "
            f"WHERE messages_fts MATCH ? AND {where} ORDER BY f.rank, m.created DESC, m.id DESC LIMIT ?",
            (query, *bounds, request.limit),
        )
    return _matches(cursor)


#: Vocabulary words a term may be found in, across the query, up to which the word index answers an any-word
#: search; past it the term is common and a newest-first scan stops sooner (``benchmarks``, ``sessions``: an
#: ``OR`` of 6 500 words takes seconds, the scan a tenth of a millisecond).
WORD_INDEX_WORDS = 32


def _search_any(conn: sqlite3.Connection, request: SearchRequest) -> list[ChatHistoryMatch]:
    """Any term as a substring of the folded text, newest first.

    The words a term may sit in come from the vocabulary (a term with spaces spans words: its longest part must
    sit in one), then the messages holding those words from the word index, checked with ``instr``. When the
    terms sit in many words the messages are read newest first instead, until ``limit`` of them match.
    """
    candidates: set[str] = set()
    for term in request.terms:
        candidates.update(_words_containing(conn, max(term.split(" "), key=len)))
        if len(candidates) > WORD_INDEX_WORDS:
            break
    if not candidates:
        return []
    checks = " OR ".join("instr(t.folded, ?) > 0" for _ in request.terms)
    where, bounds = _filters(request)
    if len(candidates) <= WORD_INDEX_WORDS:
        source = ("(SELECT rowid AS id FROM messages_fts WHERE messages_fts MATCH ?) hit "
                  "JOIN messages m ON m.id = hit.id JOIN message_text t ON t.id = m.id")
        params: tuple[Any, ...] = (" OR ".join(fts_query([word]) for word in sorted(candidates)),)
    else:
        source = "messages m INDEXED BY messages_by_created JOIN message_text t ON t.id = m.id"
        params = ()
    # Order and cut the hits first, then read the text of the winners only: computed in the sort, the text of
    # every hit would be extracted from its JSON.
    rows = conn.execute(
        f"SELECT m.session_id, s.name, m.role, {_TEXT}, m.created, t.folded FROM "
        f"(SELECT m.id FROM {source} WHERE ({checks}) AND {where} ORDER BY m.created DESC, m.id DESC LIMIT ?) top "
        "JOIN messages m ON m.id = top.id JOIN sessions s ON s.id = m.session_id JOIN message_text t ON t.id = m.id "
        "ORDER BY m.created DESC, m.id DESC",
        (*params, *request.terms, *bounds, request.limit),
    ).fetchall()
    return _matches((*row[:5], float(request.matches(row[5]))) for row in rows)


def _words_containing(conn: sqlite3.Connection, part: str) -> list[str]:
    """Indexed words holding ``part``: through the vocabulary's trigrams, or a scan of it for one or two
    characters (too short for a trigram)."""
    if len(part) >= 3:
        cursor = conn.execute(
            "SELECT word FROM vocabulary WHERE id IN "
            "(SELECT rowid FROM vocabulary_trigram WHERE vocabulary_trigram MATCH ?) LIMIT ?",
            (fts_query([part]), WORD_INDEX_WORDS + 1),
        )
    else:
        cursor = conn.execute("SELECT word FROM vocabulary WHERE instr(word, ?) > 0 LIMIT ?",
                              (part, WORD_INDEX_WORDS + 1))
    return [word for (word,) in cursor]


def _matches(rows: Any) -> list[ChatHistoryMatch]:
    return [
        ChatHistoryMatch(
            session_id=session_id, session_name=name, message_role=role, message_content=content.replace("\x00", ""),
            timestamp=from_us(created * 1_000_000), relevance_score=score,
        )
        for session_id, name, role, content, created, score in rows
    ]
