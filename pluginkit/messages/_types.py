"""The message family's data: what a frontend receives, an instance's metadata and history, a stream's summary.

Field names and JSON spellings are the seed's (``plugin-interfaces``): snake_case, except ``HistoryMessage``'s
``pluginId`` and ``createdAt``.
"""

from __future__ import annotations

import json
from typing import Any

from attrs import Factory

from pluginkit.wire._payload import payload, wire_field

__all__ = [
    "CHANNEL_MESSAGE",
    "CHANNEL_STREAM",
    "AppConfigRequest",
    "AppConfigValue",
    "FrontendEvent",
    "FrontendSend",
    "HistoryMessage",
    "InstanceMetadata",
    "InstanceRef",
    "MessageHistory",
    "MessageInstance",
    "MessageReply",
    "MessageRequest",
    "OtherPluginCall",
    "Sent",
    "StreamBatch",
    "StreamEnd",
    "StreamIds",
    "StreamInfo",
    "StreamRef",
    "StreamSend",
    "StreamStarted",
    "StreamState",
]

#: The frontend channels of the seed host (Tauri event names): stream events, and plain replies.
CHANNEL_STREAM = "plugin-stream"
CHANNEL_MESSAGE = "plugin-message"


class FrontendEvent:
    """One event for a frontend: its channel and its JSON object.

    On ``plugin-stream`` the object is the seed's ``StreamMessageWrapper``: ``{type, plugin_id, instance_id, data,
    timestamp}`` with ``type`` one of ``stream_start``, ``stream_data``, ``stream_end``, ``stream_pause``,
    ``stream_resume``, ``stream_cancel`` and ``timestamp`` in Unix milliseconds. On ``plugin-message`` it is
    ``{message_type: "plugin_message", plugin_id, instance_id, message_id, content, timestamp}``.

    A chunk's object is built when first read (``payload``): the hub makes one event per chunk, and building the
    two dicts of the envelope was ~40% of a chunk's way to a subscriber (``benchmarks``, ``messages``).
    """

    __slots__ = ("_chunk", "_payload", "channel")

    def __init__(self, channel: str, payload: dict[str, Any]) -> None:
        self.channel = channel
        self._payload: dict[str, Any] | None = payload
        #: A chunk's parts, when ``_payload`` is not built yet: (plugin, instance, stream, chunk, final, wall clock
        #: in seconds).
        self._chunk: tuple[str, str, str, str, bool, float] | None = None

    @property
    def payload(self) -> dict[str, Any]:
        payload = self._payload
        if payload is None:
            plugin_id, instance_id, stream_id, chunk, is_final, wall = self._chunk  # type: ignore[misc]
            payload = self._payload = {
                "type": "stream_data", "plugin_id": plugin_id, "instance_id": instance_id,
                "data": {"stream_id": stream_id, "chunk": chunk, "is_final": is_final},
                "timestamp": int(wall * 1000),
            }
        return payload

    @property
    def type(self) -> str:
        """The stream event's type (``stream_data`` …), or ``plugin_message``."""
        if self._chunk is not None:
            return "stream_data"
        payload = self.payload
        return str(payload.get("type") or payload.get("message_type", ""))

    @property
    def stream_id(self) -> str:
        if self._chunk is not None:
            return self._chunk[2]
        data = self.payload.get("data")
        return str(data.get("stream_id", "")) if isinstance(data, dict) else ""

    @property
    def chunk(self) -> str:
        """A ``stream_data`` event's text (``""`` for any other event)."""
        if self._chunk is not None:
            return self._chunk[3]
        data = self.payload.get("data")
        return str(data.get("chunk", "")) if isinstance(data, dict) else ""

    def json(self) -> str:
        """The payload as the seed host sends it: a JSON string."""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrontendEvent):
            return NotImplemented
        return self.channel == other.channel and self.payload == other.payload

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FrontendEvent({self.channel!r}, {self.payload!r})"


@payload(case="snake")
class InstanceMetadata:
    """A plugin instance's metadata (the seed's ``PluginMetadata``)."""

    id: str = ""
    disabled: bool = False
    name: str = ""
    description: str = ""
    version: str = ""
    author: str | None = None
    library_path: str | None = None
    config_path: str = ""
    instance_id: str | None = None
    require_history: bool = False


