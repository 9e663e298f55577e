"""What a hookimpl receives beside its params: the plugin's own view of the host."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["PluginContext"]


@attrs.define(slots=True)
class PluginContext:
    """Passed to every hookimpl that names a ``ctx`` parameter.

    It carries the calling plugin's identity, its settings and its logger (``pluginkit.plugin.<id>``), so a
    hookimpl never needs module-level state to know who it is.
    """

    plugin_id: str
    config: Mapping[str, Any] = attrs.field(factory=dict)
    log: logging.Logger = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.log is None:
            self.log = logging.getLogger(f"pluginkit.plugin.{self.plugin_id}")
