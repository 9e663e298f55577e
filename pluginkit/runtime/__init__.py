"""The runtime: the plugin manager and what it is made of (plans, rules, registration, discovery, config, plugin
records, host services, the plugin context).

Families (the pipeline, tools, sessions) reach it through :class:`Runtime` (``manager.runtime``), never through
the manager's private attributes.
"""

from pluginkit.runtime._context import PluginContext, current_request_id
from pluginkit.runtime._manager import PluginManager
from pluginkit.runtime._plugin import PluginInfo, PluginState

__all__ = ["PluginContext", "PluginInfo", "PluginManager", "PluginState", "current_request_id"]
