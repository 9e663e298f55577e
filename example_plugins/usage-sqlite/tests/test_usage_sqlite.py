"""``usage-sqlite`` (pip-installed, called through a real PluginManager): records written from many threads and
summarised, by function and by ``python -m pluginkit_usage_sqlite``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pluginkit import types as t
from tests.helpers import plugins


def usage_record(model: str, number: int, *, failed: bool = False, stream: bool = False) -> t.UsageRecord:
    return t.UsageRecord(
        provider="local", model=model, api_key="sk-never-stored-123456", latency_ns=(10 + number) * 1_000_000,
        ttft_ns=5_000_000 if stream else 0, failed=failed,
        failure=t.UsageFailure(status_code=429 if failed else 0),
        detail=t.UsageDetail(input_tokens=100, output_tokens=number, total_tokens=100 + number),
    )


def test_usage_rows_are_written_from_many_threads_and_summarised(on_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    with plugins(on_path, "usage-sqlite", config={"plugins": {"usage-sqlite": {"path": str(path)}}}) as m:
        assert not path.exists()  # loading creates nothing

        def worker(offset: int) -> None:
            for number in range(25):
                m.call("usage.handle", usage_record("claude-x", number, failed=number == 0, stream=offset % 2 == 1))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        m.call("usage.handle", usage_record("gpt-4o", 90))
    usage = importlib.import_module("pluginkit_usage_sqlite")
    rows = usage.summary(path)
    assert [r.model for r in rows] == ["claude-x", "gpt-4o"]
    claude, gpt = rows
    assert (claude.requests, claude.failures, claude.input_tokens, claude.output_tokens) == (200, 8, 20_000, 8 * 300)
    assert claude.mean_latency_ms == pytest.approx(22.0) and claude.mean_ttft_ms == pytest.approx(5.0)
    assert (gpt.requests, gpt.failures, gpt.output_tokens) == (1, 0, 90)
    assert (gpt.mean_latency_ms, gpt.mean_ttft_ms) == (100.0, None)
    assert b"sk-never-stored" not in path.read_bytes()
    table = usage.format_summary(rows).splitlines()
    assert table[0].split() == ["model", "requests", "failures", "input", "tokens", "output", "tokens", "mean",
                                "latency", "ms", "mean", "TTFT", "ms"]
    assert table[2].split() == ["claude-x", "200", "8", "20000", "2400", "22.0", "5.0"]
    assert table[3].split() == ["gpt-4o", "1", "0", "100", "90", "100.0", "-"]

    env = {**os.environ, "PYTHONPATH": str(on_path)}
    command = [sys.executable, "-m", "pluginkit_usage_sqlite", "--path", str(path)]
    printed = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    assert printed.splitlines() == table
    missing = subprocess.run([*command[:-1], str(tmp_path / "none.sqlite3")], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "no usage database" in missing.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_usage_default_path_honours_xdg_data_home(
    on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with plugins(on_path, "usage-sqlite") as m:
        m.call("usage.handle", usage_record("m", 1))
    usage = importlib.import_module("pluginkit_usage_sqlite")
    assert usage.default_path() == tmp_path / "data" / "pluginkit" / "usage.sqlite3"
    assert [r.requests for r in usage.summary(usage.default_path())] == [1]
    home = Path.home() / ".local" / "share" / "pluginkit" / "usage.sqlite3"
    assert usage.default_path({}) == usage.default_path({"XDG_DATA_HOME": "relative/ignored"}) == home

