"""``pluginkit chat PLUGIN MESSAGE``: send a message plugin one message and print its answer as it streams.

The plugin gets an instance (mounted and connected, as a chat window would have it); its reply, streamed or plain,
is printed as it arrives. Ctrl-C cancels the stream the way a user's stop button does (``MessageHost.cancel``):
the plugin learns it on its next chunk, ``[cancelled]`` is printed and the exit status is 130.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_commands"]

#: How long the plugin may take to stop after a cancel before the command gives up on it.
STOP_WAIT = 5.0


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("chat", help="send a message plugin a message and print its streamed answer")
    p.add_argument("plugin", help="the message plugin's ID")
    p.add_argument("message")
    p.set_defaults(run=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    import asyncio  # deferred: `pluginkit --help` need not import asyncio

    from pluginkit.messages import MessageHost  # deferred: the runtime loads only when chat runs
    from pluginkit.runtime import PluginManager  # deferred, as above

    manager = PluginManager(args.config)
    try:
        manager.load()
        host = MessageHost(manager)
        return asyncio.run(_chat(host, args.plugin, args.message))
    finally:
        manager.shutdown()


async def _chat(host: Any, plugin_id: str, message: str) -> int:
    import asyncio  # deferred: as in run_chat

    from pluginkit.cli._ctrl_c import ctrl_c  # deferred, as above

    async with ctrl_c() as stop:
        context = await host.acreate(plugin_id)
        instance = context.instance_id
        host.mount(instance)
        host.connect(instance)
        screen = host.hub.subscribe(instance_id=instance)
        streams: list[str] = []
        printing = asyncio.ensure_future(_print(screen, streams))
        answer = asyncio.ensure_future(host.ahandle(instance, message))
        try:
            await asyncio.wait({answer, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done():  # Ctrl-C: the user's stop button
                for stream_id in streams:
                    host.cancel(instance, stream_id)
                if not streams:
                    sys.stdout.write("\n[cancelled]\n")
                await asyncio.wait({answer}, timeout=STOP_WAIT)  # the plugin stops at its next chunk
                return 130
            answer.result()  # the plugin's error, if it failed, goes to `pluginkit`'s one-line report
            return 0
        finally:
            if not answer.done():
                answer.cancel()
            screen.close()  # the printer prints what is left, then ends
            await printing


async def _print(screen: Any, streams: list[str]) -> None:
    async for event in screen:
        kind, data = event.type, event.payload.get("data") or {}
        if kind == "stream_start":
            streams.append(data["stream_id"])
        elif kind == "stream_data":
            sys.stdout.write(data.get("chunk", ""))
        elif kind == "stream_end":
            sys.stdout.write("\n" if data.get("success") else f"\n[error: {data.get('error') or 'failed'}]\n")
        elif kind == "stream_cancel":
            sys.stdout.write("\n[cancelled]\n")
        elif kind == "plugin_message":
            sys.stdout.write(event.payload.get("content", "") + "\n")
        sys.stdout.flush()
