"""pluginkit's pytest plugin: the session store conformance kit.

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

This module imports only pytest and pluginkit, so it loads in every pytest run of an environment where
pluginkit is installed; hypothesis is imported by the stateful test alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from pluginkit.testing._contract import SessionStoreContract, StoreDriver

__all__ = ["FIXTURE", "SessionStoreContract", "StoreDriver", "run_stateful_contract"]

#: The fixture a store author defines.
FIXTURE = "pluginkit_session_store"
_CLASS = "TestSessionStoreContract"


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
    """A module defining the ``pluginkit_session_store`` fixture also collects the contract's tests."""
    if name == FIXTURE and isinstance(collector, pytest.Module) and _is_fixture(obj):
        module = collector.obj
        if hasattr(module, _CLASS):  # the module collects the contract itself
            return None
        setattr(module, _CLASS, SessionStoreContract)  # pytest collects a class by looking it up on its module
        return pytest.Class.from_parent(collector, name=_CLASS)
    return None
