"""The native plugins' tests: the C test plugin, compiled at test time with the system C compiler."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

SOURCE = Path(__file__).with_name("plugin.c")


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``build(name, *defines)``: the test plugin compiled as ``<name>.so`` with ``-D`` defines."""
    directory = tmp_path_factory.mktemp("native")

    def compile_(name: str, *defines: str) -> Path:
        out = directory / f"{name}.so"
        if not out.exists():
            subprocess.run(
                ["cc", "-shared", "-fPIC", "-O1", "-o", str(out), str(SOURCE), *(f"-D{d}" for d in defines)],
                check=True, capture_output=True,
            )
        return out

    return compile_


