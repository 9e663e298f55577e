"""``openai-anthropic`` (pip-installed, called through a real PluginManager): requests, responses and stream
events translated both ways, checked against the expected documents and by round trips."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import PluginKitError, PluginState
from pluginkit import types as t
from tests.helpers import (
    anthropic_stream_message,
    dumps,
    openai_stream_completion,
    plugins,
    sse,
    sse_events,
    translate_request,
    translate_response,
    translate_stream,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(32))).decode()
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}

OPENAI_REQUEST: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": [
            {"type": "text", "text": "What is in these pictures, and what is the weather in Paris?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        ]},
        {"role": "assistant", "content": "Let me check the weather.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18°C, light rain"},
        {"role": "user", "content": "Thanks. Answer in one line."},
    ],
    "tools": [WEATHER_TOOL_OPENAI],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "max_tokens": 300,
    "temperature": 0.2,
    "top_p": 0.9,
    "stop": ["END", "STOP"],
    "user": "user-42",
}

ANTHROPIC_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4",
    "system": [{"type": "text", "text": "You are a terse assistant."}, {"type": "text", "text": "Use tools."}],
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this picture, and the weather in Oslo?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3°C, snow"},
            {"type": "text", "text": "Thanks!"},
        ]},
    ],
    "tools": [WEATHER_TOOL_ANTHROPIC],
    "tool_choice": {"type": "any"},
    "max_tokens": 512,
    "temperature": 0.5,
    "top_p": 0.8,
    "stop_sequences": ["END"],
    "metadata": {"user_id": "user-7"},
    "stream": True,
}


# --------------------------------------------------------------------------------------------------------------
# openai-anthropic: requests
# --------------------------------------------------------------------------------------------------------------


def test_openai_request_becomes_anthropic(on_path: Path) -> None:
    with plugins(on_path, "openai-anthropic") as m:
        body = translate_request(m, "openai", "claude", OPENAI_REQUEST, model="claude-sonnet-4")
    assert body == {
        "model": "claude-sonnet-4",
        "system": "You are a terse assistant.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in these pictures, and what is the weather in Paris?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check the weather."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18°C, light rain"},
                {"type": "text", "text": "Thanks. Answer in one line."},
            ]},
        ],
        "max_tokens": 300,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END", "STOP"],
        "tools": [WEATHER_TOOL_ANTHROPIC],
        "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        "metadata": {"user_id": "user-42"},
    }


def test_anthropic_request_becomes_openai(on_path: Path) -> None:
    with plugins(on_path, "openai-anthropic") as m:
        body = translate_request(m, "claude", "openai", ANTHROPIC_REQUEST, model="gpt-4o", stream=True)
    assert body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": [
                {"type": "text", "text": "You are a terse assistant."}, {"type": "text", "text": "Use tools."},
            ]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture, and the weather in Oslo?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "toolu_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "-3°C, snow"},
            {"role": "user", "content": "Thanks!"},
        ],
        "max_tokens": 512,
        "temperature": 0.5,
        "top_p": 0.8,
        "stop": ["END"],
        "tools": [WEATHER_TOOL_OPENAI],
        "tool_choice": "required",
        "user": "user-7",
        "stream": True,
    }


def test_requests_survive_a_round_trip(on_path: Path) -> None:
    with plugins(on_path, "openai-anthropic") as m:
        claude = translate_request(m, "openai", "claude", OPENAI_REQUEST, model="claude-sonnet-4")
        assert translate_request(m, "claude", "openai", claude, model="gpt-4o") == OPENAI_REQUEST
        openai = translate_request(m, "claude", "openai", ANTHROPIC_REQUEST, model="gpt-4o")
        assert translate_request(m, "openai", "claude", openai, model="claude-sonnet-4") == ANTHROPIC_REQUEST


def test_request_defaults_and_edge_values(on_path: Path) -> None:
    with plugins(on_path, "openai-anthropic") as m:
        body = translate_request(m, "openai", "claude", {
            "model": "gpt-4o-mini", "stop": "###", "temperature": 1.7, "stream": True,
            "messages": [{"role": "developer", "content": "Be kind."}, {"role": "user", "content": "Hi"}],
            "tools": [WEATHER_TOOL_OPENAI], "tool_choice": "required",
        })
        assert body == {
            "model": "gpt-4o-mini", "system": "Be kind.", "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 1024,  # Anthropic requires it; OpenAI did not say
            "temperature": 1.0,  # clamped to Anthropic's range
            "stop_sequences": ["###"], "tools": [WEATHER_TOOL_ANTHROPIC], "tool_choice": {"type": "any"},
            "stream": True,
        }
        completion_tokens = translate_request(m, "openai", "claude", {
            "messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 77,
        })
        assert completion_tokens["max_tokens"] == 77


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    system=st.text(min_size=1, max_size=40),
    turns=st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=5),
    max_tokens=st.integers(min_value=1, max_value=8192),
)
def test_text_conversations_round_trip(on_path: Path, system: str, turns: list[str], max_tokens: int) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": text} for i, text in enumerate(turns)]
    system_message = {"role": "system", "content": system}
    request = {"model": "gpt-4o", "messages": [system_message, *messages], "max_tokens": max_tokens}
    with plugins(on_path, "openai-anthropic") as m:
        claude = translate_request(m, "openai", "claude", request)
        assert claude["system"] == system and claude["max_tokens"] == max_tokens
        assert translate_request(m, "claude", "openai", claude) == request


def test_other_pairs_and_bad_bodies_are_not_handled(on_path: Path) -> None:
    with plugins(on_path, "openai-anthropic") as m:
        for source, target in [("openai", "openai"), ("openai", "gemini"), ("gemini", "claude")]:
            params = t.RequestTranslateRequest(from_format=source, to_format=target, body=dumps(OPENAI_REQUEST))
            with pytest.raises(PluginKitError) as caught:
                m.call("request.translate", params)
            assert caught.value.code == "not_handled"
        bad = t.RequestTranslateRequest(from_format="openai", to_format="claude", body=b"{not json")
        with pytest.raises(PluginKitError) as caught:
            m.call("request.translate", bad)
        assert caught.value.code == "invalid_request" and "not JSON" in caught.value.message
        audio = {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
        with pytest.raises(PluginKitError, match="input_audio"):
            translate_request(m, "openai", "claude", audio)
        assert m.plugin("openai-anthropic").state is PluginState.ACTIVE  # refusals do not fuse the plugin


# --------------------------------------------------------------------------------------------------------------
# openai-anthropic: whole responses
# --------------------------------------------------------------------------------------------------------------

ANTHROPIC_RESPONSE: dict[str, Any] = {
    "id": "msg_01abc",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4",
    "content": [
        {"type": "text", "text": "Let me look that up."},
        {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Lima", "units": "metric"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 120, "output_tokens": 31, "cache_read_input_tokens": 80},
}


def test_anthropic_response_becomes_openai_and_back(on_path: Path) -> None:
    with plugins(on_path, "openai-anthropic") as m:
        openai = json.loads(translate_response(
            m, "claude", "openai", dumps(ANTHROPIC_RESPONSE), original=OPENAI_REQUEST, translated={}, model="gpt-4o"
        ))
        assert isinstance(openai.pop("created"), int)
        assert openai == {
            "id": "chatcmpl-01abc",
            "object": "chat.completion",
            "model": "gpt-4o",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Let me look that up.", "tool_calls": [{
                    "id": "toolu_9", "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Lima","units":"metric"}'},
                }]},
                "logprobs": None,
                "finish_reason": "tool_calls",
            }],
            "usage": {
                "prompt_tokens": 200, "completion_tokens": 31, "total_tokens": 231,
                "prompt_tokens_details": {"cached_tokens": 80},
            },
        }
        back = translate_response(
            m, "openai", "claude", dumps(openai), original={}, translated={}, model="claude-sonnet-4"
        )
        assert json.loads(back) == ANTHROPIC_RESPONSE


def test_openai_response_becomes_anthropic(on_path: Path) -> None:
    response = {
        "id": "chatcmpl-77", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Partial an"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    with plugins(on_path, "openai-anthropic") as m:
        body = translate_response(m, "openai", "claude", dumps(response), original={}, translated={}, model="claude-x")
        assert json.loads(body) == {
            "id": "msg_77", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": "Partial an"}], "stop_reason": "max_tokens", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
        error = {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
        as_claude = translate_response(m, "openai", "claude", dumps(error), original={}, translated={}, model="x")
        expected = {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}}
        assert json.loads(as_claude) == expected
        as_openai = translate_response(m, "claude", "openai", as_claude, original={}, translated={}, model="x")
        assert json.loads(as_openai)["error"]["message"] == "Rate limit reached"


# --------------------------------------------------------------------------------------------------------------
# openai-anthropic: streams, one event per call
# --------------------------------------------------------------------------------------------------------------


def anthropic_stream() -> list[bytes]:
    start = {"id": "msg_s1", "type": "message", "role": "assistant", "model": "claude-sonnet-4", "content": [],
             "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 42, "output_tokens": 1}}
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": piece}})
          for piece in ["I'll ", "check ", "Oslo."]],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_s", "name": "get_weather", "input": {}}}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 1,
                                   "delta": {"type": "input_json_delta", "partial_json": piece}})
          for piece in ['{"ci', 'ty": "Os', 'lo"}']],
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                           "usage": {"output_tokens": 25}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [sse(data, name) for name, data in events]


@pytest.mark.parametrize("include_usage", [False, True])
def test_anthropic_stream_becomes_openai_chunks(on_path: Path, include_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    original = {**OPENAI_REQUEST, "stream": True, **options}
    translated = {"model": "claude-sonnet-4", "messages": [], "stream": True}
    with plugins(on_path, "openai-anthropic") as m:
        chunks = translate_stream(m, "claude", "openai", anthropic_stream(), original=original, translated=translated,
                                  model="gpt-4o")
    assert [sse_events(c)[0][0] for c in chunks].count(":") == 4  # ping and the block starts/stops without data
    completion = openai_stream_completion(chunks)
    assert completion["role"] == "assistant" and completion["content"] == "I'll check Oslo."
    assert len(completion["ids"]) == 1 and completion["models"] == {"gpt-4o"}
    assert completion["finish_reason"] == "tool_calls"
    [(index, call)] = completion["tool_calls"].items()
    assert index == 1 and call["id"] == "toolu_s" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Oslo"}
    expected_usage = {"prompt_tokens": 0, "completion_tokens": 25, "total_tokens": 25}
    assert completion["usage"] == (expected_usage if include_usage else None)


def openai_stream() -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return sse({"id": "chatcmpl-s2", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    def call(index: int, **fields: Any) -> dict[str, Any]:
        return {"tool_calls": [{"index": index, **fields}]}

    return [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Looking "}),
        chunk({"content": "both up."}),
        chunk(call(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""})),
        chunk(call(0, function={"arguments": '{"city":'})),
        chunk(call(0, function={"arguments": '"Rome"}'})),
        chunk(call(1, id="call_b", type="function", function={"name": "get_time", "arguments": '{"tz":"CET"}'})),
        chunk({}, "tool_calls", usage={"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}),
        b"data: [DONE]\n\n",
    ]


def test_openai_stream_becomes_anthropic_events(on_path: Path) -> None:
    translated = {"model": "gpt-4o", "messages": [], "stream": True}
    with plugins(on_path, "openai-anthropic") as m:
        chunks = translate_stream(m, "openai", "claude", openai_stream(), original=ANTHROPIC_REQUEST,
                                  translated=translated, model="claude-sonnet-4")
    message, still_open = anthropic_stream_message(chunks)
    assert message["model"] == "claude-sonnet-4" and message["id"].startswith("msg_")
    assert message["content"] == [
        {"type": "text", "text": "Looking both up."},
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Rome"}},
        {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {"tz": "CET"}},
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 30, "output_tokens": 12}
    # Stateless translation cannot tell which tool block the finishing chunk ends (see stream_mapping): the text
    # block and the first tool block were closed when the next block started; the last one stays open.
    assert still_open == {2}


def test_single_chunk_openai_answers_close_every_block(on_path: Path) -> None:
    """Some servers send role, tool call and finish reason in one chunk: then every block is closed."""
    call = {"index": 0, "id": "call_z", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    only = sse({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [
        {"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}, "finish_reason": "tool_calls"}]})
    with plugins(on_path, "openai-anthropic") as m:
        chunks = translate_stream(m, "openai", "claude", [only, b"data: [DONE]\n\n"], original={}, translated={},
                                  model="claude-x")
    message, still_open = anthropic_stream_message(chunks)
    assert still_open == set() and message["stop_reason"] == "tool_use"
    assert message["content"] == [
        {"type": "text", "text": ""}, {"type": "tool_use", "id": "call_z", "name": "get_time", "input": {}},
    ]


def test_streams_round_trip_their_text(on_path: Path) -> None:
    end_turn = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 3}}
    text_only = [*anthropic_stream()[:7], sse(end_turn, "message_delta"), anthropic_stream()[-1]]
    translated = {"model": "claude-sonnet-4", "messages": []}
    with plugins(on_path, "openai-anthropic") as m:
        openai = translate_stream(m, "claude", "openai", text_only, original={}, translated=translated, model="gpt-4o")
        data_events = [chunk for chunk in openai if sse_events(chunk)[0][0] != ":"]
        claude = translate_stream(m, "openai", "claude", data_events, original={}, translated=translated,
                                  model="claude-sonnet-4")
    message, still_open = anthropic_stream_message(claude)
    assert message["content"] == [{"type": "text", "text": "I'll check Oslo."}] and still_open == set()
    assert message["stop_reason"] == "end_turn"

