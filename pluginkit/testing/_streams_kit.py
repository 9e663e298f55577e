"""The conformance kits of plugin streams (seed 000): the stream API and its hub, and message plugins.

``pluginkit_stream_hub`` returns a function making a fresh hub (``MessageHub`` itself, or a host's own hub with
its interface); the kit holds it to the seed's state table, written out here operation by operation and state by
state, and drives random sequences of the nine operations and the user's cancel against it.

``pluginkit_message_plugin`` returns a message plugin (or ``(plugin, settings)``); the kit runs it as the seed
host does and checks that it answers any message without crashing, that every stream it opens follows the table
and ends, and that it stops producing once the user cancels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from pluginkit import PluginKitError
from pluginkit.messages import (
    LIVE,
    FrontendEvent,
    HistoryMessage,
    InstanceMetadata,
    MessageHost,
    PluginInstanceContext,
    StreamError,
    StreamErrorKind,
    StreamStatus,
)
from pluginkit.testing._kits import REFUSALS, _hypothesis, _settings, loaded

__all__ = ["EXPECTED", "OPERATIONS_UNDER_TEST", "STEPS_TO", "MessagePluginContract", "StreamHubContract"]

S, K = StreamStatus, StreamErrorKind
#: The operations that change a stream, by a short name, as a plugin calls them.
OPERATIONS_UNDER_TEST: dict[str, Callable[[PluginInstanceContext, str], None]] = {
    "send": lambda ctx, sid: ctx.send_message_stream(sid, "x"),
    "send_final": lambda ctx, sid: ctx.send_message_stream(sid, "x", True),
    "batch": lambda ctx, sid: ctx.send_message_stream_batch(sid, ["a", "b"]),
    "end_ok": lambda ctx, sid: ctx.send_message_stream_end(sid, True),
    "end_error": lambda ctx, sid: ctx.send_message_stream_end(sid, False, "boom"),
    "pause": lambda ctx, sid: ctx.send_message_stream_pause(sid),
    "resume": lambda ctx, sid: ctx.send_message_stream_resume(sid),
    "cancel": lambda ctx, sid: ctx.send_message_stream_cancel(sid),
}
#: What the frontends receive when each succeeds (``batch`` sends two chunks).
_EVENTS = {
    "send": ["stream_data"], "send_final": ["stream_data"], "batch": ["stream_data"] * 2, "end_ok": ["stream_end"],
    "end_error": ["stream_end"], "pause": ["stream_pause"], "resume": ["stream_resume"], "cancel": ["stream_cancel"],
}
_ENDED = (S.COMPLETED, S.ERROR, S.CANCELLED)
_OPEN = (S.ACTIVE, S.PAUSED, S.FINALIZING)
#: The seed's table (plugin-interfaces 0.1.2, with a7fba8c's host refusal), written out: (operation, state) → the
#: state after it, or the error it raises. ``end`` checks no state; the host refuses events for ended streams.
EXPECTED: dict[tuple[str, StreamStatus], StreamStatus | StreamErrorKind] = {
    **{(op, s): s for op in ("send",) for s in (S.ACTIVE, S.FINALIZING)},
    **{(op, s): S.FINALIZING for op in ("send_final", "batch") for s in (S.ACTIVE, S.FINALIZING)},
    **{(op, S.PAUSED): K.INVALID_STATE for op in ("send", "send_final", "batch")},
    **{(op, s): K.STREAM_ALREADY_ENDED for op in ("send", "send_final", "batch") for s in _ENDED},
    **{("end_ok", s): S.COMPLETED for s in _OPEN},
    **{("end_error", s): S.ERROR for s in _OPEN},
    **{(op, s): K.SEND_FAILED for op in ("end_ok", "end_error") for s in _ENDED},
    ("pause", S.ACTIVE): S.PAUSED,
    **{("pause", s): K.INVALID_STATE for s in S if s is not S.ACTIVE},
    ("resume", S.PAUSED): S.ACTIVE,
    **{("resume", s): K.INVALID_STATE for s in S if s is not S.PAUSED},
    **{("cancel", s): S.CANCELLED for s in _OPEN},
    **{("cancel", s): K.INVALID_STATE for s in _ENDED},
}
#: How to bring a fresh stream to each state.
STEPS_TO: dict[StreamStatus, tuple[str, ...]] = {
    S.ACTIVE: (), S.PAUSED: ("pause",), S.FINALIZING: ("send_final",), S.COMPLETED: ("end_ok",),
    S.ERROR: ("end_error",), S.CANCELLED: ("cancel",),
}


class StreamHubContract:
    """``pluginkit_stream_hub``: the stream API over the hub follows the seed's table, transition by transition
    and over random sequences with the user's cancels; the frontends get every event, in order."""

    def _context(self, hub: Any) -> PluginInstanceContext:
        return PluginInstanceContext(hub, "kit", InstanceMetadata(id="kit", instance_id="kit-1"))

    def test_every_operation_from_every_state(self, pluginkit_stream_hub: Callable[[], Any]) -> None:
        for (operation, start), expected in EXPECTED.items():
            ctx = self._context(pluginkit_stream_hub())
            stream_id = ctx.send_message_stream_start()
            for step in STEPS_TO[start]:
                OPERATIONS_UNDER_TEST[step](ctx, stream_id)
            assert ctx.get_stream_status(stream_id) is start
            try:
                OPERATIONS_UNDER_TEST[operation](ctx, stream_id)
            except StreamError as error:
                assert error.kind is expected, f"{operation} from {start.value}: {error.kind}, expected {expected}"
                assert ctx.get_stream_status(stream_id) is start, f"a refused {operation} changed the stream"
                continue
            assert ctx.get_stream_status(stream_id) is expected, f"{operation} from {start.value}"

    def test_random_sequences_follow_the_table(self, pluginkit_stream_hub: Callable[[], Any]) -> None:
        from hypothesis import settings  # deferred: hypothesis is slow to import
        from hypothesis.stateful import run_state_machine_as_test  # deferred, as above

        run_state_machine_as_test(
            _machine(pluginkit_stream_hub, self._context),
            settings=settings(max_examples=100, stateful_step_count=30, deadline=None),
        )


