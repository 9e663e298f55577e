"""What operators choose: which plugins load, in which order, with which settings.

The configuration is a mapping (from the host, or read from a ``pluginkit.toml`` file)::

    [pluginkit]                       # manager options, all optional
    load = ["scheduler", "redact"]    # load exactly these (like PLUGINKIT_LOAD_PLUGINS)
    disable = ["noisy"]               # never load these (like PLUGINKIT_DISABLE_PLUGINS)
    [pluginkit.timeouts]              # per-method time limit in seconds (0 = none)
    "scheduler.pick" = 2
    [pluginkit.fuse]                  # per-method: does an unexpected exception fuse the plugin?
    "usage.handle" = false
    [pluginkit.quarantine]            # a plugin that times out `timeouts` times within `window` seconds is
    timeouts = 3                      # taken out like a fused one (0 = never)
    window = 60

    [pluginkit.native]                # native plugin libraries (the seed host's C ABI), found as it finds them
    enabled = true                    # off by default, as in the seed host
    dir = "plugins"                   # (default) searched: <dir>/<GOOS>/<GOARCH>[-<variant>], then <dir>

    [plugins.scheduler]               # one table per plugin ID
    enabled = true                    # host key, default true
    priority = 10                     # host key, default 0; higher runs first
    threaded = false                  # host key: run every call in the plugin's own threads, bounded by its limit
    library = "lib/scheduler.so"      # host key: a native plugin's library, by path
    isolation = "process"             # host key: run that library in a child process (a crash fuses only it)
    auth_id = "auth-2"                # everything else is the plugin's own settings

Environment variables override the file: ``PLUGINKIT_LOAD_PLUGINS`` names exactly the plugins to load
(comma-separated; set but empty loads none) and ``PLUGINKIT_DISABLE_PLUGINS`` names plugins never to load.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from pluginkit.errors import PluginKitError

__all__ = ["HOST_KEYS", "ManagerConfig", "PluginSettings", "load_config"]

#: Keys of a plugin's table that the host reads; everything else is passed to the plugin.
HOST_KEYS = frozenset({"enabled", "priority", "threaded", "library", "isolation"})
ENV_LOAD = "PLUGINKIT_LOAD_PLUGINS"
ENV_DISABLE = "PLUGINKIT_DISABLE_PLUGINS"
ENV_CONFIG = "PLUGINKIT_CONFIG"


class ConfigError(PluginKitError):
    default_code = "invalid_config"


@attrs.frozen
class PluginSettings:
    """One plugin's table: the host keys and the plugin's own settings."""

    enabled: bool = True
    priority: int = 0
    threaded: bool = False
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    #: A native plugin's shared library (``pluginkit.native``), by explicit path.
    library: str = ""
    #: A native plugin's isolation: ``""`` (in the host's process, as the seed host loads it) or ``"process"``.
    isolation: str = ""


@attrs.frozen
class ManagerConfig:
    plugins: Mapping[str, PluginSettings] = attrs.field(factory=dict)
    #: ``None``: no restriction; otherwise exactly these IDs load.
    load: frozenset[str] | None = None
    disable: frozenset[str] = frozenset()
    timeouts: Mapping[str, float | None] = attrs.field(factory=dict)
    fuse: Mapping[str, bool] = attrs.field(factory=dict)
    #: Time-outs within :attr:`quarantine_window` seconds that quarantine a plugin (0: never).
    quarantine_timeouts: int = 3
    quarantine_window: float = 60.0
    #: Where native plugin libraries are found (``[pluginkit.native] enabled = true``, ``dir``, default
    #: ``plugins``, as the seed host's ``plugins.dir``); ``None``: native plugins are off (the seed's default).
    native_dir: str | None = None

    def for_plugin(self, plugin_id: str) -> PluginSettings:
        return self.plugins.get(plugin_id) or PluginSettings()

    def selected(self, plugin_id: str, *, installed: bool = True) -> tuple[bool, str]:
        """Whether a plugin may load, and why not. ``load`` chooses among *installed* plugins (``installed``): a
        plugin the host registers from code is its own explicit choice, which only ``disable`` or ``enabled =
        false`` overrule."""
        if installed and self.load is not None and plugin_id not in self.load:
            return False, f"not named in {ENV_LOAD} / pluginkit.load"
        if plugin_id in self.disable:
            return False, f"disabled by {ENV_DISABLE} / pluginkit.disable"
        if not self.for_plugin(plugin_id).enabled:
            return False, "enabled = false in its configuration"
        return True, ""


def _ids(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ConfigError(message=f"{where}: expected a list of plugin IDs")


def load_config(
    config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ManagerConfig:
    """Read the configuration from a mapping or a TOML file, then apply the environment variables.

    Without ``config``, ``$PLUGINKIT_CONFIG`` names the file (if set). Errors raise ``invalid_config``.
    """
    env = os.environ if environ is None else environ
    if config is None and env.get(ENV_CONFIG):
        config = env[ENV_CONFIG]
    if isinstance(config, str | os.PathLike):
        path = Path(config)
        try:
            data: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(message=f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(message=f"{path}: {exc}") from None
    else:
        data = config or {}
    if not isinstance(data, Mapping):
        raise ConfigError(message="the configuration must be a mapping")
    options = data.get("pluginkit", {})
    tables = data.get("plugins", {})
    if not isinstance(options, Mapping) or not isinstance(tables, Mapping):
        raise ConfigError(message="`pluginkit` and `plugins` must be tables")
    plugins: dict[str, PluginSettings] = {}
    for plugin_id, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(message=f"plugins.{plugin_id}: expected a table")
        enabled, priority, threaded = table.get("enabled", True), table.get("priority", 0), table.get("threaded", False)
        if not isinstance(enabled, bool) or not isinstance(threaded, bool):
            raise ConfigError(message=f"plugins.{plugin_id}: enabled and threaded must be true or false")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ConfigError(message=f"plugins.{plugin_id}.priority: expected an integer")
        library, isolation = table.get("library", ""), table.get("isolation", "")
        if not isinstance(library, str):
            raise ConfigError(message=f"plugins.{plugin_id}.library: expected a path")
        if isolation not in ("", "process"):
            raise ConfigError(message=f"plugins.{plugin_id}.isolation: expected \"process\" (or nothing)")
        settings = {k: v for k, v in table.items() if k not in HOST_KEYS}
        plugins[str(plugin_id)] = PluginSettings(enabled, priority, threaded, settings, library, isolation)
    load = _ids(options["load"], "pluginkit.load") if "load" in options else None
    disable = _ids(options.get("disable", []), "pluginkit.disable")
    if ENV_LOAD in env:
        load = _ids(env[ENV_LOAD], ENV_LOAD)
    if env.get(ENV_DISABLE):
        disable = disable | _ids(env[ENV_DISABLE], ENV_DISABLE)
    timeouts: dict[str, float | None] = {}
    for method, seconds in dict(options.get("timeouts", {})).items():
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ConfigError(message=f"pluginkit.timeouts.{method}: expected seconds ≥ 0")
        timeouts[method] = float(seconds) or None
    fuse = dict(options.get("fuse", {}))
    if not all(isinstance(v, bool) for v in fuse.values()):
        raise ConfigError(message="pluginkit.fuse: expected true or false per method")
    quarantine = options.get("quarantine", {})
    count, window = quarantine.get("timeouts", 3), quarantine.get("window", 60.0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ConfigError(message="pluginkit.quarantine.timeouts: expected a count ≥ 0")
    if not isinstance(window, int | float) or isinstance(window, bool) or window <= 0:
        raise ConfigError(message="pluginkit.quarantine.window: expected seconds > 0")
    native = options.get("native", {})
    if not isinstance(native, Mapping) or not isinstance(native.get("enabled", False), bool):
        raise ConfigError(message="pluginkit.native: expected a table with enabled = true or false")
    native_dir = str(native.get("dir", "plugins")) if native.get("enabled", False) else None
    return ManagerConfig(plugins, load, disable, timeouts, fuse, count, float(window), native_dir)
