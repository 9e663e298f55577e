"""``pluginkit new``: every kind's project installs with pip, loads as an active plugin from its entry point, and
its own tests pass as generated (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pluginkit import PluginKitError, PluginManager, PluginState
from pluginkit.cli import main
from pluginkit.cli._new import write_project
from pluginkit.cli._templates import KINDS
from tests.helpers import pip_install


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One project per kind, written by the command line, all installed into one site directory."""
    projects = tmp_path_factory.mktemp("projects")
    for kind in KINDS:
        assert main(["new", kind, f"my-{kind}", "--dir", str(projects)]) == 0
    site = tmp_path_factory.mktemp("site")
    pip_install(site, *sorted(projects.iterdir()))
    return projects, site


def test_every_kind_loads_active_from_its_entry_point(
    generated: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, site = generated
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    ids = [f"my-{kind}" for kind in KINDS]
    environ = {"PLUGINKIT_LOAD_PLUGINS": ",".join(ids)}
    with PluginManager(search_path=[str(site)], cache=False, environ=environ) as manager:
        for plugin_id in ids:
            info = manager.plugin(plugin_id)
            assert info.state is PluginState.ACTIVE, (plugin_id, info.reason)
            assert not info.problems, (plugin_id, info.problems)
    for name in set(sys.modules) - before:
        if name.startswith("my_"):
            del sys.modules[name]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_generated_tests_pass_as_they_are(generated: tuple[Path, Path], kind: str) -> None:
    projects, site = generated
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=projects / f"my-{kind}", capture_output=True, text=True, env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_names_and_places_are_checked(tmp_path: Path) -> None:
    with pytest.raises(PluginKitError, match="lower case letters"):
        write_project("scheduler", "My_Plugin", tmp_path)
    with pytest.raises(PluginKitError, match="unknown kind"):
        write_project("painter", "x", tmp_path)
    write_project("usage", "twice", tmp_path)
    with pytest.raises(PluginKitError, match="exists already"):
        write_project("usage", "twice", tmp_path)
