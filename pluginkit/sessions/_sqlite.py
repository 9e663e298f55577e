"""The embedded default store: one SQLite file, safe for several processes, never blocking an event loop.

How a call runs:

* **Reads** run on reader threads, each with its own connection (WAL lets them read while another connection
  writes).
* **Writes** are serialised within the process by one lock (so this process never races itself for SQLite's
  write lock, and never checkpoints while it writes: the WAL-reset bug of SQLite < 3.51.3 needs both). A small
  write (one message, one session row) first tries to run *inline*, on the calling thread, but only if it can
  take both the process lock and SQLite's write lock without waiting (``busy_timeout=0``): it then costs
  ~20 µs, less than handing it to a thread would. Anything else — a large write, or a lock held by another
  process — runs on the writer thread, which waits with back-off until ``lock_timeout`` and then raises
  :class:`~pluginkit.sessions.SessionStoreBusy` (never "database is locked").
* **Background work** — indexing new messages for search, WAL checkpoints (the only fsyncs) — runs on the writer
  thread when it is idle.

A commit is durable when the call returns: ``synchronous=NORMAL`` in WAL mode survives the process being killed
at any point (power loss may lose the last commits; pass ``synchronous="FULL"`` to trade speed for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pluginkit.sessions import _sqlite_core as core
from pluginkit.sessions._base import BaseSessionStore, SearchRequest, check_messages, read_import
from pluginkit.sessions._contract import DEFAULT_MAX_IMPORT_BYTES
from pluginkit.sessions._errors import SessionStoreBusy, SessionStoreError
from pluginkit.sessions._sqlite_schema import configure, migrate
from pluginkit.sessions._threads import WorkerPool
from pluginkit.sessions._types import ChatHistoryMatch, Message, Session, SessionInsights

__all__ = ["SqliteSessionStore", "default_data_dir", "default_sessions_path"]

T = TypeVar("T")

#: Commits, or bytes of write-ahead log, after which the writer runs a WAL checkpoint when idle.
_CHECKPOINT_EVERY = 1000
_CHECKPOINT_WAL_BYTES = 32 * 1024 * 1024

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(path: str) -> threading.Lock:
    """One write lock per database file per process, shared by every store object opened on it."""
    with _process_locks_guard:
        return _process_locks.setdefault(path, threading.Lock())


def default_data_dir() -> Path:
    """Where pluginkit keeps per-user data: ``$PLUGINKIT_DATA_DIR``, else the platform's user data directory
    (``$XDG_DATA_HOME/pluginkit`` or ``~/.local/share/pluginkit``; ``~/Library/Application Support/pluginkit``
    on macOS; ``%LOCALAPPDATA%\\pluginkit`` on Windows)."""
    explicit = os.environ.get("PLUGINKIT_DATA_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "pluginkit"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "pluginkit"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "pluginkit"


def default_sessions_path() -> Path:
    """The SQLite store's default file: ``$PLUGINKIT_SESSIONS_DB``, else ``<data dir>/sessions/sessions.db``."""
    explicit = os.environ.get("PLUGINKIT_SESSIONS_DB")
    return Path(explicit) if explicit else default_data_dir() / "sessions" / "sessions.db"


