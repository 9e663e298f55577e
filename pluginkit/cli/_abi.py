"""``pluginkit methods``: the ABI table, as a table or as JSON (what ``pluginkit demo`` shows first too)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from pluginkit.cli._table import format_table

if TYPE_CHECKING:
    from pluginkit import abi

__all__ = ["cmd_methods"]


def cmd_methods(args: argparse.Namespace) -> int:
    from pluginkit import abi  # deferred: building the table loads every family's payload classes

    methods = list(abi.METHODS.values())
    if args.json:
        print(json.dumps([_method_dict(m) for m in methods], indent=2))
        return 0
    rows = [
        (
            m.name,
            m.hook_name if m.is_hook else "(host)",
            f"{m.params.__name__} -> {m.result.__name__}",
            m.capability or "-",
            m.combine.value,
            m.stage.name.lower() if m.stage is not None else "-",
            ("async ok" if m.may_be_async else "sync") if m.is_hook else "-",
        )
        for m in methods
    ]
    print(f"pluginkit ABI {abi.ABI_VERSION} (schema {abi.SCHEMA_VERSION}): {len(methods)} methods")
    headers = ("method", "hook", "params -> result", "capability", "several plugins", "stage", "async")
    print(format_table(rows, headers))
    return 0


def _method_dict(m: abi.Method) -> dict[str, Any]:
    return {
        "name": m.name,
        "hook": m.hook_name if m.is_hook else None,
        "params": m.params.__name__,
        "result": m.result.__name__,
        "capability": m.capability,
        "combine": m.combine.value,
        "fallback": m.fallback.value,
        "owner": m.owner or None,
        "stage": m.stage.name.lower() if m.stage is not None else None,
        "async": m.may_be_async if m.is_hook else None,
        "timeout": m.timeout,
        "summary": m.summary,
    }
