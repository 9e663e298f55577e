"""pluginkit: an in-process, entry-point plugin framework for LLM gateways and agent hosts.

Plugins are ordinary distributions that register pluggy hookimpls under the ``pluginkit`` entry-point group.
The ABI they implement is described once, in :mod:`pluginkit.abi`; its payloads are the attrs classes of
:mod:`pluginkit.types`, spoken on the wire through :mod:`pluginkit.wire`.
"""

from pluginkit.abi import ABI_VERSION, METHODS, SCHEMA_VERSION
from pluginkit.abi._hookspecs import hookimpl
from pluginkit.errors import ERROR_CODES, InvalidRequest, PluginError, PluginKitError
from pluginkit.runtime._context import PluginContext, current_request_id
from pluginkit.runtime._manager import PluginManager
from pluginkit.runtime._plugin import PluginInfo, PluginState
from pluginkit.wire._envelope import Envelope, ErrorInfo

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
