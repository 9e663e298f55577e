"""The seed's stream state machine (plugin-interfaces 0.1.2 / a7fba8c, research/seed-systems.md §1), operation by
operation and state by state, and the host side (chat-client plugins/manager.rs) that mirrors and refuses."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from pluginkit.errors import ERROR_CODES, PluginKitError
from pluginkit.messages import (
    CHANNEL_MESSAGE,
    CHANNEL_STREAM,
    FrontendEvent,
    InstanceMetadata,
    MessageHub,
    PluginInstanceContext,
    StreamError,
    StreamErrorKind,
    StreamStatus,
    SubscriptionOverflow,
)

# the seed's table written out, and the operations as a plugin calls them: the stream-hub kit's
from pluginkit.testing._streams_kit import EXPECTED, STEPS_TO
from pluginkit.testing._streams_kit import OPERATIONS_UNDER_TEST as OPS

S = StreamStatus
K = StreamErrorKind


def instance(hub: MessageHub, plugin_id: str = "echo", instance_id: str = "echo-1") -> PluginInstanceContext:
    return PluginInstanceContext(hub, plugin_id, InstanceMetadata(id=plugin_id, instance_id=instance_id))


def stream_in(ctx: PluginInstanceContext, status: StreamStatus) -> str:
    """A stream brought to ``status`` through the API."""
    stream_id = ctx.send_message_stream_start()
    for step in STEPS_TO[status]:
        OPS[step](ctx, stream_id)
    assert ctx.get_stream_status(stream_id) is status
    return stream_id


@pytest.mark.parametrize(("operation", "start"), sorted(EXPECTED, key=lambda k: (k[0], k[1].value)))
def test_each_operation_from_each_state(operation: str, start: StreamStatus) -> None:
    hub = MessageHub()
    ctx = instance(hub)
    stream_id = stream_in(ctx, start)
    expected = EXPECTED[(operation, start)]
    if isinstance(expected, StreamErrorKind):
        with pytest.raises(StreamError) as raised:
            OPS[operation](ctx, stream_id)
        assert raised.value.kind is expected and raised.value.code == expected.code
        assert expected.code in ERROR_CODES
        assert ctx.get_stream_status(stream_id) is start  # a refused operation changes nothing
    else:
        OPS[operation](ctx, stream_id)
        assert ctx.get_stream_status(stream_id) is expected
        # the host's mirror agrees (ended streams are remembered for late events)
        assert hub.status(stream_id) is expected


def test_unknown_streams_and_the_seed_display_strings() -> None:
    ctx = instance(MessageHub())
    for operation in OPS.values():
        with pytest.raises(StreamError) as raised:
            operation(ctx, "stream_nope")
        assert raised.value.kind is K.STREAM_NOT_FOUND
    assert ctx.get_stream_status("stream_nope") is None
    assert [k.display for k in K] == [
        "Failed to send message to frontend", "Invalid stream ID", "Stream not found", "Stream already ended",
        "Invalid stream state", "Stream was cancelled by user",
    ]


class FlakyHub(MessageHub):
    """A host whose frontend send fails for the named event types (what the seed's rollback is for)."""

    def __init__(self, failing: set[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failing = failing

    def deliver(self, plugin_id: str, instance_id: str, kind: str, data: dict[str, Any]) -> Any:
        if kind in self.failing:
            return K.STREAM_NOT_FOUND
        return super().deliver(plugin_id, instance_id, kind, data)


def test_pause_and_resume_roll_back_when_the_frontend_send_fails_and_cancel_does_not() -> None:
    hub = FlakyHub({"stream_pause", "stream_resume", "stream_cancel"})
    ctx = instance(hub)
    stream_id = ctx.send_message_stream_start()
    with pytest.raises(StreamError) as paused:
        ctx.send_message_stream_pause(stream_id)
    assert paused.value.kind is K.SEND_FAILED and ctx.get_stream_status(stream_id) is S.ACTIVE
    hub.failing.discard("stream_pause")
    ctx.send_message_stream_pause(stream_id)
    with pytest.raises(StreamError):
        ctx.send_message_stream_resume(stream_id)
    assert ctx.get_stream_status(stream_id) is S.PAUSED
    with pytest.raises(StreamError) as cancelled:
        ctx.send_message_stream_cancel(stream_id)
    assert cancelled.value.kind is K.SEND_FAILED and ctx.get_stream_status(stream_id) is S.CANCELLED


def test_a_stream_exists_only_if_its_start_was_sent() -> None:
    hub = FlakyHub({"stream_start"})
    ctx = instance(hub)
    with pytest.raises(StreamError) as raised:
        ctx.send_message_stream_start()
    assert raised.value.kind is K.SEND_FAILED
    assert ctx.list_active_streams() == [] and hub.streams() == []


def test_a_batch_marks_its_last_chunk_final_and_stops_at_the_first_failure() -> None:
    hub = MessageHub(max_chunk_bytes=8)
    ctx = instance(hub)
    subscription = hub.subscribe()
    stream_id = ctx.send_message_stream_start()
    ctx.send_message_stream_batch(stream_id, ["a", "b", "c"])
    assert ctx.get_stream_status(stream_id) is S.FINALIZING
    other = ctx.send_message_stream_start()
    with pytest.raises(PluginKitError) as raised:
        ctx.send_message_stream_batch(other, ["ok", "far too long", "never sent"])
    assert raised.value.code == "stream_limit"
    data = [e.payload["data"] for e in drain(subscription) if e.type == "stream_data"]
    assert [(d["chunk"], d["is_final"]) for d in data] == [("a", False), ("b", False), ("c", True), ("ok", False)]
    ctx.send_message_stream_batch(other, [])  # nothing to send: nothing changes
    assert ctx.get_stream_status(other) is S.ACTIVE


def drain(subscription: Any) -> list[FrontendEvent]:
    events = []
    while (event := subscription.get_nowait()) is not None:
        events.append(event)
    return events


def test_the_frontends_get_the_seed_envelope() -> None:
    hub = MessageHub()
    ctx = instance(hub)
    subscription = hub.subscribe(plugin_id="echo")
    before = time.time_ns() // 1_000_000
    stream_id = ctx.send_message_stream_start()
    ctx.send_message_stream(stream_id, "Hé", True)
    ctx.send_message_stream_end(stream_id, False, "upstream failed")
    reply = hub.send_message("echo", "echo-1", "plain answer")
    events = drain(subscription)
    assert [(e.channel, e.type) for e in events] == [
        (CHANNEL_STREAM, "stream_start"), (CHANNEL_STREAM, "stream_data"), (CHANNEL_STREAM, "stream_end"),
        (CHANNEL_MESSAGE, "plugin_message"),
    ]
    for event in events[:3]:
        assert set(event.payload) == {"type", "plugin_id", "instance_id", "data", "timestamp"}
        assert (event.payload["plugin_id"], event.payload["instance_id"]) == ("echo", "echo-1")
        assert before <= event.payload["timestamp"] <= time.time() * 1000 + 1
    assert events[0].payload["data"] == {"stream_id": stream_id, "message_type": "stream_start"}
    assert events[1].payload["data"] == {"stream_id": stream_id, "chunk": "Hé", "is_final": True}
    assert events[2].payload["data"] == {"stream_id": stream_id, "success": False, "error": "upstream failed"}
    assert events[3] is reply and reply.payload["message_id"].startswith("message_")
    assert '"chunk":"Hé"' in events[1].json()  # UTF-8 as is, compact, as the seed host sends it
    assert stream_id.startswith("stream_")


def test_the_user_cancels_and_the_plugin_learns_it_on_its_next_chunk() -> None:
    """chat-client: a user's cancel sets Cancelled and sends stream_cancel itself; any later event for the
    stream is refused, and the plugin's chunk fails with StreamCancelled (a7fba8c)."""
    hub = MessageHub()
    ctx = instance(hub)
    subscription = hub.subscribe(instance_id="echo-1")
    stream_id = ctx.send_message_stream_start()
    assert not hub.cancel("someone-else", stream_id)  # only the instance's own streams
    assert hub.cancel("echo-1", stream_id)
    assert not hub.cancel("echo-1", stream_id)  # once
    with pytest.raises(StreamError) as raised:
        ctx.send_message_stream(stream_id, "more")
    assert raised.value.kind is K.STREAM_CANCELLED and str(raised.value.message).startswith(
        "Stream was cancelled by user"
    )
    assert ctx.get_stream_status(stream_id) is S.CANCELLED and ctx.list_active_streams() == []
    assert hub.status(stream_id) is S.CANCELLED
    assert not ctx.send_to_frontend(CHANNEL_STREAM, f'{{"type":"stream_data","data":{{"stream_id":"{stream_id}"}}}}')
    assert [e.type for e in drain(subscription)] == ["stream_start", "stream_cancel"]


def test_list_active_streams_lists_this_instances_streams() -> None:
    """The seed compares the stored plugin ID with the instance ID and misses streams of an instance whose ID
    is not the plugin's: here each instance lists its own."""
    hub = MessageHub()
    first, second = instance(hub, "echo", "echo-1"), instance(hub, "echo", "echo-2")
    mine = [first.send_message_stream_start() for _ in range(2)]
    theirs = second.send_message_stream_start()
    first.send_message_stream_end(mine[1])
    assert first.list_active_streams() == [mine[0]]
    assert second.list_active_streams() == [theirs]
    assert [s.id for s in hub.streams(instance_id="echo-1")] == [mine[0]]
    assert {s.id for s in hub.streams(plugin_id="echo")} == {mine[0], theirs}
    with pytest.raises(StreamError):  # one instance's stream is not another's to drive
        second.send_message_stream(mine[0], "x")


def test_limits_on_open_streams_and_bytes() -> None:
    hub = MessageHub(max_streams_per_plugin=2, max_stream_bytes=10)
    ctx = instance(hub)
    subscription = hub.subscribe()
    first, second = ctx.send_message_stream_start(), ctx.send_message_stream_start()
    with pytest.raises(PluginKitError) as refused:
        ctx.send_message_stream_start()
    assert refused.value.code == "stream_limit"
    assert instance(hub, "other", "other-1").send_message_stream_start()  # per plugin
    ctx.send_message_stream(first, "123456")
    with pytest.raises(PluginKitError) as too_much:
        ctx.send_message_stream(first, "789012")
    assert too_much.value.code == "stream_limit"
    assert ctx.get_stream_status(first) is S.ERROR and hub.status(first) is S.ERROR  # the stream ended
    assert drain(subscription)[-1].payload["data"] == {
        "stream_id": first, "success": False, "error": "stream byte limit reached",
    }
    ctx.send_message_stream_end(second)
    assert ctx.send_message_stream_start()  # ended streams free their places


def test_an_idle_stream_ends_with_error() -> None:
    hub = MessageHub(idle_timeout=0.05)
    ctx = instance(hub)
    ended: list[FrontendEvent] = []
    hub.on_event(ended.append)
    stream_id = ctx.send_message_stream_start()
    time.sleep(0.1)
    assert hub.expire() == 1
    assert hub.status(stream_id) is S.ERROR and hub.streams() == []
    assert ended[-1].payload["data"] == {"stream_id": stream_id, "success": False, "error": "idle timeout"}
    with pytest.raises(StreamError) as raised:  # the plugin learns it on its next send
        ctx.send_message_stream(stream_id, "late")
    assert raised.value.kind is K.SEND_FAILED and raised.value.reason is K.STREAM_ALREADY_ENDED
    assert ctx.get_stream_status(stream_id) is S.ERROR


def test_ended_streams_are_forgotten_beyond_a_bound() -> None:
    hub = MessageHub(keep_ended=3)
    ctx = instance(hub)
    ids = [ctx.send_message_stream_start() for _ in range(5)]
    for stream_id in ids:
        ctx.send_message_stream_end(stream_id)
    assert [hub.status(i) for i in ids] == [None, None, S.COMPLETED, S.COMPLETED, S.COMPLETED]


def test_a_subscriber_reads_on_its_loop_while_a_plugin_sends_from_a_thread() -> None:
    hub = MessageHub()
    ctx = instance(hub)

    def produce() -> None:
        stream_id = ctx.send_message_stream_start()
        for word in ["one", "two", "three"]:
            ctx.send_message_stream(stream_id, word)
            time.sleep(0.005)
        ctx.send_message_stream_end(stream_id)

    async def consume() -> list[str]:
        seen = []
        async with hub.subscribe(instance_id="echo-1") as subscription:
            thread = threading.Thread(target=produce)
            thread.start()
            async for event in subscription:
                seen.append(event.payload["data"].get("chunk", event.type))
                if event.type == "stream_end":
                    break
            thread.join()
        return seen

    assert asyncio.run(asyncio.wait_for(consume(), 5)) == ["stream_start", "one", "two", "three", "stream_end"]


def test_a_subscriber_that_falls_behind_is_dropped_and_the_stream_goes_on() -> None:
    hub = MessageHub()
    ctx = instance(hub)
    slow, fine = hub.subscribe(maxsize=3), hub.subscribe(maxsize=100)
    stream_id = ctx.send_message_stream_start()
    for index in range(5):
        ctx.send_message_stream(stream_id, str(index))  # never refused for a slow reader
    assert len(drain(fine)) == 6
    assert [e.type for e in [slow.get_nowait(), slow.get_nowait(), slow.get_nowait()]] == [
        "stream_start", "stream_data", "stream_data",
    ]
    with pytest.raises(SubscriptionOverflow):
        slow.get_nowait()
    assert slow.closed

    async def read() -> None:
        async for _ in slow:
            pass

    with pytest.raises(SubscriptionOverflow):
        asyncio.run(read())


def test_a_failing_callback_is_logged_and_kept(caplog: pytest.LogCaptureFixture) -> None:
    hub = MessageHub()
    calls: list[str] = []

    def broken(event: FrontendEvent) -> None:
        calls.append(event.type)
        raise RuntimeError("frontend gone")

    stop = hub.on_event(broken, plugin_id="echo")
    ctx = instance(hub)
    stream_id = ctx.send_message_stream_start()
    ctx.send_message_stream(stream_id, "x")
    assert calls == ["stream_start", "stream_data"]
    assert "a frontend callback failed" in caplog.text
    stop()
    ctx.send_message_stream(stream_id, "y")
    assert calls == ["stream_start", "stream_data"]


def test_send_to_frontend_takes_the_seed_json_from_ported_plugins() -> None:
    """A plugin ported as it was (building the wrapper JSON itself) is parsed and mirrored like the seed host."""
    hub = MessageHub()
    ctx = instance(hub)
    events: list[FrontendEvent] = []
    hub.on_event(events.append)
    start = '{"type":"stream_start","plugin_id":"echo","instance_id":"echo-1","data":{"stream_id":"stream_1","message_type":"stream_start"},"timestamp":1}'  # noqa: E501
    assert ctx.send_to_frontend(CHANNEL_STREAM, start)
    assert hub.status("stream_1") is S.ACTIVE
    data = '{"type":"stream_data","data":{"stream_id":"stream_1","chunk":"hi","is_final":true}}'
    assert ctx.send_to_frontend(CHANNEL_STREAM, data)
    assert hub.status("stream_1") is S.FINALIZING
    assert ctx.send_to_frontend(CHANNEL_STREAM, '{"type":"stream_end","data":{"stream_id":"stream_1","success":true}}')
    assert hub.status("stream_1") is S.COMPLETED
    assert not ctx.send_to_frontend(CHANNEL_STREAM, "not json")
    assert not ctx.send_to_frontend(CHANNEL_STREAM, '{"type":"stream_data","data":{"stream_id":"stream_unknown"}}')
    assert not ctx.send_to_frontend(CHANNEL_STREAM, '{"type":"stream_warp","data":{"stream_id":"stream_1"}}')
    assert ctx.send_to_frontend("plugin-custom", '{"anything":1}')  # other channels pass through
    assert events[-1] == FrontendEvent("plugin-custom", {"anything": 1})


def test_stream_ids_are_unique() -> None:
    ctx = instance(MessageHub(max_streams_per_plugin=10_000))
    ids = {ctx.send_message_stream_start() for _ in range(2000)}
    assert len(ids) == 2000


def test_the_async_forms() -> None:
    hub = MessageHub()
    ctx = instance(hub)

    async def run() -> StreamStatus | None:
        stream_id = await ctx.send_message_stream_start_async()
        await ctx.send_message_stream_async(stream_id, "a")
        await ctx.send_message_stream_pause_async(stream_id)
        await ctx.send_message_stream_resume_async(stream_id)
        await ctx.send_message_stream_batch_async(stream_id, ["b", "c"])
        await ctx.send_message_stream_end_async(stream_id, True)
        other = await ctx.send_message_stream_start_async()
        await ctx.send_message_stream_cancel_async(other)
        return ctx.get_stream_status(stream_id)

    assert asyncio.run(run()) is S.COMPLETED


def test_the_instance_context_holds_what_the_seed_gives() -> None:
    from pluginkit.messages import HistoryMessage
    from pluginkit.wire import from_wire, to_wire

    hub = MessageHub()
    ctx = PluginInstanceContext(
        hub, "echo", InstanceMetadata(id="echo", name="Echo", require_history=True),
        app_config={"theme": "dark"}, call_other_plugin=lambda plugin, message: f"{plugin}:{message}",
    )
    assert ctx.get_instance_id() == "echo"  # no instance_id: the plugin's ID, as the seed falls back
    assert ctx.get_metadata().require_history and ctx.get_history() is None
    message = from_wire(
        {"id": "m1", "type": "normal", "status": "completed", "content": "hi", "pluginId": "echo", "role": "user",
         "createdAt": "2026-12-05T00:00:00Z"}, HistoryMessage,
    )
    assert message.plugin_id == "echo" and to_wire(message)["createdAt"] == "2026-12-05T00:00:00Z"
    ctx.set_history([message])
    assert ctx.get_history() == [message]
    ctx.clear_history()
    assert ctx.get_history() is None
    assert ctx.get_app_config("theme") == "dark" and ctx.get_app_config("missing") is None
    assert ctx.call_other_plugin("search", "find x") == "search:find x"
    assert PluginInstanceContext(hub, "bare").call_other_plugin("x", "y") is None
