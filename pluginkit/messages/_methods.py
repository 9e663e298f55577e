"""The ``message.*`` family of the ABI table (listed in :mod:`pluginkit.abi._families`): the seed's lifecycle and
message hooks, which a plugin declaring ``message_plugin`` implements, and the ``host.message.*`` callbacks through
which a plugin — or a host, with ``invoke`` — reaches its instance's context and the stream API by dotted name.

The seed (``plugin-interfaces``) names its hooks ``initialize``, ``on_mount``, ``on_connect``, ``on_disconnect``,
``on_dispose``, ``handle_message``, ``set_history`` and ``get_metadata``; the table keeps them, in the family's
dotted form. ``update_ui`` (an egui form) has no counterpart: pluginkit hosts draw no plugin UI.
"""

from __future__ import annotations

from pluginkit import types as t
from pluginkit.abi import Combine, Fallback, Method
from pluginkit.messages import _types as m

__all__ = ["METHODS"]

_HOOK_NOTE = (
    "The host calls it on the one plugin that owns the instance (``params.instance_id``). Get the instance's\n"
    "context, with the stream API, with ``pluginkit.messages.instance_context(ctx, params.instance_id)``."
)
_HOST_NOTE = (
    "A host callback: the host's ``MessageHost`` answers it for the calling plugin's own instances (a plugin\n"
    "naming another plugin's instance gets ``host_call_failed``). The same operation as the instance context's\n"
    "method of the seed's name; hosts reach it with ``manager.invoke``."
)


def _hook(name: str, params: type, result: type, summary: str, doc: str, *, fallback: Fallback) -> Method:
    return Method(
        name, params, result, Combine.SINGLE_OWNER, capability="message_plugin", owner="priority",
        fallback=fallback, summary=summary, doc=f"{doc}\n\n{_HOOK_NOTE}",
    )


def _host(name: str, params: type, result: type, summary: str) -> Method:
    return Method(name, params, result, Combine.HOST, summary=summary, doc=_HOST_NOTE, fallback=Fallback.ERROR)


METHODS: tuple[Method, ...] = (
    _hook(
        "message.initialize", m.MessageInstance, t.Empty, "A new instance of the plugin starts (seed: initialize).",
        "Called once per instance, before anything else: ``params.metadata`` and ``params.history`` are the\n"
        "instance's. Keep what you need; the instance's context is ready.", fallback=Fallback.ZERO,
    ),
    _hook(
        "message.mount", m.InstanceRef, t.Empty, "The instance is shown (seed: on_mount).",
        "Optional.", fallback=Fallback.ZERO,
    ),
    _hook(
        "message.connect", m.InstanceRef, t.Empty, "The instance goes online (seed: on_connect).",
        "Optional. A user's cancel reaches only a mounted, connected instance, as in the seed host.",
        fallback=Fallback.ZERO,
    ),
    _hook(
        "message.disconnect", m.InstanceRef, t.Empty, "The instance goes offline (seed: on_disconnect).",
        "Optional.", fallback=Fallback.ZERO,
    ),
    _hook(
        "message.dispose", m.InstanceRef, t.Empty, "The instance ends (seed: on_dispose).",
        "Optional. Its open streams are cancelled afterwards.", fallback=Fallback.ZERO,
    ),
    _hook(
        "message.handle", m.MessageRequest, m.MessageReply, "Answer a user's message (seed: handle_message).",
        "Return the reply, which the host sends as a ``plugin-message``, or stream it through the instance's\n"
        "context and return an empty reply.", fallback=Fallback.ERROR,
    ),
    _hook(
        "message.set_history", m.MessageHistory, t.Empty, "The conversation so far (seed: set_history).",
        "For plugins whose metadata says ``require_history``; the host also keeps it on the instance's context.",
        fallback=Fallback.ZERO,
    ),
    _hook(
        "message.metadata", m.InstanceRef, m.InstanceMetadata, "The instance's metadata (seed: get_metadata).",
        "Optional: without it the host answers the metadata the instance was created with.",
        fallback=Fallback.ZERO,
    ),
    _host("host.message.send_to_frontend", m.FrontendSend, m.Sent, "Send an event to the frontends."),
    _host("host.message.get_app_config", m.AppConfigRequest, m.AppConfigValue, "Read the host app's setting."),
    _host("host.message.call_other_plugin", m.OtherPluginCall, m.MessageReply, "Send a message to another plugin."),
    _host("host.message.stream_start", m.InstanceRef, m.StreamStarted, "Open a stream (send_message_stream_start)."),
    _host("host.message.stream_send", m.StreamSend, t.Empty, "Send a chunk (send_message_stream)."),
    _host("host.message.stream_batch", m.StreamBatch, t.Empty, "Send chunks, the last final (…_stream_batch)."),
    _host("host.message.stream_end", m.StreamEnd, t.Empty, "End a stream (send_message_stream_end)."),
    _host("host.message.stream_pause", m.StreamRef, t.Empty, "Pause a stream (send_message_stream_pause)."),
    _host("host.message.stream_resume", m.StreamRef, t.Empty, "Resume a stream (send_message_stream_resume)."),
    _host("host.message.stream_cancel", m.StreamRef, t.Empty, "Cancel a stream (send_message_stream_cancel)."),
    _host("host.message.stream_status", m.StreamRef, m.StreamState, "A stream's status (get_stream_status)."),
    _host("host.message.list_streams", m.InstanceRef, m.StreamIds, "An instance's open streams (list_active_streams)."),
)
