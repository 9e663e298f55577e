"""``MessageHost``: a host's live instances of message plugins, the calls the seed host makes on them, and the
``host.message.*`` callbacks.

The seed host (``chat-client``) creates an instance of a plugin with its metadata (the instance ID defaulting to
the plugin's ID), calls ``initialize``, then ``on_mount`` / ``on_connect`` as the user opens it, sends it messages
(``handle_message``: a returned reply goes to the frontends as a ``plugin-message``), hands it the conversation
(``set_history``) and ends it with ``on_disconnect`` / ``on_dispose``. A user's cancel reaches only a mounted,
connected instance. Several instances of one plugin may be live, each with its own ID and context.
"""

from __future__ import annotations

import contextvars
import copy
import itertools
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.messages import _types as m
from pluginkit.messages._context import AppConfig, PluginInstanceContext, app_config_value
from pluginkit.messages._hub import MessageHub
from pluginkit.runtime import PluginState

if TYPE_CHECKING:
    from pluginkit.runtime import PluginContext, PluginManager

__all__ = ["MessageHost", "instance_context"]

#: How deep ``call_other_plugin`` may nest (a plugin calling itself, or two calling each other, stops here).
MAX_CALL_DEPTH = 8
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("pluginkit_message_call_depth", default=0)
_INSTANCE_NUMBERS = itertools.count(1)


class _Instance:
    __slots__ = ("connected", "context", "mounted", "plugin_id")

    def __init__(self, plugin_id: str, context: PluginInstanceContext) -> None:
        self.plugin_id, self.context = plugin_id, context
        self.mounted = self.connected = False


def instance_context(ctx: PluginContext, instance_id: str) -> PluginInstanceContext:
    """Inside a ``message.*`` hook: the context of the calling plugin's instance ``instance_id``, with the stream API
    (``ctx`` is the hook's :class:`~pluginkit.PluginContext`)."""
    host: MessageHost = ctx.service("messages")
    return host.context_for(ctx.plugin_id, instance_id)


