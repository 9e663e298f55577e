"""``pluginkit list`` and ``pluginkit invoke`` with native plugins the configuration names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def pluginkit(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLUGINKIT_LOAD_PLUGINS": "native-sched,broken,isolated", "PLUGINKIT_NO_CACHE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pluginkit.cli", "--config", str(config), *args],
        capture_output=True, text=True, env=env, timeout=60,
    )


def test_list_shows_native_plugins_with_their_file_and_refusals_with_their_reason(
    build: Callable[..., Path], tmp_path: Path
) -> None:
    good, broken = build("good"), build("abi-2", "PLUGIN_ABI=2")
    config = tmp_path / "pluginkit.toml"
    config.write_text(
        f'[plugins.native-sched]\nlibrary = "{good}"\n[plugins.broken]\nlibrary = "{broken}"\n'
        f'[plugins.isolated]\nlibrary = "{good}"\nisolation = "process"\n'
    )
    listed = json.loads(pluginkit(config, "list", "--json").stdout)
    by_id = {p["id"]: p for p in listed}
    assert by_id["native-sched"]["source"] == "native" and by_id["native-sched"]["entry_point"] == str(good)
    assert by_id["native-sched"]["state"] == "active" and by_id["native-sched"]["capabilities"] == ["scheduler"]
    assert by_id["broken"]["state"] == "failed" and "plugin ABI version 2 is not supported" in by_id["broken"]["reason"]
    table = pluginkit(config, "list").stdout
    assert str(good) in table and "native-sched" in table
    assert by_id["isolated"]["source"] == "native-process" and by_id["isolated"]["state"] == "active"
    doctor = pluginkit(config, "doctor").stdout
    assert "native plugin" in doctor and "in process" in doctor and "process" in doctor
    assert "plugin ABI version 2 is not supported" in doctor
    picked = pluginkit(config, "invoke", "scheduler.pick", '{"Candidates": [{"ID": "native-pick"}]}')
    assert picked.returncode == 0 and json.loads(picked.stdout)["result"]["AuthID"] == "native-pick"
