"""Record every request's usage in a SQLite file (plugin ``usage-sqlite``) and summarise it per model.

Settings (``[plugins.usage-sqlite]``): ``path`` — the database file, default
``$XDG_DATA_HOME/pluginkit/usage.sqlite3`` (``~/.local/share/pluginkit/usage.sqlite3``). The file is created on
the first record. ``python -m pluginkit_usage_sqlite [--path P]`` prints the per-model table of :func:`summary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pluginkit import ABI_VERSION, PluginContext, hookimpl
from pluginkit import types as t
from pluginkit_usage_sqlite.store import ModelSummary, close_all, default_path, store_for, summary

__all__ = [
    "PLUGINKIT_ABI",
    "ModelSummary",
    "default_path",
    "format_summary",
    "plugin_register",
    "plugin_shutdown",
    "summary",
    "usage_handle",
]

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"


def _path(config: Mapping[str, Any]) -> Path:
    configured = str(config.get("path") or "").strip()
    return Path(configured).expanduser() if configured else default_path()


@hookimpl
def plugin_register() -> t.Registration:
    # Only to declare the setting (the host checks its type); the rest comes from pyproject.toml.
    return t.Registration(
        metadata=t.PluginMetadata(
            config_fields=[
                t.ConfigField(
                    name="path", type="string",
                    description="SQLite file to write (default $XDG_DATA_HOME/pluginkit/usage.sqlite3)",
                ),
            ],
        ),
        capabilities=t.Capabilities(usage_plugin=True),
    )


@hookimpl
def usage_handle(params: t.UsageRecord, ctx: PluginContext) -> t.Empty:
    # The path is read per record, so plugin.reconfigure needs no hook of its own to move the database.
    store_for(_path(ctx.config)).add(params)
    return t.Empty()


@hookimpl
def plugin_shutdown() -> t.Empty:
    close_all()
    return t.Empty()


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_summary(rows: Sequence[ModelSummary]) -> str:
    """The per-model summary as an aligned text table (numbers right-aligned)."""
    header = ("model", "requests", "failures", "input tokens", "output tokens", "mean latency ms", "mean TTFT ms")
    lines = [
        (row.model or "(none)", str(row.requests), str(row.failures), str(row.input_tokens), str(row.output_tokens),
         _number(row.mean_latency_ms), _number(row.mean_ttft_ms))
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))])

    return "\n".join([render(header), render(["-" * w for w in widths]), *map(render, lines)])
