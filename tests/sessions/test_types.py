"""The session types speak the seed's JSON, and the codecs every store shares read back what they write."""

from __future__ import annotations

from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given

from pluginkit import wire
from pluginkit.sessions import (
    ContentType,
    Conversation,
    Message,
    MessageContent,
    MessageMetadata,
    ModelConfig,
    Session,
    SessionInsights,
    SessionType,
    extension_key,
)
from pluginkit.sessions._codec import _fast_message, decode_message, message_from_data, session_to_json
from pluginkit.sessions._contract import UNSET
from pluginkit.sessions._operations import BY_NAME
from pluginkit.testing._stateful import messages as message_strategy
from pluginkit.wire._payload import wire_names

SEED_SESSION_KEYS = {
    "id", "working_dir", "name", "user_set_name", "session_type", "created_at", "updated_at", "extension_data",
    "total_tokens", "input_tokens", "output_tokens", "accumulated_total_tokens", "accumulated_input_tokens",
    "accumulated_output_tokens", "schedule_id", "recipe", "user_recipe_values", "conversation", "message_count",
    "provider_name", "model_config",
}


def test_json_names_are_the_seeds() -> None:
    assert set(wire_names(Session).values()) >= SEED_SESSION_KEYS
    assert list(wire_names(Message).values()) == ["id", "role", "created", "content", "metadata"]
    assert set(wire_names(MessageMetadata).values()) == {"userVisible", "agentVisible"}
    assert {"mimeType", "toolCall", "toolResult", "toolName", "notificationType", "_meta"} <= set(
        wire_names(MessageContent).values()
    )
    assert wire.to_wire(SessionInsights(total_sessions=2, total_tokens=5)) == {"totalSessions": 2, "totalTokens": 5}
    assert [t.value for t in SessionType] == ["user", "scheduled", "sub_agent", "hidden", "terminal", "acp"]
    assert "systemNotification" in [k.value for k in ContentType]


def test_the_export_writes_every_session_key_and_exact_zeros() -> None:
    session = Session(id="20250101_1", working_dir="/w", session_type="user", total_tokens=0,
                      model_config=ModelConfig(temperature=0.0), conversation=[Message.user("hi", created=1)])
    data = orjson.loads(session_to_json(session))
    assert set(data) >= SEED_SESSION_KEYS
    assert (data["total_tokens"], data["input_tokens"], data["model_config"]["temperature"]) == (0, None, 0.0)
    hidden = Message(role="user", created=1, metadata=MessageMetadata(user_visible=True, agent_visible=False))
    exported = orjson.loads(session_to_json(Session(conversation=[hidden])))["conversation"][0]
    assert exported["metadata"] == {"userVisible": True, "agentVisible": False}  # goose reads a missing flag as true


@given(message=message_strategy)
def test_the_fast_message_path_agrees_with_the_wire_converter(message: Message) -> None:
    data = wire.to_wire(message)
    assert _fast_message(data) == wire.from_wire(data, Message) == decode_message(orjson.dumps(data))
    parsed, text = message_from_data(data)
    assert parsed == decode_message(text) == wire.from_wire(data, Message)


@pytest.mark.parametrize(
    "data",
    [
        {"Role": "user"}, {"role": 1}, {"created": True}, {"created": 2**70}, {"content": {}},
        {"content": [{"type": "text", "text": 3}]}, {"content": [{"Type": "text"}]},
        {"metadata": {"userVisible": 1}}, {"metadata": {"other": True}}, {"unknown": 1},
        {"content": [{"type": "toolRequest", "toolCall": {"n": 2**70}}]},
    ],
)
def test_unusual_messages_leave_the_fast_path_to_the_converter(data: dict[str, Any]) -> None:
    assert _fast_message(data) is None
    try:
        expected = wire.from_wire(data, Message)
    except wire.WireError:
        with pytest.raises(wire.WireError):
            message_from_data(data)
        return
    message, text = message_from_data(data)
    assert message == expected and decode_message(text) == wire.from_wire(orjson.loads(text), Message)


def test_conversation_visibility_and_text() -> None:
    visible = Message.user("seen", created=1)
    only_agent = Message(role="user", created=2, content=[MessageContent.of_text("internal"),
                                                          MessageContent.of_thinking("not text")],
                         metadata=MessageMetadata(agent_visible=True))
    conversation = Conversation([visible, only_agent])
    assert conversation.user_visible_messages() == [visible]
    assert conversation.agent_visible_messages() == [visible, only_agent]
    assert only_agent.text == "internal"
    assert extension_key("todo", "v0") == "todo.v0"
    with pytest.raises(ValueError):
        extension_key("todo", "v.0")


def test_partial_updates_travel_as_none_plus_clear() -> None:
    op = BY_NAME["update_provider_config"]
    params = op.pack({"session_id": "s", "provider_name": None, "model_config": UNSET})
    assert (params.provider_name, params.model_config, params.clear) == (None, None, ["provider_name"])
    assert op.unpack(params) == {"session_id": "s", "provider_name": None, "model_config": UNSET}
    search = BY_NAME["search_chat_history"]
    packed = search.pack({"query": "q", "limit": None, "after_date": None, "before_date": None,
                          "exclude_session_id": None, "mode": "all"})
    assert (packed.limit, packed.exclude_session_id, packed.mode) == (0, "", "all")
    assert search.unpack(packed)["limit"] is None and search.unpack(packed)["exclude_session_id"] is None
    assert search.unpack(attrs.evolve(packed, mode=""))["mode"] == "any"  # the wire's zero value: the default
