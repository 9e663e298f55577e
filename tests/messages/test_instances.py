"""Message plugins as the seed host drives them (chat-client): instances, lifecycle, messages, streams through the
instance's context, and the host.message.* callbacks by dotted name."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pluginkit import PluginError, PluginManager, PluginState, hookimpl
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.messages import (
    HistoryMessage,
    InstanceMetadata,
    MessageHost,
    StreamStatus,
    instance_context,
)
from pluginkit.messages import _types as m


def registration(name: str) -> t.Registration:
    return t.Registration(
        metadata=t.PluginMetadata(name=name, version="1.0", author="tests", github_repository="example/" + name),
        capabilities=t.Capabilities(message_plugin=True),
    )


class Echo:
    """Replies ``you said …``; ``stream: a b c`` streams the words; ``ask <plugin> <text>`` asks another plugin."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return registration("echo")

    @hookimpl
    def message_initialize(self, params: m.MessageInstance, ctx: Any) -> None:
        self.calls.append(("initialize", params.instance_id))
        assert params.metadata.instance_id == params.instance_id
        assert instance_context(ctx, params.instance_id).get_instance_id() == params.instance_id

    @hookimpl
    def message_mount(self, params: m.InstanceRef) -> None:
        self.calls.append(("mount", params.instance_id))

    @hookimpl
    def message_connect(self, params: m.InstanceRef) -> None:
        self.calls.append(("connect", params.instance_id))

    @hookimpl
    def message_disconnect(self, params: m.InstanceRef) -> None:
        self.calls.append(("disconnect", params.instance_id))

    @hookimpl
    def message_dispose(self, params: m.InstanceRef) -> None:
        self.calls.append(("dispose", params.instance_id))

    @hookimpl
    def message_set_history(self, params: m.MessageHistory) -> None:
        self.calls.append(("history", str(len(params.history))))

    @hookimpl
    def message_handle(self, params: m.MessageRequest, ctx: Any) -> m.MessageReply:
        instance = instance_context(ctx, params.instance_id)
        if params.message.startswith("stream:"):
            stream_id = instance.send_message_stream_start()
            instance.send_message_stream_batch(stream_id, [w + " " for w in params.message[7:].split()])
            instance.send_message_stream_end(stream_id, True)
            return m.MessageReply()
        if params.message.startswith("ask "):
            _, plugin, text = params.message.split(" ", 2)
            return m.MessageReply(reply=f"{plugin} says: {instance.call_other_plugin(plugin, text)}")
        if params.message == "open":
            return m.MessageReply(reply=instance.send_message_stream_start())
        if params.message == "fail":
            raise PluginError("invalid_request", "cannot answer that")
        if params.message == "crash":
            raise RuntimeError("bug")
        return m.MessageReply(reply=f"you said {params.message}")


class Shouter:
    """A second plugin, with no optional hooks at all, answering asynchronously."""

    @hookimpl
    def plugin_register(self) -> t.Registration:
        return registration("shouter")

    @hookimpl
    async def message_handle(self, params: m.MessageRequest) -> m.MessageReply:
        await asyncio.sleep(0)
        return m.MessageReply(reply=params.message.upper())


def host_with(*plugins: tuple[str, object], **kwargs: Any) -> MessageHost:
    manager = PluginManager(entry_points=False, environ={})
    for plugin_id, plugin in plugins:
        assert manager.register(plugin, plugin_id).state is PluginState.ACTIVE
    return MessageHost(manager, **kwargs)


def events_of(host: MessageHost, subscription: Any) -> list[tuple[str, Any]]:
    out = []
    while (event := subscription.get_nowait()) is not None:
        data = event.payload.get("data") or {}
        out.append((event.type, data.get("chunk") or event.payload.get("content")))
    return out


def test_instances_live_side_by_side_through_their_lifecycle() -> None:
    echo = Echo()
    host = host_with(("echo", echo))
    first = host.create("echo")
    second = host.create("echo")
    named = host.create("echo", instance_id="echo-window-3")
    assert (first.instance_id, named.instance_id) == ("echo", "echo-window-3")
    assert second.instance_id.startswith("echo#") and host.instances("echo") == [
        "echo", second.instance_id, "echo-window-3",
    ]
    assert first.get_metadata().name == "echo" and first.get_metadata().version == "1.0"  # from the registration
    host.mount("echo")
    host.connect("echo")
    host.disconnect("echo")
    host.dispose("echo")
    assert echo.calls[:3] == [("initialize", i) for i in ("echo", second.instance_id, named.instance_id)]
    assert echo.calls[3:] == [("mount", "echo"), ("connect", "echo"), ("disconnect", "echo"), ("dispose", "echo")]
    assert host.instances() == [second.instance_id, "echo-window-3"]
    with pytest.raises(PluginKitError) as gone:
        host.handle("echo", "hello")
    assert gone.value.code == "not_found"
    with pytest.raises(PluginKitError):  # one ID, one instance
        host.create("echo", instance_id="echo-window-3")


def test_a_reply_or_a_stream_reaches_the_frontends() -> None:
    host = host_with(("echo", Echo()))
    screen = host.hub.subscribe()
    host.create("echo", instance_id="w1")
    assert host.handle("w1", "hello") == "you said hello"
    assert host.handle("w1", "stream: one two") == ""
    assert events_of(host, screen) == [
        ("plugin_message", "you said hello"), ("stream_start", None), ("stream_data", "one "),
        ("stream_data", "two "), ("stream_end", None),
    ]