@payload(case="snake")
class HistoryMessage:
    """One message of a conversation's history, as the seed host hands it to a plugin."""

    id: str = ""
    #: ``normal`` or ``streaming``.
    type: str = ""
    #: ``completed``, ``active``, ``paused``, ``error`` or ``cancelled``.
    status: str = ""
    content: str = ""
    plugin_id: str = wire_field(default="", name="pluginId")
    #: ``user``, ``plugin`` or ``system``.
    role: str = ""
    #: ISO 8601.
    created_at: str = wire_field(default="", name="createdAt")


@payload(case="snake")
class StreamInfo:
    """What ``hub.streams()`` tells of one stream (the seed's ``StreamInfo``; ``created_at`` in Unix seconds)."""

    id: str = ""
    plugin_id: str = ""
    instance_id: str = ""
    message_type: str = ""
    status: str = ""
    created_at: int = 0
    #: Beyond the seed: the chunks and bytes delivered so far.
    chunks: int = 0
    bytes: int = 0


# -- the message.* hooks' params and results ---------------------------------------------------------------------
@payload(case="snake")
class MessageInstance:
    """Params of ``message.initialize``: the new instance, its metadata and the history the host has for it."""

    instance_id: str = ""
    metadata: InstanceMetadata = Factory(InstanceMetadata)
    history: list[HistoryMessage] = Factory(list)


@payload(case="snake")
class InstanceRef:
    """Params naming one instance (``message.mount``, ``…connect``, ``…disconnect``, ``…dispose``, ``…metadata``)."""

    instance_id: str = ""


@payload(case="snake")
class MessageRequest:
    """Params of ``message.handle``: a user's message for one instance."""

    instance_id: str = ""
    message: str = ""


@payload(case="snake")
class MessageReply:
    """A plugin's answer: the reply text (``""`` when the plugin streamed its answer instead)."""

    reply: str = ""


@payload(case="snake")
class MessageHistory:
    """Params of ``message.set_history``."""

    instance_id: str = ""
    history: list[HistoryMessage] = Factory(list)


# -- the host.message.* callbacks' params and results -----------------------------------------------------------
@payload(case="snake")
class FrontendSend:
    """``host.message.send_to_frontend``: ``payload`` (JSON text) on channel ``event``."""

    instance_id: str = ""
    event: str = ""
    payload: str = ""


@payload(case="snake")
class Sent:
    ok: bool = False


@payload(case="snake")
class AppConfigRequest:
    key: str = ""


@payload(case="snake")
class AppConfigValue:
    """``found`` is ``False`` where the seed answers ``None``."""

    found: bool = False
    value: str = ""


@payload(case="snake")
class OtherPluginCall:
    """``host.message.call_other_plugin``: ``message`` for plugin ``plugin_id``."""

    instance_id: str = ""
    plugin_id: str = ""
    message: str = ""


@payload(case="snake")
class StreamRef:
    """One stream of one instance (pause, resume, cancel, status)."""

    instance_id: str = ""
    stream_id: str = ""


@payload(case="snake")
class StreamStarted:
    stream_id: str = ""


@payload(case="snake")
class StreamSend:
    """``host.message.stream_send``."""

    instance_id: str = ""
    stream_id: str = ""
    chunk: str = ""
    is_final: bool = False


@payload(case="snake")
class StreamBatch:
    """``host.message.stream_batch``: the last chunk is sent final."""

    instance_id: str = ""
    stream_id: str = ""
    chunks: list[str] = Factory(list)


@payload(case="snake")
class StreamEnd:
    """``host.message.stream_end``: Completed when ``success``, else Error with ``error_msg``."""

    instance_id: str = ""
    stream_id: str = ""
    success: bool = False
    error_msg: str = ""


@payload(case="snake")
class StreamState:
    """A stream's status (the seed's variant name), ``""`` when unknown."""

    status: str = ""


@payload(case="snake")
class StreamIds:
    stream_ids: list[str] = Factory(list)
