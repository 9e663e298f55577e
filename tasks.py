#!/usr/bin/env python3
"""Run pluginkit's main jobs on a machine that has nothing but Python 3.11+.

    python3 tasks.py demo     # the end-to-end demo (what `pluginkit demo` shows)
    python3 tasks.py test     # the whole test suite (what CI runs)
    python3 tasks.py bench    # the benchmarks, printed as tables
    python3 tasks.py lint     # ruff + mypy --strict + import-linter (the layering contracts)
    python3 tasks.py docs     # build the documentation site, warnings as errors

The first run creates ``.venv/`` beside this file and installs pluginkit (editable) with its test, docs and
benchmark extras and every example plugin. Later runs reuse it, and reinstall only when a ``pyproject.toml``
changed. Anything after the job name is passed on (``python3 tasks.py test -k wire``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PLUGINKIT_VENV", ROOT / ".venv"))
STAMP = VENV / ".pluginkit-venv-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
#: What ruff checks (tests/test_quality.py checks the same, plus docs/).
LINTED = ("pluginkit", "tests", "conftest.py", "example_plugins", "benchmarks", "tasks.py")


def _example_plugins() -> list[Path]:
    root = ROOT / "example_plugins"
    return sorted(p.parent for p in root.glob("*/pyproject.toml"))


def _fingerprint() -> str:
    """What the environment is built from: pluginkit's project file, and every file of the example plugins (they
    are installed as built copies, so an edited source must reinstall them; pluginkit itself is editable) except
    their tests, which are not installed."""
    digest = hashlib.sha256(sys.version.encode())
    sources = [
        path
        for plugin in _example_plugins()
        for path in sorted(plugin.rglob("*"))
        if path.is_file() and path.suffix in {".py", ".toml", ".md", ".txt", ".cfg"} and "egg-info" not in str(path)
        and "build" not in path.relative_to(plugin).parts and path.relative_to(plugin).parts[0] != "tests"
    ]
    for path in [ROOT / "pyproject.toml", *sources]:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create or refresh the development environment when its inputs changed."""
    fingerprint = _fingerprint()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    if not PYTHON.exists():
        print(f"tasks.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test,bench,docs,lint]"], check=True)
    plugins = [str(p) for p in _example_plugins()]
    if plugins:
        subprocess.run([*pip, *plugins], check=True)
    STAMP.write_text(fingerprint)


def run(*args: str) -> int:
    return subprocess.run([str(a) for a in args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    job, rest = argv[0], argv[1:]
    ensure_venv()
    if job == "test":
        return run(PYTHON, "-m", "pytest", *rest)
    if job == "demo":
        return run(BIN / "pluginkit", "demo", *rest)
    if job == "bench":
        return run(PYTHON, "-m", "benchmarks", *rest)
    if job == "lint":
        return (
            run(PYTHON, "-m", "ruff", "check", *LINTED)
            or run(PYTHON, "-m", "mypy", "--strict", "pluginkit")
            or run(BIN / "lint-imports")
        )
    if job == "docs":
        return run(PYTHON, "-m", "mkdocs", "build", "--strict", "--site-dir", "site")
    print(f"tasks.py: unknown job {job!r}; try: demo, test, bench, lint, docs", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
