"""``pluginkit sessions …`` on the configured store: list, show, export, import, search, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pluginkit.cli._commands import main
from pluginkit.sessions import Message, SqliteSessionStore


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A session database holding one conversation, made the default store; no installed plugin is loaded."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PLUGINKIT_SESSIONS_DB", str(path))
    monkeypatch.setenv("PLUGINKIT_LOAD_PLUGINS", "")
    store = SqliteSessionStore(path).sync()
    session = store.create_session("/work/app", "plugin questions")
    store.add_message(session.id, Message.user("How do I write a plugin?", created=1_700_000_000))
    store.add_message(session.id, Message.assistant("Declare an entry point named pluginkit.", created=1_700_000_060))
    store.create_session("/w", "hidden one", "hidden")
    store.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _first_id(capsys: pytest.CaptureFixture[str]) -> str:
    code, out, _ = run(capsys, "sessions", "list", "--json")
    assert code == 0
    return str(json.loads(out)[0]["id"])


def test_list_shows_user_sessions_and_all_with_a_flag(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sessions", "list")
    assert code == 0 and "plugin questions" in out and "hidden one" not in out
    assert "hidden one" in run(capsys, "sessions", "list", "--all")[1]


def test_show_export_import_round_trip(database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session_id = _first_id(capsys)
    code, out, _ = run(capsys, "sessions", "show", session_id)
    assert code == 0 and "user: How do I write a plugin?" in out and "2 message(s)" in out
    exported = tmp_path / "export.json"
    assert run(capsys, "sessions", "export", session_id, "-o", str(exported))[0] == 0
    assert json.loads(exported.read_text())["name"] == "plugin questions"
    code, out, _ = run(capsys, "sessions", "import", str(exported))
    assert code == 0 and out.startswith("imported as ") and "(2 message(s))" in out
    assert json.loads(run(capsys, "sessions", "show", session_id, "--json")[1])["id"] == session_id


def test_search_prints_matches(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sessions", "search", "entry point")
    assert code == 0 and "Declare an entry point named pluginkit." in out and "assistant" in out
    assert run(capsys, "sessions", "search", "nothing here")[1].strip() == "no matches"
    code, out, _ = run(capsys, "sessions", "search", "plugin", "--json", "--mode", "all")
    assert [m["message_role"] for m in json.loads(out)] == ["user"]
    code, out, _ = run(capsys, "sessions", "search", "plugin", "--json")  # the seed's any-word substring search
    assert [m["message_role"] for m in json.loads(out)] == ["assistant", "user"]


def test_errors_are_one_line_and_non_zero(database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sessions", "show", "19990101_1")
    assert (code, out, err) == (2, "", "pluginkit: not_found: session '19990101_1' not found\n")
    code, _, err = run(capsys, "sessions", "import", str(tmp_path / "missing.json"))
    assert code == 2 and err.count("\n") == 1 and "cannot read" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    code, _, err = run(capsys, "sessions", "import", str(bad))
    assert code == 2 and err.startswith("pluginkit: invalid_request: import JSON is malformed")


def test_db_option_names_another_file(database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sessions", "--db", str(tmp_path / "other.db"), "list")
    assert (code, out.strip()) == (0, "no sessions")
