"""Session stores: writes, batches, search and reads, against bare ``sqlite3`` and the seed's search, in one run.

* **add_message** through the async API, one message per call, each searchable when the call returns, against a
  bare ``sqlite3`` loop inserting the same messages into an unindexed table with one commit per message (same
  file system, same ``journal_mode=WAL`` / ``synchronous=NORMAL``; the loop turns each message into JSON with
  ``json.dumps`` as bare code would). Target: at least 0.25x its throughput (time ratio <= 4).
* **batches**: ``replace_conversation`` of 10 000 messages into a new session, against a bare ``executemany``
  of the same messages in one transaction; ``import_session`` of an exported 10 000-message session, against a
  bare ``json.loads`` + ``executemany``. Target: at least 0.8x (time ratio <= 1.25). The store indexes a batch
  for search after the call (a search indexes whatever is still pending first); each timed call starts with the
  store idle (``flush()``), and the call plus the background work it causes is shown on a row of its own.
* **search** over 100 000 messages, top 20, for a mix of rare (<= 50 hits, 60 %), medium (~1 %, 20 %) and
  common (5-15 %, 20 %) words, against the seed's search over the same rows (``LOWER(json_extract(...)) LIKE
  '%word%'`` over ``json_each`` of the content, newest first, with the seed's indexes). The default mode
  (``any``) answers the seed's question: the words as substrings, newest first; the ranked all-words mode is
  shown beside it (single words: the same messages, ranked). Each system runs passes over all the queries back
  to back, passes alternating between them. Targets, for both modes: p50 at least 20x faster (ratio <= 0.05),
  p95 at least 5x faster (ratio <= 0.2). In these tables "median" is the table's statistic (p50 or p95) over
  every query run.
* **reads**: ``get_session`` with 10 000 messages and ``list_sessions`` with 10 000 sessions, reported.

PostgreSQL rows (the example plugin) appear beside SQLite's when a server answers at
``$PLUGINKIT_TEST_POSTGRES`` (default ``host=127.0.0.1 port=5432 user=postgres dbname=test``); they have no
targets. ``--quick`` uses much smaller sizes. As in the harness, the cyclic GC is collected before and kept off
during every timed section, for the baselines and the stores alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks._harness import Table, Timing
from pluginkit.sessions import Message, SessionStore, SqliteSessionStore

ROOT = Path(__file__).resolve().parent.parent
DSN = os.environ.get("PLUGINKIT_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test")
T0 = 1_700_000_000


# -- data ------------------------------------------------------------------------------------------------------


class Corpus:
    """Chat-like messages: words drawn from a Zipf-distributed vocabulary, so some words are everywhere and most
    are rare, as in real chat history."""

    def __init__(self, seed: int = 7, vocabulary: int = 30_000) -> None:
        self.random = random.Random(seed)
        syllables = ["ka", "lo", "mi", "nu", "pe", "ri", "so", "tu", "va", "ze", "bo", "di", "fa", "gu", "ha", "je"]
        words: set[str] = set()
        while len(words) < vocabulary:
            words.add("".join(self.random.choice(syllables) for _ in range(self.random.randint(2, 4))))
        self.words = sorted(words)
        self.random.shuffle(self.words)
        self.weights = [1 / (rank + 1) ** 1.05 for rank in range(vocabulary)]

    def text(self) -> str:
        return " ".join(self.random.choices(self.words, self.weights, k=self.random.randint(8, 40)))

    def messages(self, count: int, start: int = 0) -> list[Message]:
        roles = ("user", "assistant")
        return [Message(role=roles[i % 2], created=T0 + start + i, content=[_part(self.text())]) for i in range(count)]


def _part(text: str) -> Any:
    from pluginkit.sessions import MessageContent

    return MessageContent.of_text(text)


def _plain(message: Message) -> dict[str, Any]:
    """The message as bare code holds it: a JSON-like dict."""
    return {"role": message.role, "created": message.created,
            "content": [{"type": p.type, "text": p.text} for p in message.content]}


def _timing(seconds: list[float], per: int = 1) -> Timing:
    """A harness ``Timing`` from per-repeat durations (``per`` operations each): median and p95 per operation."""
    samples = sorted(s * 1e9 / per for s in seconds)
    p95 = samples[0] if len(samples) == 1 else statistics.quantiles(samples, n=20, method="inclusive")[18]
    return Timing(statistics.median(samples), p95, per, tuple(samples))


def _bare_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id TEXT, role TEXT, content_json TEXT, "
                 "created INTEGER)")
    return conn


_BARE_INSERT = "INSERT INTO messages (session_id, role, content_json, created) VALUES (?, ?, ?, ?)"


# -- PostgreSQL -------------------------------------------------------------------------------------------------


def _postgres() -> tuple[Callable[[], SessionStore] | None, str]:
    try:
        import psycopg

        psycopg.connect(DSN, connect_timeout=3).close()
    except Exception as exc:  # any failure means: no PostgreSQL rows, and say why
        return None, f"PostgreSQL rows skipped: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
    sys.path.insert(0, str(ROOT / "example_plugins" / "postgres-sessions" / "src"))
    from pluginkit_postgres_sessions import PostgresSessionStore

    def make() -> SessionStore:
        return PostgresSessionStore(DSN, schema=f"pk_bench_{uuid.uuid4().hex[:10]}")

    return make, ""


async def _drop(store: SessionStore) -> None:
    drop = getattr(store, "drop_schema", None)
    if drop is not None:
        await asyncio.to_thread(drop)
    await store.aclose()


# -- benchmarks -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """As the harness (and ``timeit``) does: collect, then keep the cyclic GC off while timing — a collection
    walking this process's 100 000 messages would land in one timed call and not in the next."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _adds(store: SessionStore, session_id: str, messages: list[Message]) -> float:
    with quiet_gc():
        started = time.perf_counter()
        for message in messages:
            await store.add_message(session_id, message)
        return time.perf_counter() - started


