"""Native plugins (the seed host's C ABI): one ``scheduler.pick`` through ``invoke``, answered by a C library
against the same answer from a Python plugin.

The C plugin is the test suite's (``tests/native/plugin.c``), compiled here with the system C compiler (``-O2``,
``-DQUIET``: it answers without calling the host back). Target: at most 3x the Python plugin. The native call does
what the seed host does per call: the params written as the seed's JSON, the call through the C table (ctypes,
the GIL released), the response copied and freed by the library's ``free_buffer``, the envelope read. The same
library in a child process (``isolation = "process"``) is reported beside it: each call crosses two pipes.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from benchmarks._harness import Case, Table, compare, sync_sampler
from pluginkit import PluginManager, hookimpl
from pluginkit import types as t
from pluginkit.native._plugin import load_native

SOURCE = Path(__file__).resolve().parent.parent / "tests" / "native" / "plugin.c"
PYTHON = "Python plugin through invoke"
NATIVE = "native (C) plugin through invoke"
ISOLATED = "native, isolation = process (reported)"
TARGET = 3.0
PARAMS = {"Model": "m", "Candidates": [{"ID": "other"}, {"ID": "native-pick"}]}


class PythonScheduler:
    """The same answer as the C plugin's, from Python."""

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(capabilities=t.Capabilities(scheduler=True))

    @hookimpl
    def scheduler_pick(self, params: t.SchedulerPickRequest) -> t.SchedulerPickResult:
        return t.SchedulerPickResult(auth_id="native-pick", handled=True)


def call_table(quick: bool) -> Table:
    table = Table("scheduler.pick through invoke", baseline=PYTHON)
    with tempfile.TemporaryDirectory(prefix="pluginkit-bench-native-") as directory:
        library = Path(directory) / "native.so"
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-DQUIET", "-o", str(library), str(SOURCE)], check=True)
        native = PluginManager(entry_points=False, environ={})
        load_native(native, None, paths={"native": library})
        isolated_config = {"plugins": {"isolated": {"library": str(library), "isolation": "process"}}}
        isolated = PluginManager(isolated_config, entry_points=False, environ={})
        load_native(isolated)
        python = PluginManager(entry_points=False, environ={})
        python.register(PythonScheduler(), "python")
        for manager in (native, python, isolated):
            if manager.invoke("scheduler.pick", PARAMS).result.auth_id != "native-pick":
                raise AssertionError("the plugins do not give the same answer")
        compare(table, [
            Case(PYTHON, sync_sampler(lambda: python.invoke("scheduler.pick", PARAMS))),
            Case(NATIVE, sync_sampler(lambda: native.invoke("scheduler.pick", PARAMS)), target=TARGET),
            Case(ISOLATED, sync_sampler(lambda: isolated.invoke("scheduler.pick", PARAMS))),
        ], quick=quick)
        isolated.shutdown()
        native.shutdown()
        python.shutdown()
    return table


def run(quick: bool) -> list[Table]:
    return [call_table(quick)]