def test_a_failing_plugin_answers_an_error_and_the_host_keeps_serving() -> None:
    host = host_with(("echo", Echo()))
    host.create("echo", instance_id="w1")
    with pytest.raises(PluginKitError) as refused:
        host.handle("w1", "fail")
    assert (refused.value.code, refused.value.message) == ("invalid_request", "cannot answer that")
    with pytest.raises(PluginKitError) as crashed:
        host.handle("w1", "crash")
    assert crashed.value.code == "plugin_error" and "echo" in crashed.value.message
    assert host.manager.plugin("echo").state is PluginState.FUSED  # fused by the default policy, as any hook
    with pytest.raises(PluginKitError) as fused:
        host.handle("w1", "hello")
    assert fused.value.code in {"plugin_unavailable", "not_found"}


def test_the_user_cancels_only_a_mounted_connected_instances_stream() -> None:
    host = host_with(("echo", Echo()))
    context = host.create("echo", instance_id="w1")
    stream_id = host.handle("w1", "open")
    assert not host.cancel("w1", stream_id)  # not mounted and connected: the seed host requires both
    host.mount("w1")
    host.connect("w1")
    assert host.cancel("w1", stream_id)
    assert host.hub.status(stream_id) is StreamStatus.CANCELLED
    other = host.handle("w1", "open")
    host.dispose("w1")  # the instance's open streams end with it
    assert host.hub.status(other) is StreamStatus.CANCELLED
    # the plugin's side learns of a cancel on its next send, as in the seed
    assert context.list_active_streams() == [stream_id, other]


def test_history_and_metadata() -> None:
    echo = Echo()
    host = host_with(("echo", echo), ("shouter", Shouter()))
    history = [HistoryMessage(id="1", type="normal", status="completed", content="hi", plugin_id="echo", role="user")]
    context = host.create("echo", instance_id="w1", history=history)
    assert context.get_history() == history
    host.set_history("w1", history * 2)
    assert echo.calls[-1] == ("history", "2") and context.get_history() == history * 2
    assert host.metadata("w1").id == "echo"
    shout = host.create("shouter", metadata=InstanceMetadata(id="shouter", name="Shouter", instance_id="s1"))
    assert shout.instance_id == "s1" and host.metadata("s1").name == "Shouter"


def test_plugins_talk_to_each_other_and_recursion_stops() -> None:
    host = host_with(("echo", Echo()), ("shouter", Shouter()))
    host.create("echo", instance_id="w1")
    assert host.handle("w1", "ask shouter quiet please") == "shouter says: None"  # no shouter instance yet
    host.create("shouter")
    with pytest.raises(PluginKitError, match="nested"):
        host.handle("w1", "ask echo " + "ask echo " * 10 + "hi")
    assert asyncio.run(host.ahandle("shouter", "hey")) == "HEY"


def test_the_async_forms() -> None:
    host = host_with(("shouter", Shouter()))

    async def run() -> str:
        await host.acreate("shouter", instance_id="s1")
        return await host.ahandle("s1", "async")

    assert asyncio.run(run()) == "ASYNC"


def test_the_stream_api_by_dotted_name() -> None:
    """Hosts (invoke) and plugins (ctx.host) reach each operation by its host.message.* name; a plugin only its
    own instances."""
    host = host_with(("echo", Echo()), ("shouter", Shouter()))
    host.create("echo", instance_id="w1")
    host.create("shouter", instance_id="s1")
    manager = host.manager
    started = manager.invoke("host.message.stream_start", {"instance_id": "w1"})
    assert started.ok, started.error
    stream_id = started.result.stream_id
    assert manager.invoke("host.message.stream_send", {"instance_id": "w1", "stream_id": stream_id, "chunk": "a"}).ok
    assert manager.invoke("host.message.stream_pause", {"instance_id": "w1", "stream_id": stream_id}).ok
    refused = manager.invoke("host.message.stream_send", {"instance_id": "w1", "stream_id": stream_id, "chunk": "b"})
    assert refused.error is not None and refused.error.code == "stream_invalid_state"
    status = manager.invoke("host.message.stream_status", {"instance_id": "w1", "stream_id": stream_id})
    assert status.result.status == "Paused"
    assert manager.invoke("host.message.list_streams", {"instance_id": "w1"}).result.stream_ids == [stream_id]
    unknown = manager.invoke("host.message.stream_end", {"instance_id": "w1", "stream_id": "stream_x"})
    assert unknown.error is not None and unknown.error.code == "stream_not_found"

    ctx = manager.runtime.record("shouter").ctx  # the context the manager hands the plugin's hooks
    with pytest.raises(PluginKitError) as not_yours:
        ctx.host("host.message.stream_start", {"instance_id": "w1"})
    assert not_yours.value.code == "host_call_failed"
    own = ctx.host("host.message.stream_start", {"instance_id": "s1"})
    assert own.stream_id.startswith("stream_")
    assert ctx.host("host.message.get_app_config", {"key": "theme"}) == m.AppConfigValue(found=False, value="")


def test_only_message_plugins_get_instances() -> None:
    class NotOne:
        @hookimpl
        def plugin_register(self) -> t.Registration:
            return t.Registration(
                metadata=t.PluginMetadata(name="x", version="1", author="a", github_repository="e/x"),
                capabilities=t.Capabilities(tool_provider=True),
            )

    host = host_with(("plain", NotOne()))
    with pytest.raises(PluginKitError) as refused:
        host.create("plain")
    assert refused.value.code == "not_found"
    with pytest.raises(PluginKitError):
        host.create("nobody")
