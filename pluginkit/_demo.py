"""``pluginkit demo``: what this installation can do, shown end to end.

It prints the ABI table, discovers the installed plugins (without importing them), loads them, and exercises
the ABI through :meth:`PluginManager.invoke` on the wire, so what it shows is exactly what a host gets.
"""

from __future__ import annotations

import argparse
import json

from pluginkit import abi
from pluginkit._cli import _table, cmd_methods


def run_demo(args: argparse.Namespace) -> int:
    from pluginkit import PluginManager

    print("== The ABI (pluginkit methods) ==")
    cmd_methods(argparse.Namespace(json=False))
    manager = PluginManager(args.config)
    print("\n== Installed plugins (found without importing) ==")
    found = manager.installed()
    if found.plugins:
        rows = [(p.id, p.distribution, p.version, p.value) for p in found.plugins]
        print(_table(rows, ("id", "distribution", "version", "entry point")))
    else:
        print("none: `pip install` a distribution with a [project.entry-points.pluginkit] entry to add one")
    with manager:
        print("\n== Loaded ==")
        for info in manager.plugins():
            detail = ", ".join(info.capabilities) or "no capabilities"
            state = info.state.value + (f" ({info.reason})" if info.reason else "")
            print(f"  {info.id}: {state}; {detail}; imported in {info.import_seconds * 1000:.1f} ms")
        print("\n== A call on the wire: invoke('request.normalize', {\"Body\": <base64 'hello'>}) ==")
        envelope = manager.invoke("request.normalize", {"Body": "aGVsbG8="})
        print(json.dumps(envelope.to_wire()))
        print("\n== A bad call never raises: invoke('scheduler.pick', {\"Candidates\": [{\"Priority\": \"x\"}]}) ==")
        print(json.dumps(manager.invoke("scheduler.pick", {"Candidates": [{"Priority": "x"}]}).to_wire()))
        print("\n== Who answers each family ==")
        plugins = manager.plugins()
        for capability in sorted({m.capability for m in abi.METHODS.values() if m.capability}):
            owners = [p.id for p in plugins if capability in p.capabilities and p.state.value == "active"]
            print(f"  {capability:28} {', '.join(owners) if owners else '(built-in behaviour)'}")
    return 0
