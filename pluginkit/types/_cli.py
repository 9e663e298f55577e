"""``command_line.*`` and ``management.*`` payloads."""

from __future__ import annotations

from typing import Any

from attrs import Factory

from pluginkit.types._auth_data import AuthData
from pluginkit.types._common import Headers, Query
from pluginkit.types._lifecycle import PluginMetadata
from pluginkit.types._models import HostConfigSummary
from pluginkit.wire._payload import payload

__all__ = [
    "FLAG_TYPES",
    "CommandLineExecuteRequest",
    "CommandLineFlag",
    "CommandLineFlags",
    "CommandLineRegisterRequest",
    "CommandLineResult",
    "FlagValue",
    "ManagementRegisterRequest",
    "ManagementRequest",
    "ManagementRoute",
    "ManagementRoutes",
]

#: Values of :attr:`CommandLineFlag.type`.
FLAG_TYPES = ("bool", "string", "int", "int64", "float64", "duration")


@payload
class CommandLineRegisterRequest:
    plugin: PluginMetadata = Factory(PluginMetadata)


@payload
class CommandLineFlag:
    """A command-line flag a plugin adds to the host (``name`` without dashes)."""

    name: str = ""
    usage: str = ""
    type: str = ""
    default_value: Any = None


@payload
class CommandLineFlags:
    flags: list[CommandLineFlag] = Factory(list)


@payload
class FlagValue:
    name: str = ""
    type: str = ""
    value: Any = None
    set: bool = False


@payload
class CommandLineExecuteRequest:
    """Params of ``command_line.execute``: the host was started with one of the plugin's flags."""

    plugin: PluginMetadata = Factory(PluginMetadata)
    program: str = ""
    args: list[str] = Factory(list)
    config_path: str = ""
    host: HostConfigSummary = Factory(HostConfigSummary)
    flags: dict[str, FlagValue] = Factory(dict)
    triggered_flags: dict[str, FlagValue] = Factory(dict)


@payload
class CommandLineResult:
    stdout: bytes = b""
    stderr: bytes = b""
    #: Credentials the command created, persisted by the host.
    auths: list[AuthData] = Factory(list)
    exit_code: int = 0


@payload
class ManagementRegisterRequest:
    plugin: PluginMetadata = Factory(PluginMetadata)
    #: Where the routes are mounted; hosts send ``/v0/management``.
    base_path: str = ""


@payload
class ManagementRoute:
    """A management API route. ``method`` defaults to GET; GET routes with a ``menu`` appear in the UI list."""

    method: str = ""
    path: str = ""
    menu: str = ""
    description: str = ""


@payload(case="snake")
class ManagementRoutes:
    routes: list[ManagementRoute] = Factory(list)


@payload
class ManagementRequest:
    """Params of ``management.handle``: an HTTP request to one of the plugin's routes."""

    method: str = ""
    path: str = ""
    headers: Headers = Factory(dict)
    query: Query = Factory(dict)
    body: bytes = b""
