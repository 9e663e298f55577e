"""The project's own promises checked by the suite: strict types, lint, import layering, a docs site that builds
cleanly, and no import hidden in a function without a reason."""

from __future__ import annotations

import ast
import shutil
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


def test_import_layers_hold() -> None:
    """The import-linter contracts of pyproject.toml: packages depend downward only, no package's modules import
    each other in a cycle, and the families use the runtime's package interface, not its private modules."""
    pytest.importorskip("importlinter")
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def function_level_imports(source: str) -> list[tuple[int, bool]]:
    """``(line, says why)`` for every import inside a function: it says why when a comment containing
    "deferred" sits on the import itself or on the line just above it."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    span = lines[inner.lineno - 2 : inner.end_lineno]
                    found.append((inner.lineno, any("#" in line and "deferred" in line.lower() for line in span)))
    return found


def test_function_level_imports_say_why_they_are_deferred() -> None:
    """An import inside a function is allowed only to defer an optional dependency or a slow import, and says so."""
    silent = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "pluginkit").rglob("*.py"))
        for line, says_why in function_level_imports(path.read_text())
        if not says_why
    ]
    assert not silent, "imports inside functions without a '# deferred: why' comment: " + ", ".join(silent)


def test_the_import_check_sees_a_silent_import() -> None:
    source = "def f():\n    import json\n\n\ndef g():\n    import csv  # deferred: slow\n"
    assert function_level_imports(source) == [(2, False), (6, True)]


def private_manager_reads(source: str) -> list[int]:
    """Lines reading an attribute starting with ``_`` of something called ``manager`` (``manager._plans``,
    ``self.manager._lock``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if name in {"manager", "_manager", "mgr"}:
                found.append(node.lineno)
    return found


def test_only_the_runtime_reads_the_managers_private_attributes() -> None:
    """Families reach the manager through ``manager.runtime`` (pluginkit.runtime.Runtime), never its insides."""
    reads = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "pluginkit").rglob("*.py"))
        if "runtime" not in path.relative_to(ROOT / "pluginkit").parts[:1]
        for line in private_manager_reads(path.read_text())
    ]
    assert not reads, "private manager attributes read outside pluginkit/runtime: " + ", ".join(reads)
    assert private_manager_reads("x = manager._plans\ny = self.manager._lock\nz = manager.runtime") == [1, 2]
