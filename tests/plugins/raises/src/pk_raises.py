"""A plugin that raises an unexpected exception (fused) and one that raises PluginError (not fused)."""

from pluginkit import PluginError, hookimpl

PLUGINKIT_ABI = 1


@hookimpl
def request_translate(params):
    raise RuntimeError("bug in the plugin")


@hookimpl
def scheduler_pick(params):
    raise PluginError("scheduler_denied", "no credentials for you", retryable=False)
