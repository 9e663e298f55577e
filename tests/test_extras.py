"""The `testing` extra holds what the conformance kits import, and nothing the project's own suite needs."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_testing_extra_is_light() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {requirement.split(">")[0].split("[")[0] for requirement in extras["testing"]}
    assert names == {"pytest", "hypothesis"}
    # what pluginkit.testing imports, beyond pluginkit's own dependencies
    source = "\n".join(path.read_text() for path in (ROOT / "pluginkit" / "testing").glob("*.py"))
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    third_party = imported - {"__future__", "pluginkit", "asyncio", "collections", "datetime", "re", "typing",
                              "contextlib", "threading", "itertools", "functools", "os", "json", "math", "time",
                              "orjson", "attrs", "dataclasses", "inspect", "pathlib", "types", "textwrap", "sys"}
    assert third_party <= names, third_party