class SqliteSessionStore(BaseSessionStore):
    """Sessions in one SQLite file (the default store).

    ``path`` defaults to :func:`default_sessions_path`; its directory is created. The schema is created or
    migrated on first use. ``readers`` is the number of reader threads; ``lock_timeout`` how long a write waits
    for another process before giving up; ``inline_writes=False`` sends every write to the writer thread.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = 30.0,
        readers: int = 2,
        inline_writes: bool = True,
        synchronous: str = "NORMAL",
        max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
    ) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be 'NORMAL' or 'FULL'")
        self.path = Path(path) if path is not None else default_sessions_path()
        self.lock_timeout = lock_timeout
        self.max_import_bytes = max_import_bytes
        self._synchronous = synchronous.upper()
        self._inline = inline_writes
        self._lock = _process_lock(os.path.realpath(self.path))
        self._open_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        #: Answers cheap searches inline (see :meth:`_search`); used under ``_quick_lock``, never waited for.
        self._quick: sqlite3.Connection | None = None
        self._quick_lock = threading.Lock()
        self._readers_conns: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._commits = 0
        self._unindexed = False
        self._merge_due = False
        self._closed = False
        self._writer = WorkerPool("pluginkit-sessions-writer", 1, idle=self._background)
        self._readers = WorkerPool("pluginkit-sessions-reader", max(1, readers))

    # -- connections --------------------------------------------------------------------------------------------
    def _connect(self, busy_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=256)
        configure(conn, busy_ms=busy_ms)
        if self._synchronous == "FULL":
            conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _open(self) -> sqlite3.Connection:
        """The write connection, opened (and the schema migrated) on first use, on a store thread."""
        with self._open_lock:
            if self._closed:
                raise SessionStoreError("plugin_unavailable", "the session store is closed")
            if self._conn is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = self._connect(busy_ms=0)
                try:
                    self._retry(lambda: _migrate_or_busy(conn))
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
                quick = self._connect(busy_ms=0)
                core.open_vocabulary(quick)
                self._quick = quick
                self._unindexed = True  # a previous process may have left messages to index
                self._writer.poke()
            return self._conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._open()
            conn = self._connect(busy_ms=2000)
            self._local.conn = conn
            with self._open_lock:
                self._readers_conns.append(conn)
        return conn

    # -- running work -------------------------------------------------------------------------------------------
    def _retry(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it does not raise :class:`~core.Busy`, backing off, until ``lock_timeout``."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.001
        while True:
            try:
                return attempt()
            except core.Busy:
                if time.monotonic() + delay > deadline:
                    raise SessionStoreBusy(
                        message=f"the session database {self.path} stayed locked by another process for "
                        f"{self.lock_timeout:g} s",
                        retryable=True,
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _write_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a caller's write under the process lock, retrying while SQLite is busy."""
        result = self._locked(fn, *args)
        self._committed()
        return result

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._open()

        def attempt() -> T:
            if not self._lock.acquire(timeout=self.lock_timeout):
                raise SessionStoreBusy(message="the session store's writer stayed busy", retryable=True)
            try:
                return _guard(conn, fn, *args)
            finally:
                self._lock.release()

        return self._retry(attempt)

    async def _write(self, inline: bool, fn: Callable[..., T], *args: Any) -> T:
        conn = self._conn
        if inline and self._inline and conn is not None and self._lock.acquire(blocking=False):
            try:
                result = _guard(conn, fn, *args)
            except core.Busy:
                pass  # another process holds SQLite's lock: wait for it on the writer thread
            else:
                self._committed()
                return result
            finally:
                self._lock.release()
        return await self._on(self._writer, self._write_blocking, fn, *args)

    async def _on(self, pool: WorkerPool, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise SessionStoreError("plugin_unavailable", f"the session store {self.path} is closed")
        return await pool.run(fn, *args)

    def _committed(self) -> None:
        self._commits += 1
        self._unindexed = True
        self._writer.poke()

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._on(self._readers, self._read_blocking, fn, *args)

    def _read_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        conn = self._reader()
        return self._retry(lambda: _guard(conn, fn, *args))

    def _background(self) -> bool:
        """Writer idle work: index pending messages (a chunk per call) and checkpoint. Returns "more to do"."""
        if self._closed or self._conn is None:
            return False
        if self._unindexed:
            self._unindexed = False
            self._merge_due = True
            if self._locked(core.index_pending):
                self._unindexed = True
                return True
        if self._merge_due:  # fewer index segments: a rare word is found in one b-tree, not in dozens
            self._merge_due = False
            self._locked(core.merge_index)
        if self._commits >= _CHECKPOINT_EVERY or _size(f"{self.path}-wal") > _CHECKPOINT_WAL_BYTES:
            self._commits = 0
            self._locked(_checkpoint)
        return False

    def _search_blocking(self, request: SearchRequest) -> list[ChatHistoryMatch]:
        conn = self._reader()
        while self._retry(lambda: _guard(conn, core.pending)):  # index what is pending: new messages are found
            self._locked(core.index_pending)
        return self._retry(lambda: _guard(conn, core.search, request))

    # -- backend ------------------------------------------------------------------------------------------------
    async def _create(self, working_dir: str, name: str, session_type: str, now: int) -> Session:
        return await self._write(True, core.create, working_dir, name, session_type, now)

    async def _get(self, id: str, include_messages: bool) -> Session:
        return await self._read(core.get, id, include_messages)

    async def _add(self, session_id: str, message: Message, now: int) -> None:
        await self._write(True, core.add, session_id, message, now)

    async def _replace(self, session_id: str, messages: list[Message], now: int) -> None:
        await self._write(len(messages) <= 4, core.replace, session_id, messages, now)

    async def _list(self, types: list[str]) -> list[Session]:
        return await self._read(core.list_sessions, types)

    async def _delete(self, id: str) -> None:
        await self._write(False, core.delete, id)

    async def _insights(self) -> SessionInsights:
        return await self._read(core.insights)

    async def _insert(self, session: Session, now: int, texts: list[str] | None = None) -> Session:
        return await self._write(False, core.insert, session, now, texts)

    async def _truncate(self, session_id: str, timestamp: int, now: int) -> None:
        await self._write(False, core.truncate, session_id, timestamp, now)

    async def _update(self, session_id: str, changes: dict[str, Any], now: int) -> None:
        await self._write(True, core.update, session_id, changes, now)

    async def _cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._on(self._readers, fn, *args)

    async def _replace_unchecked(self, session_id: str, conversation: Sequence[Message], now: int) -> None:
        if len(conversation) <= 4:
            await self._write(True, core.replace, session_id, check_messages(conversation), now)
        else:  # checking thousands of messages is work too: it happens on the writer, in the same hand-off
            await self._on(self._writer, self._replace_blocking, session_id, conversation, now)

    def _replace_blocking(self, session_id: str, conversation: Sequence[Message], now: int) -> None:
        self._write_blocking(core.replace, session_id, check_messages(conversation), now)

    async def _import(self, text: Any, now: int) -> Session:
        return await self._on(self._writer, self._import_blocking, text, now)

    def _import_blocking(self, text: Any, now: int) -> Session:
        session, texts = read_import(text, self.max_import_bytes)  # parsed before the write lock is taken
        return self._write_blocking(core.insert, session, now, texts)

    async def _search(self, request: SearchRequest) -> list[ChatHistoryMatch]:
        """A search whose words are rare (their messages, all told, at most ``INLINE_SEARCH_DOCS``) is answered
        inline, like a small write: about 0.1 ms, less than a hand-off to a thread. Anything else — common words,
        messages still to index, a busy database — runs on a reader thread."""
        quick = self._quick
        if quick is not None and self._quick_lock.acquire(blocking=False):
            try:
                if not core.pending(quick) and core.cheap(quick, request, core.INLINE_SEARCH_DOCS):
                    return core.search(quick, request)
            except sqlite3.OperationalError as exc:
                if quick.in_transaction:
                    quick.execute("ROLLBACK")
                if not core.is_busy(exc):
                    raise
            finally:
                self._quick_lock.release()
        return await self._on(self._readers, self._search_blocking, request)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    async def flush(self) -> None:
        """Do the background work now — index every pending message, merge the index, checkpoint the WAL — and
        return when it is done. Hosts need not call it (the writer does it when idle); benchmarks, tests and
        backups may want a quiet file."""
        await self._on(self._writer, self._flush_blocking)

    def _flush_blocking(self) -> None:
        self._open()
        self._unindexed = True
        while self._background():
            pass
        self._locked(_checkpoint)
        self._commits = 0

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Finish queued work, checkpoint, and close every connection and thread; idempotent."""
        if self._closed:
            return
        self._writer.close()
        self._readers.close()
        with self._open_lock:
            self._closed = True
            conns, self._readers_conns = self._readers_conns, []
            if self._quick is not None:
                with self._quick_lock:
                    conns.append(self._quick)
                    self._quick = None
            writer, self._conn = self._conn, None
        for conn in conns:
            conn.close()
        if writer is not None:
            with self._lock:
                with contextlib.suppress(sqlite3.OperationalError):  # another process is busy: it checkpoints
                    writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
                writer.close()

    def __repr__(self) -> str:
        return f"SqliteSessionStore({str(self.path)!r})"


def _guard(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(conn, *args)``; SQLite's busy errors become :class:`core.Busy` (after a rollback), so the
    caller retries instead of seeing "database is locked"."""
    try:
        return fn(conn, *args)
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if core.is_busy(exc):
            raise core.Busy from exc
        raise


def _migrate_or_busy(conn: sqlite3.Connection) -> None:
    try:
        _guard(conn, migrate)
    except sqlite3.OperationalError as exc:
        if "fts5" in str(exc):
            raise SessionStoreError(
                "internal_error", "this Python's SQLite library has no FTS5; the session store needs it"
            ) from exc
        raise


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
