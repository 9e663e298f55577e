"""Fixtures shared by every test tree: ``tests/`` and each example plugin's ``example_plugins/<name>/tests/``.

Real plugin distributions, installed with pip into an isolated directory. The helpers behind them, and those the
example plugins' tests share, are in :mod:`tests.helpers`.

An example plugin's ``tests/`` directory is not a package (its name would clash with this repository's ``tests``
package), so pytest imports its modules by file name: keep those names unique across the example plugins.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The helpers assert what they read (SSE framing, stream order): rewrite their asserts as pytest does a test's.
pytest.register_assert_rewrite("tests.helpers")

from tests.helpers import EXAMPLE_PLUGINS, FIXTURE_PLUGINS, pip_install  # noqa: E402


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
