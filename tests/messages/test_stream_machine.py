"""Random sequences of the nine stream operations and the user's cancel, each checked against the seed's table
(written out in test_streams.EXPECTED) and against what the frontends received."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from pluginkit.messages import LIVE, MessageHub, StreamError, StreamErrorKind, StreamStatus
from tests.messages.test_streams import EXPECTED, OPS, instance

S, K = StreamStatus, StreamErrorKind
#: What each operation sends the frontends when it succeeds (batch: one event per chunk; test_streams sends 2).
EVENTS = {
    "send": ["stream_data"], "send_final": ["stream_data"], "batch": ["stream_data"] * 2, "end_ok": ["stream_end"],
    "end_error": ["stream_end"], "pause": ["stream_pause"], "resume": ["stream_resume"], "cancel": ["stream_cancel"],
}


class StreamMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.hub = MessageHub()
        self.ctx = instance(self.hub)
        self.subscription = self.hub.subscribe(maxsize=100_000)
        self.model: dict[str, StreamStatus] = {}  # the plugin side, as the seed's table has it
        self.user_cancelled: set[str] = set()  # cancelled by the user, not yet noticed by the plugin
        self.expected_events: list[str] = []

    @rule()
    def start(self) -> None:
        stream_id = self.ctx.send_message_stream_start()
        self.model[stream_id] = S.ACTIVE
        self.expected_events.append("stream_start")

    @precondition(lambda self: bool(self.model))
    @rule(operation=st.sampled_from(sorted(OPS)), data=st.data())
    def operate(self, operation: str, data: Any) -> None:
        stream_id = data.draw(st.sampled_from(sorted(self.model)))
        before = self.model[stream_id]
        expected = EXPECTED[(operation, before)]
        try:
            OPS[operation](self.ctx, stream_id)
        except StreamError as error:
            got: Any = error.kind
        else:
            got = None
        if stream_id in self.user_cancelled and isinstance(expected, StreamStatus):
            # legal on the plugin's side, refused by the host: a chunk learns of the cancel, the rest fail to send
            self.user_cancelled.discard(stream_id)
            assert got is (K.STREAM_CANCELLED if operation in ("send", "send_final", "batch") else K.SEND_FAILED)
            self.model[stream_id] = S.CANCELLED
            return
        if isinstance(expected, StreamErrorKind):
            assert got is expected, (operation, before, got)
            return
        assert got is None, (operation, before, got)
        self.model[stream_id] = expected
        self.expected_events += EVENTS[operation]

    @precondition(lambda self: any(s in LIVE for s in self.model.values()))
    @rule(data=st.data())
    def user_cancels(self, data: Any) -> None:
        live = sorted(i for i, s in self.model.items() if s in LIVE and i not in self.user_cancelled)
        if not live:
            return
        stream_id = data.draw(st.sampled_from(live))
        assert self.hub.cancel("echo-1", stream_id)
        self.user_cancelled.add(stream_id)
        self.expected_events.append("stream_cancel")

    @rule()
    def unknown_stream(self) -> None:
        assert self.ctx.get_stream_status("stream_unknown") is None

    @invariant()
    def the_plugin_side_matches_the_model(self) -> None:
        for stream_id, status in self.model.items():
            assert self.ctx.get_stream_status(stream_id) is status
        assert self.ctx.list_active_streams() == [i for i, s in self.model.items() if s in LIVE]

    @invariant()
    def the_frontends_got_every_event_in_order(self) -> None:
        while (event := self.subscription.get_nowait()) is not None:
            assert event.type == self.expected_events.pop(0)
        assert self.expected_events == []

    @invariant()
    def the_host_lists_the_streams_it_did_not_see_end(self) -> None:
        host_open = {s.id for s in self.hub.streams()}
        plugin_open = {i for i, s in self.model.items() if s in LIVE}
        assert host_open == plugin_open - self.user_cancelled


def test_random_sequences_follow_the_table() -> None:
    run_state_machine_as_test(StreamMachine, settings=settings(max_examples=150, stateful_step_count=40, deadline=None))
