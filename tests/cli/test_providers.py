"""``pluginkit providers …`` against the pip-installed example providers: a real engine process, a real pull with
a progress bar, Ctrl-C in the middle of a pull, and no engine left running after any command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MODEL = "tiny-chat"
SIZE = 2 * 1024 * 1024


@pytest.fixture
def setup(on_path: Path, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The environment of a `pluginkit` process that sees both example providers, and their config file."""
    source = tmp_path / "source"
    source.mkdir()
    (source / f"{MODEL}.bin").write_bytes(os.urandom(SIZE))
    config = tmp_path / "pluginkit.toml"
    config.write_text(
        f'[plugins.local-engine]\nmodels_dir = "{tmp_path / "models"}"\nsource_dir = "{source}"\n'
        '[plugins.openai-remote]\nbase_url = "http://127.0.0.1:9"\n'
    )
    env = {
        **os.environ, "PYTHONPATH": str(on_path), "PLUGINKIT_NO_CACHE": "1", "PYTHONUNBUFFERED": "1",
        "PLUGINKIT_LOAD_PLUGINS": "local-engine,openai-remote", "PLUGINKIT_CONFIG": str(config),
    }
    return env, config


def pluginkit(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pluginkit.cli", "providers", *args], capture_output=True, text=True, env=env,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def engines() -> set[int]:
    """PIDs of running example engines (any left behind by a command is a leak)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().split(") ", 1)[1][0]
            except OSError:
                continue
            if b"pluginkit_local_engine/engine.py" in command and state != "Z":
                found.add(int(entry.name))
    return found


def test_list_status_and_supported_models(setup: tuple[dict[str, str], Path]) -> None:
    env, _ = setup
    listed = pluginkit(env, "list").stdout
    assert "local-engine" in listed and "openai-remote" in listed and "stopped" in listed
    rows = json.loads(pluginkit(env, "list", "--json").stdout)
    assert {r["name"]: r["type"] for r in rows} == {"local-engine": "local", "openai-remote": "remote"}
    assert "stopped" in pluginkit(env, "status", "-p", "local-engine").stdout
    supported = pluginkit(env, "models", "-p", "local-engine", "--supported").stdout
    assert "local-engine:chat:tiny-chat" in supported
    many = pluginkit(env, "models", check=False)
    assert many.returncode == 2 and "name the provider with --provider" in many.stderr


def test_pull_models_invoke_and_rm_leave_no_engine_running(setup: tuple[dict[str, str], Path]) -> None:
    env, _ = setup
    before = engines()
    pulled = pluginkit(env, "pull", MODEL, "-p", "local-engine")
    assert f"{MODEL}: success" in pulled.stdout
    assert "2.1/2.1 MB" in pulled.stdout  # rich's progress bar, at its end
    assert MODEL in pluginkit(env, "models", "-p", "local-engine").stdout
    request = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hello"}]})
    answer = json.loads(pluginkit(env, "invoke", "chat", request, "-p", "local-engine").stdout)
    assert answer["choices"][0]["message"]["content"]
    streamed = pluginkit(env, "invoke", "chat", request, "--stream", "-p", "local-engine").stdout
    assert streamed.count("data: ") > 2 and "[DONE]" in streamed
    refused = pluginkit(env, "invoke", "embed", "{}", "--stream", "-p", "local-engine", check=False)
    assert refused.returncode == 2 and "streaming_not_supported" in refused.stderr
    assert "deleted" in pluginkit(env, "rm", MODEL, "-p", "local-engine").stdout
    assert MODEL not in pluginkit(env, "models", "-p", "local-engine").stdout
    assert engines() <= before  # every engine a command started stopped with it


def test_health_reports_an_unreachable_remote_as_down(setup: tuple[dict[str, str], Path]) -> None:
    env, _ = setup
    done = pluginkit(env, "health", "-p", "openai-remote", check=False)
    assert done.returncode == 1 and "down" in done.stdout


def test_ctrl_c_stops_a_pull_cleanly(setup: tuple[dict[str, str], Path]) -> None:
    env, config = setup
    throttled = config.read_text().replace("[plugins.openai-remote]", "pull_rate = 1000000\n[plugins.openai-remote]")
    config.write_text(throttled)
    before = engines()
    pull = subprocess.Popen(
        [sys.executable, "-m", "pluginkit.cli", "providers", "pull", MODEL, "-p", "local-engine"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + 30
    while not engines() - before and time.monotonic() < deadline:  # the pull has started its engine
        time.sleep(0.05)
    time.sleep(0.5)  # and is copying (about 2 s at this rate)
    pull.send_signal(signal.SIGINT)
    out, err = pull.communicate(timeout=30)
    assert pull.returncode == 130, (out, err)
    assert "[cancelled]" in err and "Traceback" not in err
    assert f"{MODEL}: success" not in out
    models = Path(config.read_text().split('models_dir = "')[1].split('"')[0])
    assert not (models / f"{MODEL}.bin").exists()  # no half model left in the store
    time.sleep(0.2)
    assert engines() <= before