def _machine(new_hub: Callable[[], Any], context: Callable[[Any], PluginInstanceContext]) -> type:
    """The state machine of :meth:`StreamHubContract.test_random_sequences_follow_the_table`."""
    from hypothesis import strategies as st  # deferred: hypothesis is slow to import
    from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule  # deferred, as above

    class StreamMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.hub = new_hub()
            self.ctx = context(self.hub)
            self.screen = self.hub.subscribe(maxsize=1_000_000)
            self.model: dict[str, StreamStatus] = {}  # the plugin's side, as the table has it
            self.user_cancelled: set[str] = set()  # cancelled by the user, not yet noticed by the plugin
            self.expected_events: list[str] = []

        @rule()
        def start(self) -> None:
            stream_id = self.ctx.send_message_stream_start()
            self.model[stream_id] = S.ACTIVE
            self.expected_events.append("stream_start")

        @precondition(lambda self: bool(self.model))
        @rule(operation=st.sampled_from(sorted(OPERATIONS_UNDER_TEST)), data=st.data())
        def operate(self, operation: str, data: Any) -> None:
            stream_id = data.draw(st.sampled_from(sorted(self.model)))
            before = self.model[stream_id]
            expected = EXPECTED[(operation, before)]
            try:
                OPERATIONS_UNDER_TEST[operation](self.ctx, stream_id)
                got: Any = None
            except StreamError as error:
                got = error.kind
            if stream_id in self.user_cancelled and isinstance(expected, StreamStatus):
                # legal on the plugin's side, refused by the host: a chunk learns of the cancel, the rest fail
                self.user_cancelled.discard(stream_id)
                chunk = operation in ("send", "send_final", "batch")
                assert got is (K.STREAM_CANCELLED if chunk else K.SEND_FAILED), (operation, got)
                self.model[stream_id] = S.CANCELLED
            elif isinstance(expected, StreamErrorKind):
                assert got is expected, (operation, before, got)
            else:
                assert got is None, (operation, before, got)
                self.model[stream_id] = expected
                self.expected_events += _EVENTS[operation]

        @precondition(lambda self: any(s in LIVE for s in self.model.values()))
        @rule(data=st.data())
        def user_cancels(self, data: Any) -> None:
            live = sorted(i for i, s in self.model.items() if s in LIVE and i not in self.user_cancelled)
            if live:
                stream_id = data.draw(st.sampled_from(live))
                assert self.hub.cancel("kit-1", stream_id)
                self.user_cancelled.add(stream_id)
                self.expected_events.append("stream_cancel")

        @invariant()
        def the_plugin_side_matches_the_table(self) -> None:
            for stream_id, status in self.model.items():
                assert self.ctx.get_stream_status(stream_id) is status
            assert self.ctx.list_active_streams() == [i for i, s in self.model.items() if s in LIVE]

        @invariant()
        def the_frontends_got_every_event_in_order(self) -> None:
            while (event := self.screen.get_nowait()) is not None:
                assert event.type == self.expected_events.pop(0)
            assert self.expected_events == []

    return StreamMachine


