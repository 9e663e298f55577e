"""The message-plugin conformance kit fails the plugins it should: one that leaves its stream open, one that
crashes on a message, one that keeps going after the user cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from pluginkit import hookimpl
from pluginkit import types as t
from pluginkit.messages import StreamError, instance_context
from pluginkit.messages import _types as m
from pluginkit.testing import MessagePluginContract


class Base:
    @hookimpl
    def plugin_register(self) -> t.Registration:
        return t.Registration(
            metadata=t.PluginMetadata(name="bad", version="1", author="tests", github_repository="e/bad"),
            capabilities=t.Capabilities(message_plugin=True),
        )


class LeavesItOpen(Base):
    @hookimpl
    def message_handle(self, params: m.MessageRequest, ctx: Any) -> m.MessageReply:
        instance = instance_context(ctx, params.instance_id)
        instance.send_message_stream(instance.send_message_stream_start(), "and then…")
        return m.MessageReply()


class Crashes(Base):
    @hookimpl
    def message_handle(self, params: m.MessageRequest) -> m.MessageReply:
        if len(params.message) > 3:
            raise KeyError("unexpected")
        return m.MessageReply(reply="ok")


class NeverStops(Base):
    @hookimpl
    async def message_handle(self, params: m.MessageRequest, ctx: Any) -> m.MessageReply:
        instance = instance_context(ctx, params.instance_id)
        stream_id = instance.send_message_stream_start()
        while True:  # ignores StreamCancelled: a runaway producer
            with contextlib.suppress(StreamError):
                instance.send_message_stream(stream_id, "more ")
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("plugin", "test", "why"),
    [
        (LeavesItOpen(), "test_answers_any_message_and_ends_its_streams", "never ended"),
        (Crashes(), "test_answers_any_message_and_ends_its_streams", "plugin_error"),
    ],
)
def test_the_kit_fails_a_plugin_that_breaks_a_rule(plugin: object, test: str, why: str) -> None:
    with pytest.raises(AssertionError, match=why):
        getattr(MessagePluginContract(), test)(plugin)


def test_the_kit_fails_a_plugin_that_does_not_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    real_wait_for = asyncio.wait_for
    monkeypatch.setattr(asyncio, "wait_for", lambda awaitable, timeout: real_wait_for(awaitable, 0.3))
    with pytest.raises(TimeoutError):
        MessagePluginContract().test_stops_once_the_user_cancels(NeverStops())
