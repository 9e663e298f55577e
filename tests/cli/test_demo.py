"""The README's main job: `pluginkit demo`, with the example plugins and without any plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = "openai-anthropic,local-executor,redact,scheduler,usage-sqlite,local-engine"


def demo(site: Path, load: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "PLUGINKIT_NO_CACHE": "1", "PLUGINKIT_LOAD_PLUGINS": load}
    return subprocess.run(
        [sys.executable, "-m", "pluginkit.cli", "demo"], capture_output=True, text=True, env=env, timeout=120
    )


def test_demo_with_the_example_plugins(plugin_site: Path) -> None:
    result = demo(plugin_site, EXAMPLES)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "(executor: local)" in out and "You said: Hello pluginkit!" in out
    answers = [part.split("\n")[0] for part in out.split("assistant:")[1:]]
    assert len(answers) == 2  # streamed and not
    assert all("sk-demo" not in a and "ada@example.com" not in a and "[redacted]" in a for a in answers)
    for stage in (
        "request.intercept_before",
        "scheduler.pick",
        "request.translate",
        "executor.execute",
        "response.translate",
        "executor.execute_stream",
        "response.intercept_stream_chunk",
    ):
        assert stage in out, stage
    assert "via round-robin delegate" in out
    assert "demo-model         2" in out  # the usage recorder's summary: both requests recorded
    assert "(SqliteSessionStore): 2 messages" in out and "search 'said' → assistant" in out
    # the AI-service provider: its engine started on first use, a model pulled, a request it answered
    assert "engine started on first use: 127.0.0.1:" in out and "pulled tiny-chat: " in out
    assert "assistant (tiny-chat): tiny-chat heard: Hello engine!" in out and "native local-engine answered" in out


def test_demo_without_plugins_runs_on_the_built_ins(plugin_site: Path) -> None:
    result = demo(plugin_site, "")
    assert result.returncode == 0, result.stderr
    assert "(executor: builtin)" in result.stdout and "(built-in echo) You said" in result.stdout
    assert "openai-anthropic   request.translate / response.translate" in result.stdout
    assert "no provider plugin is active" in result.stdout