def _streams(events: list[FrontendEvent]) -> dict[str, list[str]]:
    """Each stream's event types, in order."""
    streams: dict[str, list[str]] = {}
    for event in events:
        if event.channel == "plugin-stream":
            streams.setdefault(event.stream_id, []).append(event.type)
    return streams


class MessagePluginContract:
    """``pluginkit_message_plugin``: answers any message without crashing; every stream it opens follows the
    table and ends; it stops producing once the user cancels."""

    @pytest.fixture
    def subject(self, pluginkit_message_plugin: Any) -> Any:
        return pluginkit_message_plugin

    def _conversation(self, subject: Any, message: str, *, cancel: bool = False) -> list[FrontendEvent]:
        """One message to a fresh, mounted, connected instance, under a manager of its own (a crash fuses the
        plugin: each drawn message starts afresh); with ``cancel``, the user cancels each stream as soon as it
        starts. The frontends' events, once the plugin's answer is done."""
        for manager in loaded(subject):
            return self._talk(MessageHost(manager), message, cancel)
        raise AssertionError("the plugin did not load")

    def _talk(self, host: MessageHost, message: str, cancel: bool) -> list[FrontendEvent]:
        async def talk() -> list[FrontendEvent]:
            instance = (await host.acreate("under-test")).instance_id
            host.mount(instance)
            host.connect(instance)
            screen = host.hub.subscribe(instance_id=instance)
            seen: list[FrontendEvent] = []

            def watch(event: FrontendEvent) -> None:
                if cancel and event.type == "stream_start":
                    host.cancel(instance, event.stream_id)

            stop = host.hub.on_event(watch, instance_id=instance)
            try:
                await asyncio.wait_for(host.ahandle(instance, message), 10)
            except PluginKitError as error:
                assert error.code in REFUSALS, f"message {message!r}: {error.code}: {error.message}"
            finally:
                stop()
            await asyncio.sleep(0)
            seen.extend(iter(screen.get_nowait, None))
            host.dispose(instance)
            return seen

        return asyncio.run(talk())

    def test_answers_any_message_and_ends_its_streams(self, subject: Any) -> None:
        given, st = _hypothesis()

        @_settings()
        @given(message=st.text(max_size=200))
        def check(message: str) -> None:
            for stream_id, kinds in _streams(self._conversation(subject, message)).items():
                assert kinds[0] == "stream_start", f"{stream_id}: {kinds}"
                assert kinds[-1] in ("stream_end", "stream_cancel"), f"{stream_id} never ended: {kinds}"
                assert kinds.count("stream_end") + kinds.count("stream_cancel") == 1, f"{stream_id}: {kinds}"

        check()

    def test_stops_once_the_user_cancels(self, subject: Any) -> None:
        events = self._conversation(subject, "Tell me something, word by word.", cancel=True)
        for stream_id, kinds in _streams(events).items():
            assert "stream_cancel" in kinds, f"{stream_id}: {kinds}"
            after = kinds[kinds.index("stream_cancel") + 1:]
            assert after == [], f"{stream_id} sent {after} after the user cancelled it"

    def test_the_lifecycle(self, subject: Any) -> None:
        for manager in loaded(subject):
            self._lifecycle(MessageHost(manager))

    def _lifecycle(self, host: MessageHost) -> None:
        first = HistoryMessage(id="1", type="normal", content="hi", role="user")
        context = host.create("under-test", history=[first])
        instance = context.instance_id
        host.mount(instance)
        host.connect(instance)
        host.set_history(instance, [HistoryMessage(id="2", type="normal", content="hello", role="user")])
        assert isinstance(host.metadata(instance), InstanceMetadata)
        host.disconnect(instance)
        host.dispose(instance)
        assert host.instances() == []
