"""Invalid text never reaches a plugin (issue 12, item 5): a lone surrogate anywhere in JSON-like input — which
Python's ``json`` accepts — and absurd nesting are the caller's ``invalid_request``, naming where; a store that
would have crashed on such text keeps serving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginManager, PluginState, wire
from pluginkit import types as t
from pluginkit.sessions import SessionStorePlugin, SqliteSessionStore
from pluginkit.wire._scalars import MAX_NESTING, check_text

LONE = json.loads('"bad \\ud800 text"')  # what the stdlib parser makes of a client's "\ud800" escape


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"Model": LONE}, "Model"),
        ({"Candidates": [{"ID": "ok"}, {"ID": LONE}]}, "Candidates[1].ID"),
        ({"Headers": {"X-Thing": ["fine", LONE]}}, "Headers.X-Thing[1]"),
        ({"Metadata": {LONE: 1}}, "Metadata"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_where(data: dict[str, Any], where: str) -> None:
    with pytest.raises(wire.WireError) as caught:
        wire.from_wire(data, t.SchedulerPickRequest)
    assert "not valid Unicode" in str(caught.value) and caught.value.location == where


def test_json_text_with_a_surrogate_escape_is_refused_too() -> None:
    with pytest.raises(wire.WireError):
        wire.from_wire('{"Model": "\\ud800"}', t.SchedulerPickRequest)


def test_valid_text_passes_untouched() -> None:
    text = "héllo 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓"
    assert wire.from_wire({"Model": text}, t.SchedulerPickRequest).model == text
    check_text({"a": [text, {"b": (text,)}], text: 1})


def test_nesting_is_bounded_without_recursion() -> None:
    deep: Any = "x"
    for _ in range(MAX_NESTING + 10):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested deeper"):
        check_text(deep)
    check_text(json.loads("[" * 100 + "]" * 100))


def test_client_text_alone_never_fuses_a_store(tmp_path: Path) -> None:
    with PluginManager(entry_points=False, environ={}) as manager:
        manager.register(SessionStorePlugin(SqliteSessionStore(tmp_path / "s.db")), "store")
        bad = manager.invoke("session.create_session", {"working_dir": "/w", "name": LONE})
        assert bad.error.code == "invalid_request" and bad.error.message.startswith("name:")
        made = manager.invoke("session.create_session", {"working_dir": "/w", "name": "fine"})
        assert made.ok, made.error
        session_id = made.result.id
        bad = manager.invoke("session.add_message", {"id": session_id, "message": {"role": "user", "content": [
            {"type": "text", "text": LONE}]}})
        assert bad.error.code == "invalid_request"
        assert manager.plugin("store").state is PluginState.ACTIVE
        assert manager.invoke("session.get_session", {"id": session_id}).ok


def test_a_store_crashing_on_a_hosts_typed_text_is_not_fused(tmp_path: Path) -> None:
    """Typed params skip the wire: when a plugin crashes on text no plugin could take, the input is blamed, not
    the plugin (``invalid_request``, naming the field) and the store keeps serving."""
    import asyncio

    from pluginkit.sessions import Message, open_session_store

    async def main() -> None:
        with PluginManager(entry_points=False, environ={}) as manager:
            manager.register(SessionStorePlugin(SqliteSessionStore(tmp_path / "s.db")), "store")
            store = open_session_store(manager)
            session = await store.create_session("/w", "fine")
            with pytest.raises(Exception) as caught:
                await store.add_message(session.id, Message.user(LONE))
            assert getattr(caught.value, "code", "") == "invalid_request" and "not valid Unicode" in str(caught.value)
            assert manager.plugin("store").state is PluginState.ACTIVE
            await store.add_message(session.id, Message.user("fine"))
            assert (await store.get_session(session.id, include_messages=True)).message_count == 1

    asyncio.run(main())
