"""``pluginkit sessions list | show ID | export ID | import FILE | search QUERY`` on the configured store.

The store is the one a host would use (:func:`~pluginkit.sessions.open_session_store`): a plugin declaring
``session_store`` when one is active, else the SQLite store; ``--db PATH`` names a SQLite file instead.
Errors are one line on stderr and a non-zero exit (``pluginkit.cli._commands.main`` prints ``PluginKitError``\\ s).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pluginkit.cli._table import format_table
from pluginkit.errors import PluginKitError

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Add the ``sessions`` command and its subcommands to the ``pluginkit`` parser."""
    sessions = subparsers.add_parser("sessions", help="chat sessions in the configured session store")
    sessions.add_argument("--db", help="use the SQLite store in this file (default: the configured store)")
    sub = sessions.add_subparsers(dest="sessions_command", required=True)
    p = sub.add_parser("list", help="sessions, most recently updated first")
    p.add_argument("--all", action="store_true", help="every session type, not only user and scheduled")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_runner(_list))
    p = sub.add_parser("show", help="one session and its messages")
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="print the export JSON")
    p.set_defaults(run=_runner(_show))
    p = sub.add_parser("export", help="print a session as JSON (what import reads)")
    p.add_argument("id")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(run=_runner(_export))
    p = sub.add_parser("import", help="import an exported session (as a new session)")
    p.add_argument("file", help="the JSON file, or - for stdin")
    p.set_defaults(run=_runner(_import))
    p = sub.add_parser("search", help="search the chat history (the query is taken literally)")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--mode", choices=("any", "all"), default="any",
                   help="any word as a substring, newest first (the seed's search; default), or all words, ranked")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_runner(_search))


Handler = Callable[[Any, argparse.Namespace], Awaitable[int]]


def _runner(handler: Handler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import asyncio  # deferred: `pluginkit --help` need not import asyncio

        return asyncio.run(_with_store(handler, args))

    return run


async def _with_store(handler: Handler, args: argparse.Namespace) -> int:
    # deferred: the store, the runtime and asyncio load only when a sessions command runs, not for --help
    from asyncio import to_thread  # deferred, as above

    from pluginkit.runtime import PluginManager  # deferred, as above
    from pluginkit.sessions import SqliteSessionStore, open_session_store  # deferred, as above

    manager = None
    if args.db:
        store: Any = SqliteSessionStore(args.db)
    else:
        manager = PluginManager(args.config)
        store = await to_thread(open_session_store, manager)
    try:
        return await handler(store, args)
    finally:
        await store.aclose()
        if manager is not None:
            await to_thread(manager.shutdown)


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


async def _list(store: Any, args: argparse.Namespace) -> int:
    from pluginkit import wire  # deferred, as above
    from pluginkit.sessions import SessionType

    sessions = await (store.list_sessions_by_types(list(SessionType)) if args.all else store.list_sessions())
    if args.json:
        print(json.dumps([wire.to_wire(s) for s in sessions], indent=2, ensure_ascii=False))
        return 0
    if not sessions:
        print("no sessions")
        return 0
    rows = [(s.id, _one_line(s.name, 40) or "-", s.session_type, s.message_count, _when(s.updated_at))
            for s in sessions]
    print(format_table(rows, ("id", "name", "type", "messages", "updated (UTC)")))
    return 0


async def _show(store: Any, args: argparse.Namespace) -> int:
    if args.json:
        print(await store.export_session(args.id))
        return 0
    session = await store.get_session(args.id, include_messages=True)
    print(f"{session.id}  {session.name or '(unnamed)'}  [{session.session_type}]  {session.working_dir}")
    print(f"created {_when(session.created_at)}, updated {_when(session.updated_at)}, "
          f"{session.message_count} message(s)")
    for message in session.conversation or []:
        kinds = sorted({part.type for part in message.content if part.type != "text"})
        extra = f" [{', '.join(kinds)}]" if kinds else ""
        print(f"{message.role:>9}: {message.text}{extra}")
    return 0


async def _export(store: Any, args: argparse.Namespace) -> int:
    text = await store.export_session(args.id)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise PluginKitError("invalid_request", f"cannot write {args.output}: {exc.strerror}") from None
    else:
        print(text)
    return 0


async def _import(store: Any, args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PluginKitError("invalid_request", f"cannot read {args.file}: {why}") from None
    session = await store.import_session(text)
    print(f"imported as {session.id} ({session.message_count} message(s))")
    return 0


async def _search(store: Any, args: argparse.Namespace) -> int:
    from pluginkit import wire  # deferred, as above

    matches = await store.search_chat_history(args.query, limit=args.limit, mode=args.mode)
    if args.json:
        print(json.dumps([wire.to_wire(m) for m in matches], indent=2, ensure_ascii=False))
        return 0
    if not matches:
        print("no matches")
        return 0
    rows = [(m.session_id, m.message_role, _when(m.timestamp), f"{m.relevance_score:.3g}", _one_line(m.message_content))
            for m in matches]
    print(format_table(rows, ("session", "role", "time (UTC)", "score", "message")))
    return 0
