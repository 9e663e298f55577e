"""``words``: a message plugin that answers by streaming its reply to the user's screen, one word at a time.

It is the seed's ``PluginStreamMessage`` in Python: the reply goes out with ``send_message_stream_start``,
``send_message_stream`` per word and ``send_message_stream_end``, through the instance's context. It honours the
user: while the stream is paused it waits, and once the stream is cancelled (or ended by the host) it stops
producing. The setting ``delay`` is the pause between two words, in seconds (default 0.05).
"""

from __future__ import annotations

import asyncio

from pluginkit import ABI_VERSION, PluginContext, hookimpl
from pluginkit import types as t
from pluginkit.messages import StreamError, StreamStatus, instance_context
from pluginkit.messages import _types as m

PLUGINKIT_ABI = ABI_VERSION
__version__ = "1.0.0"


def reply_to(message: str) -> str:
    """What the plugin answers: the message back, then a fixed sentence."""
    said = " ".join(message.split()) or "nothing"
    return f"You said: {said}. This answer arrives one word at a time, so you can pause it or stop it."


@hookimpl
def plugin_register() -> t.Registration:
    return t.Registration(
        metadata=t.PluginMetadata(config_fields=[
            t.ConfigField(name="delay", type="number", description="Seconds between two words (default 0.05)"),
        ]),
        capabilities=t.Capabilities(message_plugin=True),
    )


@hookimpl
async def message_handle(params: m.MessageRequest, ctx: PluginContext) -> m.MessageReply:
    instance = instance_context(ctx, params.instance_id)
    delay = float(ctx.config.get("delay", 0.05))
    words = reply_to(params.message).split()
    stream_id = await instance.send_message_stream_start_async()
    for index, word in enumerate(words):
        chunk, last = word if index == 0 else f" {word}", index == len(words) - 1
        while True:
            try:
                await instance.send_message_stream_async(stream_id, chunk, last)
                break
            except StreamError:
                if instance.get_stream_status(stream_id) is not StreamStatus.PAUSED:
                    return m.MessageReply()  # cancelled, or ended by the host: stop producing
                await asyncio.sleep(delay)  # paused: wait for the resume
        await asyncio.sleep(delay)
    await instance.send_message_stream_end_async(stream_id, success=True)
    return m.MessageReply()  # the answer went out as a stream
