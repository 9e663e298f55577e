"""The SQLite file usage records go to: one table, one row per finished request, written from any thread.

The host delivers ``usage.handle`` from whichever thread finished the request, so a store keeps one connection
behind a lock rather than one per thread (SQLite connections are not shared across threads by default), and
opens it on the first record — loading the plugin never creates a file. The database runs in WAL mode so
``summary`` can read while requests are being recorded.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pluginkit import types as t

__all__ = ["ModelSummary", "UsageStore", "close_all", "default_path", "store_for", "summary"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    requested_at TEXT,
    provider TEXT NOT NULL,
    executor_type TEXT NOT NULL,
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    auth_id TEXT NOT NULL,
    auth_index TEXT NOT NULL,
    auth_type TEXT NOT NULL,
    source TEXT NOT NULL,
    reasoning_effort TEXT NOT NULL,
    service_tier TEXT NOT NULL,
    latency_ns INTEGER NOT NULL,
    ttft_ns INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_model ON usage (model);
"""
# The record's api_key and failure body are not stored: one is a secret, the other may hold user content.
_COLUMNS = (
    "recorded_at", "requested_at", "provider", "executor_type", "model", "alias", "auth_id", "auth_index",
    "auth_type", "source", "reasoning_effort", "service_tier", "latency_ns", "ttft_ns", "failed", "status_code",
    "input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "cache_read_tokens",
    "cache_creation_tokens", "total_tokens",
)
_INSERT = f"INSERT INTO usage ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/pluginkit/usage.sqlite3``, or ``~/.local/share/pluginkit/usage.sqlite3`` without it."""
    env = os.environ if environ is None else environ
    data_home = env.get("XDG_DATA_HOME", "").strip()
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "pluginkit" / "usage.sqlite3"


def _row(record: t.UsageRecord) -> tuple[object, ...]:
    detail = record.detail
    return (
        datetime.now(UTC).isoformat(timespec="milliseconds"),
        record.requested_at.isoformat() if record.requested_at else None,
        record.provider, record.executor_type, record.model, record.alias, record.auth_id, record.auth_index,
        record.auth_type, record.source, record.reasoning_effort, record.service_tier,
        record.latency_ns, record.ttft_ns, int(record.failed), record.failure.status_code,
        detail.input_tokens, detail.output_tokens, detail.reasoning_tokens, detail.cached_tokens,
        detail.cache_read_tokens, detail.cache_creation_tokens, detail.total_tokens,
    )


class UsageStore:
    """One database file. :meth:`add` may be called from any thread; :meth:`close` ends the connection, and the
    next :meth:`add` opens it again (so a store outlives a manager that shut down)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(_SCHEMA)
        return connection

    def add(self, record: t.UsageRecord) -> None:
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            with self._connection:  # one transaction per record: a crash loses at most the record being written
                self._connection.execute(_INSERT, _row(record))

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


_stores: dict[Path, UsageStore] = {}
_stores_lock = threading.Lock()


def store_for(path: Path) -> UsageStore:
    """The process's one store for ``path``: two writers on one file would only contend for SQLite's lock."""
    key = path.expanduser().absolute()
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = UsageStore(key)
        return store


def close_all() -> None:
    with _stores_lock:
        stores = list(_stores.values())
    for store in stores:
        store.close()


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One model's totals. Means are in milliseconds over the requests that measured them (``None``: none did;
    non-streamed requests have no time to first token)."""

    model: str
    requests: int
    failures: int
    input_tokens: int
    output_tokens: int
    mean_latency_ms: float | None
    mean_ttft_ms: float | None


_SUMMARY = """
SELECT model, COUNT(*), SUM(failed), SUM(input_tokens), SUM(output_tokens),
       AVG(NULLIF(latency_ns, 0)) / 1e6, AVG(NULLIF(ttft_ns, 0)) / 1e6
FROM usage GROUP BY model ORDER BY model
"""


def summary(path: str | os.PathLike[str]) -> list[ModelSummary]:
    """Per-model totals of the database at ``path``, read-only. Raises :class:`FileNotFoundError` when there is
    no database there (reading must not create one)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"no usage database at {file}")
    connection = sqlite3.connect(f"{file.absolute().as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute(_SUMMARY).fetchall()
    finally:
        connection.close()
    return [ModelSummary(*row) for row in rows]
