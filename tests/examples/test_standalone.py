"""Every example plugin installs and loads on its own (issue 15): a newcomer copies one, not a set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE_PLUGINS, pip_install


@pytest.mark.parametrize("project", EXAMPLE_PLUGINS, ids=lambda p: p.name)
def test_an_example_needs_no_other_example(project: Path, tmp_path: Path) -> None:
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    depends = {requirement.split(">")[0].split("=")[0].split("<")[0].strip() for requirement in meta["dependencies"]}
    assert not {d for d in depends if d.endswith("-example")}, f"{project.name} depends on another example"
    # installed alone, each entry point loads with nothing else from example_plugins/ on the path
    pip_install(tmp_path, project)
    names = list(meta["entry-points"]["pluginkit"])
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PLUGINKIT_NO_CACHE": "1",
           "PLUGINKIT_LOAD_PLUGINS": ",".join(names)}
    code = (
        "import json, sys\n"
        "from pluginkit import PluginManager\n"
        f"m = PluginManager(search_path=[{str(tmp_path)!r}], cache=False).load()\n"
        "states = {p.id: p.state.value for p in m.plugins()}\n"
        "m.shutdown()\n"
        "print(json.dumps({'states': states, 'modules': sorted(n for n in sys.modules if n.endswith('_example')\n"
        "    or n.startswith('pluginkit_'))}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["states"]) == set(names)
    assert all(state in ("active", "disabled") for state in report["states"].values()), report  # disabled: unconfigured
    # the example's own modules only: the venv has the other examples too, so importing one would go unnoticed
    packages = {path.name for path in (project / "src").iterdir() if path.is_dir() and not path.name.endswith("info")}
    assert {name.split(".")[0] for name in report["modules"]} <= packages, report["modules"]
