"""``pluginkit new KIND NAME``: a ready plugin distribution to start from, one per kind of plugin.

Each project is what a newcomer would copy from the examples, reduced to one working hookimpl: ``pyproject.toml``
naming the entry point, a module declaring the ABI version it was written for, a test that passes as generated
(it registers the module with a manager and calls the hook as a host would; a session store runs the conformance
kit), and a README. The module's hook is the place to start changing.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from pluginkit.cli._templates import KINDS, Kind

__all__ = ["add_commands", "write_project"]

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("new", help="write a ready plugin distribution of one kind, to start from")
    p.add_argument("kind", choices=sorted(KINDS), help="what the plugin does")
    p.add_argument("name", help="the plugin ID and distribution name: lower case, digits and dashes (my-scheduler)")
    p.add_argument("--dir", default=".", help="where to write the project's directory (default: here)")
    p.set_defaults(run=cmd_new)


def cmd_new(args: argparse.Namespace) -> int:
    root = write_project(args.kind, args.name, Path(args.dir))
    print(f"wrote {root}: pip install -e {root} && pytest {root / 'tests'}")
    return 0


def write_project(kind: str, name: str, where: Path) -> Path:
    """Write the project for plugin ``name`` of ``kind`` into ``where/name``; refuses to overwrite anything."""
    from pluginkit import ABI_VERSION, __version__  # deferred: `pluginkit --help` imports no runtime
    from pluginkit.errors import PluginKitError

    if kind not in KINDS:
        raise PluginKitError("invalid_request", f"unknown kind {kind!r}; one of {', '.join(sorted(KINDS))}")
    if not _NAME.match(name):
        raise PluginKitError("invalid_request", f"plugin name {name!r}: lower case letters, digits and dashes")
    root = where / name
    if root.exists():
        raise PluginKitError("invalid_request", f"{root} exists already: pick another name or directory")
    spec: Kind = KINDS[kind]
    package = name.replace("-", "_")
    values = {
        "name": name, "package": package, "abi": str(ABI_VERSION), "version": __version__, "kind": kind,
        "summary": spec.summary, "entry": f"{package}:{spec.entry}" if spec.entry else package,
        "extra": spec.extra,
    }
    files = {
        Path("pyproject.toml"): _PYPROJECT,
        Path("README.md"): _README,
        Path("src", package, "__init__.py"): spec.module,
        Path("tests", f"test_{package}.py"): spec.test,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values).lstrip("\n"), encoding="utf-8")
    return root


_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "{summary}"
requires-python = ">=3.11"
# Written for pluginkit's plugin ABI {abi} (the module's PLUGINKIT_ABI says so to the host).
dependencies = ["pluginkit>={version}"{extra}]
authors = [{{ name = "Your Name" }}]
urls = {{ Homepage = "https://github.com/you/{name}" }}

[project.optional-dependencies]
test = ["pluginkit[testing]"]

[project.entry-points.pluginkit]
{name} = "{entry}"

[tool.setuptools.packages.find]
where = ["src"]
"""

_README = """
# {name}

{summary} — a pluginkit plugin ({kind}), written for plugin ABI {abi}.

```console
pip install -e ".[test]"
pytest tests
pluginkit list            # {name} shows up, active
```

The hook in `src/{package}/__init__.py` is where to start; `docs/writing-plugins.md` in pluginkit says what every
hook receives and may answer. Set the author and repository in `pyproject.toml`: the host requires both.
"""
