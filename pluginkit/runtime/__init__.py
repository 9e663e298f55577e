"""The runtime: the plugin manager and what it is made of."""

from pluginkit.runtime._manager import PluginManager

__all__ = ["PluginManager"]