class MessageHost:
    """The message plugins of ``manager``: create instances, drive their lifecycle, send them messages.

    ``hub`` is where their streams go (a new :class:`MessageHub` by default); ``app_config`` answers the plugins'
    ``get_app_config(key)``. Creating a ``MessageHost`` attaches it to the manager's host services, so that plugins
    reach their instance contexts (:func:`instance_context`) and the ``host.message.*`` callbacks.
    """

    def __init__(
        self,
        manager: PluginManager,
        hub: MessageHub | None = None,
        *,
        app_config: AppConfig = None,
    ) -> None:
        self.manager = manager
        self.hub = hub if hub is not None else MessageHub()
        self.app_config = app_config
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()
        host = manager.host
        host.attach("messages", self)
        for method, handler in self._callbacks().items():
            host.provide(method, handler)

    # -- instances -------------------------------------------------------------------------------------------
    def create(
        self,
        plugin_id: str,
        *,
        instance_id: str | None = None,
        metadata: m.InstanceMetadata | None = None,
        history: Iterable[m.HistoryMessage] | None = None,
    ) -> PluginInstanceContext:
        """A new instance of ``plugin_id``, initialised (``message.initialize``). Its ID is ``instance_id``, else
        the metadata's, else one made unique (``<plugin>#<n>``)."""
        context = self._new(plugin_id, instance_id, metadata, history)
        try:
            self._hook(context, "message.initialize", self._initialize_params(context))
        except BaseException:
            self._drop(context.instance_id)
            raise
        return context

    async def acreate(
        self,
        plugin_id: str,
        *,
        instance_id: str | None = None,
        metadata: m.InstanceMetadata | None = None,
        history: Iterable[m.HistoryMessage] | None = None,
    ) -> PluginInstanceContext:
        """:meth:`create` on the running event loop (``async def`` hooks are awaited)."""
        context = self._new(plugin_id, instance_id, metadata, history)
        try:
            await self._ahook(context, "message.initialize", self._initialize_params(context))
        except BaseException:
            self._drop(context.instance_id)
            raise
        return context

    def mount(self, instance_id: str) -> None:
        self._set_flag(instance_id, "mounted", True)
        self._hook(self.context(instance_id), "message.mount", m.InstanceRef(instance_id=instance_id))

    def connect(self, instance_id: str) -> None:
        self._set_flag(instance_id, "connected", True)
        self._hook(self.context(instance_id), "message.connect", m.InstanceRef(instance_id=instance_id))

    def disconnect(self, instance_id: str) -> None:
        self._set_flag(instance_id, "connected", False)
        self._hook(self.context(instance_id), "message.disconnect", m.InstanceRef(instance_id=instance_id))

    def dispose(self, instance_id: str) -> None:
        """End the instance: ``message.dispose``, then its open streams are cancelled and it is forgotten."""
        context = self.context(instance_id)
        try:
            self._hook(context, "message.dispose", m.InstanceRef(instance_id=instance_id))
        finally:
            for stream in self.hub.streams(instance_id=instance_id):  # the open ones
                self.hub.cancel(instance_id, stream.id)
            self._drop(instance_id)

    def handle(self, instance_id: str, message: str) -> str:
        """Send the instance a user's message (``message.handle``); a non-empty reply also goes to the frontends
        as a ``plugin-message``. The reply, ``""`` when the plugin streamed instead."""
        context = self.context(instance_id)
        reply: m.MessageReply = self.manager.call_plugin(
            context.plugin_id, "message.handle", m.MessageRequest(instance_id=instance_id, message=message)
        )
        return self._replied(context, reply)

    async def ahandle(self, instance_id: str, message: str) -> str:
        """:meth:`handle` on the running event loop."""
        context = self.context(instance_id)
        reply: m.MessageReply = await self.manager.acall_plugin(
            context.plugin_id, "message.handle", m.MessageRequest(instance_id=instance_id, message=message)
        )
        return self._replied(context, reply)

    def set_history(self, instance_id: str, history: Iterable[m.HistoryMessage]) -> None:
        context = self.context(instance_id)
        context.set_history(history)
        self._hook(context, "message.set_history", m.MessageHistory(
            instance_id=instance_id, history=list(context.history or []),
        ))

    def metadata(self, instance_id: str) -> m.InstanceMetadata:
        """The plugin's ``message.metadata`` answer, or the metadata the instance was created with."""
        context = self.context(instance_id)
        answer = self._hook(context, "message.metadata", m.InstanceRef(instance_id=instance_id))
        return answer if isinstance(answer, m.InstanceMetadata) and answer.id else context.metadata

    def cancel(self, instance_id: str, stream_id: str) -> bool:
        """The user cancels a stream. As in the seed host, only a mounted, connected instance's streams."""
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None or not (instance.mounted and instance.connected):
                return False
        return self.hub.cancel(instance_id, stream_id)

    def context(self, instance_id: str) -> PluginInstanceContext:
        """A live instance's context; ``not_found`` when there is none."""
        instance = self._instances.get(instance_id)
        if instance is None:
            raise PluginKitError("not_found", f"no message plugin instance {instance_id!r}")
        return instance.context

    def context_for(self, plugin_id: str, instance_id: str) -> PluginInstanceContext:
        """``instance_id``'s context, if it is ``plugin_id``'s (a plugin reaches only its own instances)."""
        instance = self._instances.get(instance_id)
        if instance is None or (plugin_id != "host" and instance.plugin_id != plugin_id):
            raise PluginKitError("host_call_failed", f"no instance {instance_id!r} of plugin {plugin_id!r}")
        return instance.context

    def instances(self, plugin_id: str | None = None) -> list[str]:
        """The live instances' IDs, of one plugin or all, oldest first."""
        return [i for i, inst in self._instances.items() if plugin_id is None or inst.plugin_id == plugin_id]

    # -- inside ----------------------------------------------------------------------------------------------
    def _new(
        self, plugin_id: str, instance_id: str | None, metadata: m.InstanceMetadata | None,
        history: Iterable[m.HistoryMessage] | None,
    ) -> PluginInstanceContext:
        record = self.manager.runtime.record(plugin_id)
        if record.state is not PluginState.ACTIVE:
            raise PluginKitError("plugin_unavailable", f"plugin {plugin_id!r} is {record.state.value}")
        if "message_plugin" not in record.capabilities:
            raise PluginKitError("not_found", f"plugin {plugin_id!r} is not a message plugin (no message_plugin)")
        if metadata is None:
            registered = record.registration.metadata if record.registration is not None else t.PluginMetadata()
            metadata = m.InstanceMetadata(
                id=plugin_id, name=registered.name, version=registered.version, author=registered.author or None,
            )
        with self._lock:
            chosen = instance_id or metadata.instance_id
            if not chosen:
                chosen = plugin_id if plugin_id not in self._instances else f"{plugin_id}#{next(_INSTANCE_NUMBERS)}"
            if chosen in self._instances:
                raise PluginKitError("invalid_request", f"instance {chosen!r} exists already")
            context = PluginInstanceContext(
                self.hub, plugin_id, metadata, instance_id=chosen, history=history, app_config=self.app_config,
                call_other_plugin=self._call_other,
            )
            self._instances[chosen] = _Instance(plugin_id, context)
        return context

    def _initialize_params(self, context: PluginInstanceContext) -> m.MessageInstance:
        metadata = copy.copy(context.metadata)  # the plugin's own, with the instance's ID
        metadata.instance_id = context.instance_id
        return m.MessageInstance(
            instance_id=context.instance_id, metadata=metadata, history=list(context.history or []),
        )

    def _drop(self, instance_id: str) -> None:
        with self._lock:
            self._instances.pop(instance_id, None)

    def _set_flag(self, instance_id: str, flag: str, value: bool) -> None:
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None:
                raise PluginKitError("not_found", f"no message plugin instance {instance_id!r}")
            setattr(instance, flag, value)

    def _implements(self, plugin_id: str, method: str) -> bool:
        return method.replace(".", "_") in self.manager.runtime.record(plugin_id).hooks

    def _hook(self, context: PluginInstanceContext, method: str, params: Any) -> Any:
        """Call an optional hook on the instance's plugin (nothing when it does not implement it)."""
        if not self._implements(context.plugin_id, method):
            return None
        return self.manager.call_plugin(context.plugin_id, method, params)

    async def _ahook(self, context: PluginInstanceContext, method: str, params: Any) -> Any:
        if not self._implements(context.plugin_id, method):
            return None
        return await self.manager.acall_plugin(context.plugin_id, method, params)

    def _replied(self, context: PluginInstanceContext, reply: m.MessageReply) -> str:
        if reply.reply:
            self.hub.send_message(context.plugin_id, context.instance_id, reply.reply)
        return reply.reply

    def _call_other(self, plugin_id: str, message: str) -> str | None:
        """The seed's ``call_other_plugin``: the message goes to the other plugin's oldest live instance; ``None``
        when it has none."""
        targets = self.instances(plugin_id)
        if not targets:
            return None
        depth = _depth.get()
        if depth >= MAX_CALL_DEPTH:
            raise PluginKitError("invalid_request", f"call_other_plugin nested {MAX_CALL_DEPTH} deep")
        token = _depth.set(depth + 1)
        try:
            return self.handle(targets[0], message)
        finally:
            _depth.reset(token)

    def _callbacks(self) -> dict[str, Callable[[Any, str], Any]]:
        """The ``host.message.*`` answers, each for the calling plugin's own instances."""

        def of(params: Any, caller: str) -> PluginInstanceContext:
            return self.context_for(caller, params.instance_id)

        def config(params: m.AppConfigRequest, caller: str) -> m.AppConfigValue:
            value = app_config_value(self.app_config, params.key)
            return m.AppConfigValue(found=value is not None, value=value or "")

        def other(params: m.OtherPluginCall, caller: str) -> m.MessageReply:
            of(params, caller)
            return m.MessageReply(reply=self._call_other(params.plugin_id, params.message) or "")

        def status(params: m.StreamRef, caller: str) -> m.StreamState:
            found = of(params, caller).get_stream_status(params.stream_id)
            return m.StreamState(status=found.value if found is not None else "")

        def operation(run: Callable[[PluginInstanceContext, Any], None]) -> Callable[[Any, str], t.Empty]:
            def answer(params: Any, caller: str) -> t.Empty:
                run(of(params, caller), params)
                return t.Empty()

            return answer

        return {
            "host.message.send_to_frontend": lambda p, c: m.Sent(ok=of(p, c).send_to_frontend(p.event, p.payload)),
            "host.message.get_app_config": config,
            "host.message.call_other_plugin": other,
            "host.message.stream_start": lambda p, c: m.StreamStarted(stream_id=of(p, c).send_message_stream_start()),
            "host.message.stream_send": operation(lambda i, p: i.send_message_stream(p.stream_id, p.chunk, p.is_final)),
            "host.message.stream_batch": operation(lambda i, p: i.send_message_stream_batch(p.stream_id, p.chunks)),
            "host.message.stream_end": operation(
                lambda i, p: i.send_message_stream_end(p.stream_id, p.success, p.error_msg or None)
            ),
            "host.message.stream_pause": operation(lambda i, p: i.send_message_stream_pause(p.stream_id)),
            "host.message.stream_resume": operation(lambda i, p: i.send_message_stream_resume(p.stream_id)),
            "host.message.stream_cancel": operation(lambda i, p: i.send_message_stream_cancel(p.stream_id)),
            "host.message.stream_status": status,
            "host.message.list_streams": lambda p, c: m.StreamIds(stream_ids=of(p, c).list_active_streams()),
        }
