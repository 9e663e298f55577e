"""The ``pluginkit`` command line: list plugins, show the ABI table, invoke a method, diagnose, demo.

Every command reads the same sources as the library (the ABI table, the manager); errors are one line on
stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pluginkit.cli import _abi
from pluginkit.cli import _chat as chat
from pluginkit.cli import _new as new
from pluginkit.cli import _providers as providers
from pluginkit.cli import _sessions as sessions
from pluginkit.cli import _tools as tools
from pluginkit.cli._table import format_table

__all__ = ["build_parser", "main"]


def _manager(args: argparse.Namespace) -> Any:
    from pluginkit.runtime import PluginManager  # deferred: `pluginkit --help` need not import the runtime

    return PluginManager(args.config)


def _loaded(args: argparse.Namespace) -> Any:
    """A manager with every plugin loaded: the installed ones, and the native libraries the configuration
    enables."""
    from pluginkit.native._plugin import load_native  # deferred: ctypes loads only when a command runs

    manager = _manager(args)
    manager.load()
    load_native(manager)
    return manager


def _load_and_list(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """Load every plugin, list them, shut the manager down; the manager still answers for conflicts."""
    manager = _loaded(args)
    try:
        return manager, manager.plugins()
    finally:
        manager.shutdown()


def cmd_list(args: argparse.Namespace) -> int:
    _, plugins = _load_and_list(args)
    if args.json:
        print(json.dumps([p.to_dict() for p in plugins], indent=2))
        return 0
    if not plugins:
        print("no plugins installed (entry-point group 'pluginkit')")
        return 0
    rows = [
        (
            p.id,
            p.distribution or (p.entry_point if p.source.startswith("native") else f"({p.source})"),
            p.version,
            p.priority,
            ",".join(p.capabilities) or "-",
            p.state.value + (f": {p.reason}" if p.reason else ""),
        )
        for p in plugins
    ]
    print(format_table(rows, ("id", "distribution", "version", "priority", "capabilities", "state")))
    for p in plugins:  # loaded, but probably not what the author meant (pluginkit doctor says the same)
        for problem in p.problems:
            print(f"warning: {p.id}: {problem}")
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    raw = sys.stdin.read() if args.params == "-" else (args.params or "{}")
    manager = _loaded(args)
    try:
        envelope = manager.invoke(args.method, raw)
    finally:
        manager.shutdown()
    print(json.dumps(envelope.to_wire(), indent=2, ensure_ascii=False))
    return 0 if envelope.ok else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    manager, plugins = _load_and_list(args)
    findings = 0
    from pluginkit.abi import ABI_VERSION  # deferred like the manager: not needed by `pluginkit --help`

    print(f"pluginkit ABI {ABI_VERSION}; {len(plugins)} plugin(s) found")
    rows = [(p.id, f"{p.import_seconds * 1000:.1f} ms", p.state.value) for p in plugins if p.source == "entry-point"]
    if rows:
        print(format_table(rows, ("plugin", "import time", "state")))
    native = [
        (p.id, p.entry_point, p.abi_version or "-", ",".join(p.capabilities) or "-",
         "process" if p.source == "native-process" else "in process", p.state.value)
        for p in plugins if p.source.startswith("native")
    ]
    if native:
        print(format_table(native, ("native plugin", "file", "ABI", "capabilities", "isolation", "state")))
    for conflict in manager.conflicts:
        findings += 1
        print(
            f"conflict: plugin ID {conflict.id!r} offered by {conflict.winner.distribution} and "
            f"{conflict.loser.distribution}; {conflict.winner.distribution} is used (first on the search path)"
        )
    for name, dist, why in manager.invalid_entry_points:
        findings += 1
        print(f"invalid entry point {name!r} in {dist}: {why}")
    for p in plugins:
        if p.state.value in ("failed", "fused", "quarantined"):
            findings += 1
            kind = "ABI mismatch" if p.reason.startswith("abi_mismatch") else p.state.value
            print(f"{kind}: {p.id}: {p.reason}")
        for problem in p.problems:
            findings += 1
            print(f"problem: {p.id}: {problem}")
    print("no problems found" if not findings else f"{findings} finding(s)")
    return 1 if any(p.state.value in ("failed", "fused", "quarantined") for p in plugins) or manager.conflicts else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pluginkit.cli._demo import run_demo  # deferred: the demo imports the whole pipeline

    return run_demo(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pluginkit", description="In-process plugin framework for LLM hosts.")
    parser.add_argument("--config", help="a pluginkit.toml file (default: $PLUGINKIT_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="installed plugins and their state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)
    p = sub.add_parser("methods", help="the ABI table")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_abi.cmd_methods)
    p = sub.add_parser("invoke", help="run an ABI method and print its envelope")
    p.add_argument("method")
    p.add_argument("params", nargs="?", help="JSON params, or - to read stdin (default {})")
    p.set_defaults(run=cmd_invoke)
    p = sub.add_parser("doctor", help="import times, ABI mismatches, conflicts, failures")
    p.set_defaults(run=cmd_doctor)
    p = sub.add_parser("demo", help="the end-to-end demo")
    p.set_defaults(run=cmd_demo)
    for family in (tools, sessions, chat, providers, new):
        family.add_commands(sub)
    _config_everywhere(parser)
    return parser


def _config_everywhere(parser: argparse.ArgumentParser) -> None:
    """Accept ``--config`` after any subcommand too (``pluginkit list --config F``), as the docs say every command
    takes it; given in both places, the later one wins."""
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        if isinstance(action, argparse._SubParsersAction) and isinstance(choices, dict):
            for subparser in choices.values():
                subparser.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                _config_everywhere(subparser)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # A PluginKitError comes from code that imported pluginkit.errors; looking it up here keeps that import
        # (and attrs) out of `pluginkit --help`.
        errors = sys.modules.get("pluginkit.errors")
        if errors is None or not isinstance(exc, errors.PluginKitError):
            raise
        print(f"pluginkit: {exc}", file=sys.stderr)
        return 2
    return code

