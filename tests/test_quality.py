"""The project's own promises checked by the suite: strict types, lint, a docs site that builds cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    result = run("mypy", "--strict", "pluginkit")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff() -> None:
    pytest.importorskip("ruff")
    result = run(
        "ruff", "check", "pluginkit", "tests", "conftest.py", "example_plugins", "benchmarks", "tasks.py", "docs"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    result = run("mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site"))
    assert result.returncode == 0, result.stdout + result.stderr
