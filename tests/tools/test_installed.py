"""Installed tool plugins: scanning and loading (the time-tool example is the installed plugin), the
``pluginkit tools`` commands, and the MCP round trip with the ``mcp`` package's own stdio client against
``pluginkit mcp``.

The time-tool's own behaviour is tested beside it, in ``example_plugins/time-tool/tests/``."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginKitError
from pluginkit.cli._commands import main
from tests.helpers import registry_on


def test_scan_imports_nothing_and_load_loads_one(on_path: Path) -> None:
    registry = registry_on(on_path)
    try:
        assert "time-tool" in {p.id for p in registry.scan()}
        assert "pluginkit_time_tool" not in sys.modules
        plugin = registry.load("time-tool")
        assert (plugin.id, plugin.name, plugin.version, plugin.author) == (
            "time-tool", "pluginkit_time_tool_example", "1.0.0", "pluginkit developers"
        )
        assert [t.name for t in plugin.tools] == ["current_time", "convert_time", "date_difference"]
        assert [p.id for p in registry.manager.plugins()] == ["time-tool"]  # no other plugin was loaded
        assert "pk_good" not in sys.modules
        assert registry.call("current_time", {"zone": "UTC"}).content[0].data["utc_offset"] == "+00:00"
        with pytest.raises(PluginKitError) as missing:
            registry.load("no-such-plugin")
        assert missing.value.code == "not_found"
        with pytest.raises(PluginKitError) as broken:
            registry.load("broken-import")
        assert broken.value.code == "plugin_unavailable" and "ImportError" in broken.value.message
        assert "time-tool" in {p.id for p in registry.load_all()}
        assert registry.manager.plugin("good").state.value == "active"
    finally:
        registry.shutdown()


@pytest.fixture
def cli_env(on_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLUGINKIT_LOAD_PLUGINS", "time-tool")
    monkeypatch.setenv("PLUGINKIT_NO_CACHE", "1")
    monkeypatch.delenv("PLUGINKIT_CONFIG", raising=False)
    return on_path


def test_cli_tools_list(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["tool", "plugin", "description"]
    assert "convert_time" in out and "time-tool" in out and "Convert a date and time from one time zone" in out
    assert main(["tools", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in listed] == ["current_time", "convert_time", "date_difference"]
    assert listed[0]["qualified_name"] == "time-tool.current_time"
    assert listed[0]["input_schema"]["properties"]["zone"]["default"] == "UTC"


def test_cli_tools_call(cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    arguments = '{"time": "2024-07-01T12:00", "from_zone": "UTC", "to_zone": "Asia/Tokyo"}'
    assert main(["tools", "call", "convert_time", arguments]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["content"][0]["type"] == "struct"
    assert printed["content"][0]["data"]["to"]["time"] == "2024-07-01T21:00:00+09:00"
    monkeypatch.setattr("sys.stdin", io.StringIO('{"zone": "Mars/X"}'))
    assert main(["tools", "call", "time-tool.current_time", "-", "--mcp"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["isError"] is True and "unknown time zone" in printed["content"][0]["text"]
    assert main(["tools", "call", "no_such_tool"]) == 2
    assert capsys.readouterr().err.strip() == "pluginkit: not_found: no tool named 'no_such_tool'"
    assert main(["tools", "call", "current_time", "{oops"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pluginkit: invalid_request: arguments are not JSON") and "\n" not in err


def test_mcp_round_trip_with_the_official_client(plugin_site: Path, tmp_path: Path) -> None:
    mcp = pytest.importorskip("mcp")
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {"PYTHONPATH": str(plugin_site), "PLUGINKIT_LOAD_PLUGINS": "time-tool", "PLUGINKIT_NO_CACHE": "1"}
    server = StdioServerParameters(command=sys.executable, args=["-m", "pluginkit.cli", "mcp"], env=env)

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        with open(tmp_path / "server.log", "w") as errlog:
            async with stdio_client(server, errlog=errlog) as (read, write), mcp.ClientSession(read, write) as client:
                await client.initialize()
                seen["tools"] = (await client.list_tools()).tools
                seen["ok"] = await client.call_tool(
                    "convert_time", {"time": "2024-07-01T12:00", "from_zone": "UTC", "to_zone": "Asia/Tokyo"}
                )
                seen["tool_error"] = await client.call_tool("current_time", {"zone": "Nowhere/Land"})
                seen["invalid"] = await client.call_tool("current_time", {"zone": 7})
                try:
                    seen["unknown"] = await client.call_tool("no_such_tool", {})
                except Exception as exc:  # the SDK raises its protocol error (MCPError / McpError)
                    seen["unknown"] = exc
        return seen

    seen = asyncio.run(asyncio.wait_for(session(), 60))
    by_name = {tool.name: tool for tool in seen["tools"]}
    assert list(by_name) == ["current_time", "convert_time", "date_difference"]
    schema = by_name["convert_time"].model_dump(by_alias=True)["inputSchema"]
    assert schema["required"] == ["time", "from_zone", "to_zone"]
    ok = seen["ok"].model_dump(by_alias=True)
    assert ok["isError"] is False
    assert ok["structuredContent"]["to"]["time"] == "2024-07-01T21:00:00+09:00"
    assert json.loads(ok["content"][0]["text"]) == ok["structuredContent"]
    error = seen["tool_error"].model_dump(by_alias=True)
    assert error["isError"] is True and error["content"][0]["text"].startswith("unknown time zone 'Nowhere/Land'")
    invalid = seen["invalid"].model_dump(by_alias=True)
    assert invalid["isError"] is True and "'zone': expected a string" in invalid["content"][0]["text"]
    unknown = seen["unknown"]
    if isinstance(unknown, Exception):
        assert "no tool named 'no_such_tool'" in str(unknown)
    else:  # mcp 1.x answers errors raised by handlers as isError results
        assert unknown.isError


def test_pluginkit_mcp_without_the_sdk_is_one_clear_line(plugin_site: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "mcp.py"
    blocker.write_text("raise ImportError('mcp is not installed here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(plugin_site)]),
           "PLUGINKIT_LOAD_PLUGINS": "", "PLUGINKIT_NO_CACHE": "1"}
    done = subprocess.run([sys.executable, "-m", "pluginkit.cli", "mcp"], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "pluginkit: not_handled: `pluginkit mcp` needs the MCP SDK: pip install 'pluginkit[mcp]'"
    )
