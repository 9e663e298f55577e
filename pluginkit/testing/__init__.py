"""pluginkit's pytest plugin: the conformance kits — session stores, and every other plugin family.

Installed with pluginkit (entry point ``pytest11``), it gives a store author one fixture to point at their store::

    # tests/test_my_store.py
    import pytest
    from my_store import MyStore

    @pytest.fixture
    def pluginkit_session_store(tmp_path):
        return MyStore(tmp_path / "sessions.db")

and a test module defining that fixture gets the whole contract as ``TestSessionStoreContract``: one test per
documented rule, and a hypothesis state machine driving random sequences of all 18 methods against the
in-memory model. ``--pluginkit-examples N`` sets how many random sequences run (default 20); ``--pluginkit-no-shrink``
reports a failing sequence without minimising it first; ``--pluginkit-derandomize`` draws the same sequences on
every run. A class can
also subclass :class:`SessionStoreContract` and define the fixture itself.

The other families work the same way, each with its fixture (see ``docs/testing.md``): ``pluginkit_scheduler``,
``pluginkit_translator``, ``pluginkit_interceptor``, ``pluginkit_stream_interceptor``, ``pluginkit_executor``,
``pluginkit_usage_recorder``, ``pluginkit_tools``, ``pluginkit_stream_hub``, ``pluginkit_message_plugin``,
``pluginkit_provider``.

This module imports only pytest and pluginkit, so it loads in every pytest run of an environment where
pluginkit is installed; hypothesis is imported by the tests that draw random inputs.
"""

from __future__ import annotations

from typing import Any

import pytest

from pluginkit.testing._contract import SessionStoreContract, StoreDriver
from pluginkit.testing._kits import (
    ExecutorContract,
    RequestInterceptorContract,
    SchedulerContract,
    StreamInterceptorContract,
    ToolsContract,
    TranslatorContract,
    UsageRecorderContract,
)
from pluginkit.testing._providers_kit import ProviderContract, ProviderSubject
from pluginkit.testing._streams_kit import MessagePluginContract, StreamHubContract

__all__ = [
    "FIXTURE",
    "KITS",
    "ExecutorContract",
    "MessagePluginContract",
    "ProviderContract",
    "ProviderSubject",
    "RequestInterceptorContract",
    "SchedulerContract",
    "SessionStoreContract",
    "StoreDriver",
    "StreamHubContract",
    "StreamInterceptorContract",
    "ToolsContract",
    "TranslatorContract",
    "UsageRecorderContract",
    "run_stateful_contract",
]

#: The fixture a store author defines.
FIXTURE = "pluginkit_session_store"

#: Fixture → the kit a module defining it collects (as ``Test<kit's name>``).
KITS: dict[str, type] = {
    FIXTURE: SessionStoreContract,
    "pluginkit_scheduler": SchedulerContract,
    "pluginkit_translator": TranslatorContract,
    "pluginkit_interceptor": RequestInterceptorContract,
    "pluginkit_stream_interceptor": StreamInterceptorContract,
    "pluginkit_executor": ExecutorContract,
    "pluginkit_usage_recorder": UsageRecorderContract,
    "pluginkit_tools": ToolsContract,
    "pluginkit_stream_hub": StreamHubContract,
    "pluginkit_message_plugin": MessagePluginContract,
    "pluginkit_provider": ProviderContract,
}


def run_stateful_contract(
    store: Any,
    *,
    max_examples: int = 20,
    steps: int = 30,
    runner: Any = None,
    shrink: bool = True,
    derandomize: bool = False,
) -> None:
    """Drive ``store`` and the in-memory model with random sequences of all 18 methods (hypothesis) and raise
    ``AssertionError`` on the first difference — the kit's stateful test, callable outside pytest too.
    ``derandomize=True`` draws the same sequences on every run."""
    from pluginkit.testing._stateful import run_stateful_contract as run  # deferred: hypothesis is slow to import

    run(store, max_examples=max_examples, steps=steps, runner=runner, shrink=shrink, derandomize=derandomize)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pluginkit", "pluginkit session store conformance kit")
    group.addoption(
        "--pluginkit-examples", dest="pluginkit_examples", type=int, default=20,
        help="random sequences the session store state machine runs (default: 20)",
    )
    group.addoption(
        "--pluginkit-no-shrink", dest="pluginkit_no_shrink", action="store_true",
        help="report the first failing sequence as found, without shrinking it (faster failures)",
    )
    group.addoption(
        "--pluginkit-derandomize", dest="pluginkit_derandomize", action="store_true",
        help="draw the same random sequences on every run (reproducible CI)",
    )


def _is_fixture(obj: Any) -> bool:
    return getattr(obj, "_fixture_function_marker", None) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> Any:
    """A module defining a kit's fixture (``pluginkit_session_store``, ``pluginkit_scheduler``, …) also collects
    that kit's tests."""
    kit = KITS.get(name)
    if kit is not None and isinstance(collector, pytest.Module) and _is_fixture(obj):
        module = collector.obj
        class_name = "Test" + kit.__name__
        if hasattr(module, class_name):  # the module collects the kit itself
            return None
        setattr(module, class_name, kit)  # pytest collects a class by looking it up on its module
        return pytest.Class.from_parent(collector, name=class_name)
    return None
