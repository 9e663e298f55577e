"""The runtime: the plugin manager and what it is made of (plans, rules, registration, discovery, config, plugin
records, host services, the plugin context).

Beside the manager, ``__all__`` holds the interface of the families built on the runtime (the pipeline, scheduling,
tools, sessions, and the families to come): a :class:`Runtime` (``manager.runtime``) gives them plans, call
accounting, crash reports and owners; :class:`Plan` runners, :func:`run_async` and the answer types run a plan.
Nothing outside this package reads a manager attribute that starts with ``_``.
"""

from pluginkit.runtime._calls import call_sync, settle_sync
from pluginkit.runtime._context import PluginContext, current_request_id
from pluginkit.runtime._discovery import PLUGIN_ID, InstalledPlugin
from pluginkit.runtime._headers import copy_headers, copy_metadata, merge_headers
from pluginkit.runtime._host import ExecutorStream
from pluginkit.runtime._loop import LoopThread
from pluginkit.runtime._manager import PluginManager
from pluginkit.runtime._plan import EMPTY, Failed, Impl, NoteSink, Plan
from pluginkit.runtime._plugin import PluginInfo, PluginRecord, PluginState
from pluginkit.runtime._runners import run_async
from pluginkit.runtime._runtime import DEFAULT, Runtime
from pluginkit.runtime._yields import PluginStream

__all__ = [
    "DEFAULT",
    "EMPTY",
    "PLUGIN_ID",
    "ExecutorStream",
    "Failed",
    "Impl",
    "InstalledPlugin",
    "LoopThread",
    "NoteSink",
    "Plan",
    "PluginContext",
    "PluginInfo",
    "PluginManager",
    "PluginRecord",
    "PluginState",
    "PluginStream",
    "Runtime",
    "call_sync",
    "copy_headers",
    "copy_metadata",
    "current_request_id",
    "merge_headers",
    "run_async",
    "settle_sync",
]
