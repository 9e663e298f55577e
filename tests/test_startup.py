"""What importing pluginkit costs: the public names load on first use, the ABI table on first read.

Each check runs in a fresh interpreter, since this test process has imported everything already. Timing lives in
the benchmarks (``python -m benchmarks manager``, process start); these tests pin what is imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


HEAVY = {"asyncio", "attrs", "cattrs", "pluggy", "pluginkit.types", "pluginkit.runtime", "pluginkit.abi"}


def test_import_pluginkit_loads_none_of_the_runtime() -> None:
    loaded = modules_after("import pluginkit")
    assert not HEAVY & loaded, sorted(HEAVY & loaded)
    assert {m for m in loaded if m.startswith("pluginkit")} == {"pluginkit"}


def test_public_names_load_on_first_use() -> None:
    loaded = modules_after("import pluginkit\nassert pluginkit.PluginManager.__name__ == 'PluginManager'")
    assert {"pluginkit.runtime", "pluggy"} <= loaded


def test_the_abi_table_reads_its_families_on_first_use() -> None:
    before = modules_after("import pluginkit.abi")
    assert "pluginkit.types" not in before and "pluginkit.tools" not in before and "pluginkit.sessions" not in before
    after = modules_after("import pluginkit.abi\nassert len(pluginkit.abi.METHODS) > 41")
    families = {"pluginkit.abi._seed", "pluginkit.tools._methods", "pluginkit.sessions._methods"}
    assert {"pluginkit.types", *families} <= after


def test_the_command_line_help_imports_no_runtime() -> None:
    loaded = modules_after("import sys\nsys.argv = ['pluginkit', '--help']\nimport pluginkit.cli\n"
                           "try:\n    pluginkit.cli.main()\nexcept SystemExit:\n    pass")
    assert not HEAVY & loaded, sorted(HEAVY & loaded)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pluginkit

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pluginkit.Nope  # noqa: B018
    assert "PluginManager" in dir(pluginkit)
