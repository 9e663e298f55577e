"""pluginkit: an in-process, entry-point plugin framework for LLM gateways and agent hosts.

Plugins are ordinary distributions that register pluggy hookimpls under the ``pluginkit`` entry-point group.
The ABI they implement is described once, in :mod:`pluginkit.abi`; its payloads are the attrs classes of
:mod:`pluginkit.types`, spoken on the wire through :mod:`pluginkit.wire`.

The names below are loaded when first used (PEP 562): ``import pluginkit`` alone — what every ``pluginkit``
command and every plugin's own import pays — imports none of the runtime, the payload classes or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pluginkit.abi import ABI_VERSION, METHODS, SCHEMA_VERSION
    from pluginkit.abi._hookspecs import hookimpl
    from pluginkit.errors import ERROR_CODES, InvalidRequest, PluginError, PluginKitError
    from pluginkit.runtime import PluginContext, PluginInfo, PluginManager, PluginState, current_request_id
    from pluginkit.wire import Envelope, ErrorInfo

__all__ = [
    "ABI_VERSION",
    "ERROR_CODES",
    "METHODS",
    "SCHEMA_VERSION",
    "Envelope",
    "ErrorInfo",
    "InvalidRequest",
    "PluginContext",
    "PluginError",
    "PluginInfo",
    "PluginKitError",
    "PluginManager",
    "PluginState",
    "current_request_id",
    "hookimpl",
]

__version__ = "0.1.0"

#: Where each public name lives.
_HOMES = {
    "ABI_VERSION": "pluginkit.abi",
    "METHODS": "pluginkit.abi",
    "SCHEMA_VERSION": "pluginkit.abi",
    "hookimpl": "pluginkit.abi._hookspecs",
    "ERROR_CODES": "pluginkit.errors",
    "InvalidRequest": "pluginkit.errors",
    "PluginError": "pluginkit.errors",
    "PluginKitError": "pluginkit.errors",
    "PluginContext": "pluginkit.runtime",
    "PluginInfo": "pluginkit.runtime",
    "PluginManager": "pluginkit.runtime",
    "PluginState": "pluginkit.runtime",
    "current_request_id": "pluginkit.runtime",
    "Envelope": "pluginkit.wire",
    "ErrorInfo": "pluginkit.wire",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
