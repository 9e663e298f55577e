"""pluginkit: an in-process, entry-point plugin framework for LLM gateways and agent hosts.

Plugins are ordinary distributions that register pluggy hookimpls under the ``pluginkit`` entry-point group.
The ABI they implement is described once, in :mod:`pluginkit.abi`; its payloads are the attrs classes of
:mod:`pluginkit.types`, spoken on the wire through :mod:`pluginkit.wire`.
"""

from pluginkit._context import PluginContext, current_request_id
from pluginkit._envelope import Envelope, ErrorInfo
from pluginkit._hookspecs import hookimpl
from pluginkit._manager import PluginManager
from pluginkit._plugin import PluginInfo, PluginState
from pluginkit.abi import ABI_VERSION, METHODS, SCHEMA_VERSION
from pluginkit.errors import ERROR_CODES, InvalidRequest, PluginError, PluginKitError

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