def _bare_adds(conn: sqlite3.Connection, messages: list[dict[str, Any]]) -> float:
    with quiet_gc():
        started = time.perf_counter()
        for m in messages:
            conn.execute(_BARE_INSERT, ("s", m["role"], json.dumps(m), m["created"]))
            conn.commit()
        return time.perf_counter() - started


async def bench_add(workdir: Path, corpus: Corpus, quick: bool, postgres: Any) -> Table:
    count, repeats = (300, 3) if quick else (2000, 7)
    table = Table("add_message, one message per call, searchable on return (per message)", "bare sqlite3 INSERT")
    batches = [corpus.messages(count, i * count) for i in range(repeats)]
    bare = _bare_connection(workdir / "bare_add.db")
    store = SqliteSessionStore(workdir / "add.db")
    session = await store.create_session("/bench")
    await store.add_message(session.id, batches[0][0])
    bare_times, store_times = [], []
    for batch in batches:  # interleaved, so that a disturbance hits both
        bare_times.append(_bare_adds(bare, [_plain(m) for m in batch]))
        store_times.append(await _adds(store, session.id, batch))
    last = batches[-1][-1].text.split()[0]
    assert any(m.message_content == batches[-1][-1].text for m in await store.search_chat_history(last, limit=1000))
    table.add("bare sqlite3 INSERT", _timing(bare_times, count))
    table.add("SQLite store add_message (async)", _timing(store_times, count), target=4.0)
    await store.aclose()
    bare.close()
    if postgres is not None:
        pg = postgres()
        pg_session = await pg.create_session("/bench")
        times = [await _adds(pg, pg_session.id, batch[: count // 4]) for batch in batches[:3]]
        table.add("PostgreSQL add_message (async)", _timing(times, count // 4))
        await _drop(pg)
    return table


async def bench_batches(workdir: Path, corpus: Corpus, quick: bool, postgres: Any) -> list[Table]:
    size, repeats = (2000, 3) if quick else (10_000, 5)
    conversation = corpus.messages(size)
    plain = [_plain(m) for m in conversation]
    bare = _bare_connection(workdir / "bare_batch.db")
    store = SqliteSessionStore(workdir / "batch.db")
    seed = await store.create_session("/bench")
    await store.replace_conversation(seed.id, conversation)
    exported = await store.export_session(seed.id)
    replace = Table(f"batch write of {size} messages (per message)", "bare executemany")
    imports = Table(f"import of an exported {size}-message session (per message)", "bare json.loads + executemany")
    timings: dict[str, list[float]] = {
        k: [] for k in ("bare", "replace", "indexed", "bare_import", "import", "imported")
    }
    for _ in range(repeats):
        with quiet_gc():
            started = time.perf_counter()
            bare.executemany(_BARE_INSERT, [("s", m["role"], json.dumps(m), m["created"]) for m in plain])
            bare.commit()
            timings["bare"].append(time.perf_counter() - started)
        session = await store.create_session("/bench")
        await store.flush()  # each timed call starts with the store idle …
        with quiet_gc():
            started = time.perf_counter()
            await store.replace_conversation(session.id, conversation)
            timings["replace"].append(time.perf_counter() - started)
            await store.flush()  # … and the background work it causes is timed on its own row
            timings["indexed"].append(time.perf_counter() - started)
        with quiet_gc():
            started = time.perf_counter()
            rows = [("s", m["role"], json.dumps(m), m["created"]) for m in json.loads(exported)["conversation"]]
            bare.executemany(_BARE_INSERT, rows)
            bare.commit()
            timings["bare_import"].append(time.perf_counter() - started)
        with quiet_gc():
            started = time.perf_counter()
            await store.import_session(exported)
            timings["import"].append(time.perf_counter() - started)
            await store.flush()
            timings["imported"].append(time.perf_counter() - started)
    replace.add("bare executemany", _timing(timings["bare"], size))
    replace.add("SQLite replace_conversation", _timing(timings["replace"], size), target=1.25)
    replace.add("SQLite replace_conversation + background work", _timing(timings["indexed"], size))
    imports.add("bare json.loads + executemany", _timing(timings["bare_import"], size))
    imports.add("SQLite import_session", _timing(timings["import"], size), target=1.25)
    imports.add("SQLite import_session + background work", _timing(timings["imported"], size))
    await store.aclose()
    bare.close()
    if postgres is not None:
        pg = postgres()
        times, import_times = [], []
        for _ in range(max(1, repeats // 2)):
            pg_session = await pg.create_session("/bench")
            started = time.perf_counter()
            await pg.replace_conversation(pg_session.id, conversation)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            await pg.import_session(exported)
            import_times.append(time.perf_counter() - started)
        replace.add("PostgreSQL replace_conversation", _timing(times, size))
        imports.add("PostgreSQL import_session", _timing(import_times, size))
        await _drop(pg)
    return [replace, imports]


_SEED_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '', working_dir TEXT NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL, content_json TEXT NOT NULL, created_timestamp INTEGER NOT NULL,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, tokens INTEGER, metadata_json TEXT);
CREATE INDEX idx_messages_session ON messages(session_id);
CREATE INDEX idx_messages_timestamp ON messages(timestamp);
"""


def _seed_search(conn: sqlite3.Connection, query: str, limit: int) -> list[Any]:
    """The seed's ``search_chat_history``: every word lower-cased into ``%word%``, OR-combined over the text
    parts of each message, newest first."""
    words = [f"%{w.lower()}%" for w in query.split()]
    where = " OR ".join("LOWER(json_extract(part.value, '$.text')) LIKE ?" for _ in words)
    return conn.execute(
        "SELECT m.session_id, s.description, m.role, m.content_json, m.timestamp "
        "FROM messages m JOIN sessions s ON s.id = m.session_id, json_each(m.content_json) part "
        f"WHERE json_extract(part.value, '$.type') = 'text' AND ({where}) ORDER BY m.timestamp DESC LIMIT ?",
        (*words, limit),
    ).fetchall()


def _queries(messages: list[Message], quick: bool) -> tuple[list[str], str]:
    frequency: dict[str, int] = {}
    for message in messages:
        for word in set(message.text.split()):
            frequency[word] = frequency.get(word, 0) + 1
    total = len(messages)
    rare = sorted(w for w, n in frequency.items() if n <= 50)
    medium = sorted(w for w, n in frequency.items() if 0.005 * total <= n <= 0.02 * total)
    common = sorted(w for w, n in frequency.items() if 0.05 * total <= n <= 0.15 * total)
    pick = random.Random(3)
    scale = 1 if quick else 3
    queries = pick.sample(rare, 9 * scale) + pick.sample(medium, 3 * scale) + pick.sample(common, 3 * scale)
    return queries, f"{9 * scale} rare, {3 * scale} in ~1 %, {3 * scale} in 5-15 % of messages"


async def bench_search(workdir: Path, corpus: Corpus, quick: bool, postgres: Any) -> list[Table]:
    total, per_session = (20_000, 100) if quick else (100_000, 200)
    messages = corpus.messages(total)
    store = SqliteSessionStore(workdir / "search.db")
    for start in range(0, total, per_session):
        session = await store.create_session("/bench", f"chat {start // per_session}")
        await store.replace_conversation(session.id, messages[start : start + per_session])
    await store.flush()  # indexed and merged before timing
    seed = sqlite3.connect(workdir / "seed.db")
    seed.executescript(_SEED_SCHEMA)
    seed.executemany("INSERT INTO sessions (id, working_dir) VALUES (?, '/bench')",
                     [(f"s{i}",) for i in range(total // per_session)])
    seed.executemany(
        "INSERT INTO messages (session_id, role, content_json, created_timestamp, timestamp) VALUES (?, ?, ?, ?, ?)",
        [(f"s{i // per_session}", m.role, json.dumps(_plain(m)["content"]), m.created,
          time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m.created))) for i, m in enumerate(messages)],
    )
    seed.commit()
    queries, mix = _queries(messages, quick)
    runs = 2 if quick else 3
    like: list[float] = []
    times: dict[str, list[float]] = {"any": [], "all": []}
    for _ in range(runs):  # passes alternate, so that a disturbance of the machine hits every system
        with quiet_gc():
            for query in queries:
                started = time.perf_counter()
                _seed_search(seed, query, 20)
                like.append(time.perf_counter() - started)
        for mode, seconds in times.items():
            with quiet_gc():
                for query in queries:
                    started = time.perf_counter()
                    await store.search_chat_history(query, limit=20, mode=mode)
                    seconds.append(time.perf_counter() - started)
    pg_times: dict[str, list[float]] = {"any": [], "all": []}
    if postgres is not None:
        pg = postgres()
        for start in range(0, total, per_session * 10):
            session = await pg.create_session("/bench")
            await pg.replace_conversation(session.id, messages[start : start + per_session * 10])
        for mode, seconds in pg_times.items():
            with quiet_gc():
                for query in queries * runs:  # each pass over the queries runs back to back, as for SQLite
                    started = time.perf_counter()
                    await pg.search_chat_history(query, limit=20, mode=mode)
                    seconds.append(time.perf_counter() - started)
        await _drop(pg)
    tables = []
    for name, index, target in (("p50", 9, 0.05), ("p95", 18, 0.2)):
        table = Table(f"search_chat_history over {total} messages, top 20, {name} over {len(queries)} queries "
                      f"x {runs} ({mix})", f"seed LIKE {name}")

        def stat(seconds: list[float], index: int = index) -> Timing:
            value = statistics.quantiles(sorted(s * 1e9 for s in seconds), n=20, method="inclusive")[index]
            return Timing(value, value, 1, (value,))

        table.add(f"seed LIKE {name}", stat(like))
        table.add(f"SQLite any-word {name}", stat(times["any"]), target=target)
        table.add(f"SQLite all-words {name}", stat(times["all"]), target=target)
        if pg_times["any"]:
            table.add(f"PostgreSQL any-word {name}", stat(pg_times["any"]))
            table.add(f"PostgreSQL all-words {name}", stat(pg_times["all"]))
        tables.append(table)
    await store.aclose()
    seed.close()
    return tables


async def _timed(make: Callable[[], Awaitable[Any]], repeats: int) -> Timing:
    times = []
    for _ in range(repeats):
        with quiet_gc():
            started = time.perf_counter()
            await make()
            times.append(time.perf_counter() - started)
    return _timing(times)


async def bench_reads(workdir: Path, corpus: Corpus, quick: bool, postgres: Any) -> Table:
    size, repeats = (1000, 3) if quick else (10_000, 5)
    table = Table(f"reads: get_session with {size} messages, list_sessions with {size} sessions", "SQLite get_session")
    stores: list[tuple[str, SessionStore]] = [("SQLite", SqliteSessionStore(workdir / "reads.db"))]
    if postgres is not None:
        stores.append(("PostgreSQL", postgres()))
    conversation = corpus.messages(size)
    for name, store in stores:
        big = await store.create_session("/bench", "big")
        await store.replace_conversation(big.id, conversation)
        for i in range(size - 1):
            await store.create_session("/bench", f"session {i}")
        table.add(f"{name} get_session", await _timed(lambda s=store, b=big.id: s.get_session(b, True), repeats))
        table.add(f"{name} list_sessions", await _timed(store.list_sessions, repeats))
        await _drop(store)
    return table


async def _run(quick: bool) -> list[Table]:
    postgres, why = _postgres()
    if why:
        print(why, flush=True)
    corpus = Corpus()
    with tempfile.TemporaryDirectory(prefix="pluginkit-bench-sessions-") as tmp:
        workdir = Path(tmp)
        tables = [await bench_add(workdir, corpus, quick, postgres)]
        tables += await bench_batches(workdir, corpus, quick, postgres)
        tables += await bench_search(workdir, corpus, quick, postgres)
        tables.append(await bench_reads(workdir, corpus, quick, postgres))
    return tables


def run(quick: bool) -> list[Table]:
    return asyncio.run(_run(quick))
