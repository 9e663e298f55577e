"""The conformance kit as a store author uses it: a pytest plugin found through the ``pytest11`` entry point,
one fixture, and the whole contract — which a faulty store fails."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import importlib_metadata
import pytest

AUTHOR_TESTS = '''
    import pytest
    from pluginkit.sessions import InMemorySessionStore


    class ForgetfulStore(InMemorySessionStore):
        """Loses the last message of every truncated conversation: a bug the kit must catch."""

        async def _truncate(self, session_id, timestamp, now):
            await super()._truncate(session_id, timestamp + 1, now)


    @pytest.fixture
    def pluginkit_session_store():
        return {store}()
'''


def _run(tmp_path: Path, store: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_my_store.py").write_text(textwrap.dedent(AUTHOR_TESTS.format(store=store)))
    return subprocess.run(
        # 30 sequences: which 10 a derandomized run draws moves with the kit's code, and not every ten of them
        # happen to truncate at a message's own time
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pluginkit-examples", "30",
         "--pluginkit-no-shrink", "--pluginkit-derandomize", "test_my_store.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )


def test_the_plugin_is_registered_through_pytest11() -> None:
    entry = [e for e in importlib_metadata.entry_points(group="pytest11") if e.name == "pluginkit"]
    assert [e.value for e in entry] == ["pluginkit.testing"]


def test_one_fixture_runs_the_whole_contract(tmp_path: Path) -> None:
    result = _run(tmp_path, "InMemorySessionStore")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_a_faulty_store_fails_the_contract(tmp_path: Path) -> None:
    result = _run(tmp_path, "ForgetfulStore")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TestSessionStoreContract::test_truncate_removes_at_or_after" in result.stdout
    assert "TestSessionStoreContract::test_random_sequences_match_the_model" in result.stdout


def test_a_derandomized_run_is_the_same_every_time() -> None:
    """``derandomize=True`` draws one fixed set of sequences: the model passes them, an off-by-one store fails them
    on every run, not by chance."""
    from pluginkit.sessions import InMemorySessionStore
    from pluginkit.testing import run_stateful_contract

    class OffByOne(InMemorySessionStore):
        async def _truncate(self, session_id: str, timestamp: int, now: int) -> None:  # type: ignore[override]
            await super()._truncate(session_id, timestamp + 1, now)

    run_stateful_contract(InMemorySessionStore(), max_examples=10, steps=10, derandomize=True)
    for _ in range(3):
        with pytest.raises((AssertionError, ExceptionGroup)):  # a group when several rules failed
            run_stateful_contract(OffByOne(), max_examples=50, shrink=False, derandomize=True)
