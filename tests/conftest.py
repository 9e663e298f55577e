"""Shared fixtures: real plugin distributions, installed with pip into an isolated directory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PLUGINS = sorted(p for p in (ROOT / "tests" / "plugins").iterdir() if (p / "pyproject.toml").exists())
EXAMPLE_PLUGINS = sorted(p for p in (ROOT / "example_plugins").iterdir() if (p / "pyproject.toml").exists())


def pip_install(target: Path, *projects: Path) -> None:
    """``pip install --target``: real wheels built from real pyproject.toml files, real dist-info on disk."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *map(str, projects),
        ],
        check=True,
    )


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding every test-fixture plugin and every example plugin, installed by pip."""
    target = tmp_path_factory.mktemp("site-packages")
    pip_install(target, *FIXTURE_PLUGINS, *EXAMPLE_PLUGINS)
    return target


@pytest.fixture
def on_path(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Make the installed plugins importable for the test, and forget their modules afterwards."""
    monkeypatch.syspath_prepend(str(plugin_site))
    before = set(sys.modules)
    yield plugin_site
    for name in set(sys.modules) - before:
        if name.startswith(("pk_", "pluginkit_")) and not name.startswith("pluginkit."):
            del sys.modules[name]
