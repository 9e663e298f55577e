"""The example plugin distributions (example_plugins/*), pip-installed and called through a real PluginManager.

* ``openai-anthropic``: requests, responses and stream events translated both ways, checked against the
  expected documents and by round trips;
* ``redact``: keys and e-mail addresses masked in bodies and stream chunks;
* ``usage-sqlite``: records written from many threads and summarised (function and ``python -m``);
* ``local-executor`` and ``openai-http``: deterministic local answers (pushed, inline) and a real HTTP upstream
  (a ``ThreadingHTTPServer`` on 127.0.0.1), including the full pipeline path through the translator.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import http.server
import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import PluginKitError, PluginManager, PluginState
from pluginkit import types as t

# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def plugins(site: Path, *ids: str, config: dict[str, Any] | None = None) -> Iterator[PluginManager]:
    """A manager that loads exactly ``ids`` from the pip-installed site, every one of them active."""
    manager = PluginManager(
        config, search_path=[str(site)], cache=False, environ={"PLUGINKIT_LOAD_PLUGINS": ",".join(ids)}
    ).load()
    try:
        for plugin_id in ids:
            info = manager.plugin(plugin_id)
            assert info.state is PluginState.ACTIVE, (plugin_id, info.reason)
            assert not info.problems, (plugin_id, info.problems)
        yield manager
    finally:
        manager.shutdown()


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def translate_request(
    m: PluginManager, source: str, target: str, body: Any, model: str = "", stream: bool = False
) -> Any:
    params = t.RequestTranslateRequest(
        from_format=source, to_format=target, model=model, stream=stream, body=dumps(body)
    )
    return json.loads(m.call("request.translate", params).body)


def translate_response(
    m: PluginManager, source: str, target: str, body: bytes, *, original: Any, translated: Any, model: str,
    stream: bool = False,
) -> bytes:
    params = t.ResponseTranslateRequest(
        from_format=source, to_format=target, model=model, stream=stream, original_request=dumps(original),
        translated_request=dumps(translated), body=body,
    )
    answer: bytes = m.call("response.translate", params).body
    return answer


def translate_stream(
    m: PluginManager, source: str, target: str, chunks: list[bytes], *, original: Any, translated: Any, model: str
) -> list[bytes]:
    """Each chunk translated on its own, as the pipeline does; every answer is non-empty SSE."""
    out = [
        translate_response(m, source, target, c, original=original, translated=translated, model=model, stream=True)
        for c in chunks
    ]
    assert all(answer and answer.endswith(b"\n\n") for answer in out)
    return out


def sse_events(data: bytes) -> list[tuple[str, str | None]]:
    """An independent SSE reader for assertions: ``(event type, data)``; comment-only events are ``(":", None)``."""
    text = data.decode()
    assert text.endswith("\n\n") and "\r" not in text, data
    events: list[tuple[str, str | None]] = []
    for raw in text[:-2].split("\n\n"):
        name, lines = "", []
        for line in raw.split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                lines.append(value.removeprefix(" "))
        events.append((name, "\n".join(lines)) if lines else (":", None))
    return events


def sse(value: Any, event: str = "") -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(value)}\n\n".encode()


def anthropic_stream_message(chunks: list[bytes]) -> tuple[dict[str, Any], set[int]]:
    """Accumulate Anthropic stream events the way a client does, checking the event order on the way. Returns
    the message and the content blocks left open."""
    events = [(name, json.loads(data)) for chunk in chunks for name, data in sse_events(chunk) if data is not None]
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"
    message = dict(events[0][1]["message"])
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    open_blocks: set[int] = set()
    for name, data in events[1:-1]:
        assert name == data["type"]
        if name == "content_block_start":
            index = data["index"]
            assert index not in blocks
            blocks[index], partial[index] = dict(data["content_block"]), ""
            open_blocks.add(index)
        elif name == "content_block_delta":
            index, delta = data["index"], data["delta"]
            assert index in open_blocks
            if delta["type"] == "text_delta":
                blocks[index]["text"] += delta["text"]
            else:
                partial[index] += delta["partial_json"]
        elif name == "content_block_stop":
            open_blocks.discard(data["index"])
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
        else:
            assert name == "ping", name
    for index, text in partial.items():
        if text:
            blocks[index]["input"] = json.loads(text)
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message, open_blocks


def openai_stream_completion(chunks: list[bytes]) -> dict[str, Any]:
    """Accumulate OpenAI chunks: text, tool calls by index, finish reason, usage, and the ids/models seen."""
    data = [d for chunk in chunks for _, d in sse_events(chunk) if d is not None]
    assert data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    result: dict[str, Any] = {"role": None, "content": "", "tool_calls": {}, "finish_reason": None, "usage": None}
    ids, models = set(), set()
    for item in map(json.loads, data[:-1]):
        ids.add(item["id"])
        models.add(item["model"])
        assert item["object"] == "chat.completion.chunk"
        if item.get("usage"):
            result["usage"] = item["usage"]
        for choice in item["choices"]:
            delta = choice["delta"]
            result["role"] = delta.get("role", result["role"])
            result["content"] += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                entry = result["tool_calls"].setdefault(call["index"], {"id": None, "name": None, "arguments": ""})
                entry["id"] = call.get("id", entry["id"])
                entry["name"] = call["function"].get("name", entry["name"])
                entry["arguments"] += call["function"].get("arguments", "")
            result["finish_reason"] = choice["finish_reason"] or result["finish_reason"]
    result["ids"], result["models"] = ids, models
    return result


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


# --------------------------------------------------------------------------------------------------------------
# redact
# --------------------------------------------------------------------------------------------------------------

SECRET = "sk-proj-Abcdefghijklmnop1234"


def test_redact_masks_request_and_response_bodies(on_path: Path) -> None:
    request = {"model": "gpt-4o", "messages": [
        {"role": "user", "content": f"My key is {SECRET}.\nMail alice.smith+ai@example.co.uk or bob@corp.example.com"},
    ]}
    headers = {"Authorization": ["Bearer client-token-123456789"], "X-Trace": ["1"]}
    with plugins(on_path, "redact") as m:
        result = m.call("request.intercept_before", t.RequestInterceptRequest(headers=headers, body=dumps(request)))
        masked = json.loads(result.body)
        assert masked["messages"][0]["content"] == "My key is [redacted].\nMail [redacted] or [redacted]"
        assert masked["model"] == "gpt-4o"
        assert result.clear_headers == [] and result.headers in ({}, headers)  # no header is changed
        clean = dumps({"messages": [{"role": "user", "content": "nothing to hide, 2 @ 3"}]})
        assert m.call("request.intercept_before", t.RequestInterceptRequest(body=clean)).body == clean
        response = dumps({"content": [{"type": "text", "text": f"Sure: {SECRET} / root@localhost.example"}]})
        after = m.call("response.intercept_after", t.ResponseInterceptRequest(body=response))
        assert json.loads(after.body) == {"content": [{"type": "text", "text": "Sure: [redacted] / [redacted]"}]}


def test_redact_masks_stream_chunks(on_path: Path) -> None:
    chunks = [
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " ops@example.org"}},
            "content_block_delta"),
        sse({"choices": [{"delta": {"content": f"key={SECRET}"}}]}),
        sse({"choices": [{"delta": {"content": "harmless"}}]}),
        b"data: [DONE]\n\n",
    ]
    with plugins(on_path, "redact") as m:
        header = m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(chunk_index=-1))
        assert header.body == b"" and not header.drop_chunk
        out = [
            m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(body=chunk, chunk_index=i)).body
            for i, chunk in enumerate(chunks)
        ]
    assert out[0] == sse({"type": "content_block_delta", "index": 0,
                          "delta": {"type": "text_delta", "text": " [redacted]"}}, "content_block_delta")
    assert json.loads(sse_events(out[1])[0][1] or "")["choices"][0]["delta"]["content"] == "key=[redacted]"
    assert out[2:] == chunks[2:]


# --------------------------------------------------------------------------------------------------------------
# usage-sqlite
# --------------------------------------------------------------------------------------------------------------


def usage_record(model: str, number: int, *, failed: bool = False, stream: bool = False) -> t.UsageRecord:
    return t.UsageRecord(
        provider="local", model=model, api_key="sk-never-stored-123456", latency_ns=(10 + number) * 1_000_000,
        ttft_ns=5_000_000 if stream else 0, failed=failed,
        failure=t.UsageFailure(status_code=429 if failed else 0),
        detail=t.UsageDetail(input_tokens=100, output_tokens=number, total_tokens=100 + number),
    )


def test_usage_rows_are_written_from_many_threads_and_summarised(on_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    with plugins(on_path, "usage-sqlite", config={"plugins": {"usage-sqlite": {"path": str(path)}}}) as m:
        assert not path.exists()  # loading creates nothing

        def worker(offset: int) -> None:
            for number in range(25):
                m.call("usage.handle", usage_record("claude-x", number, failed=number == 0, stream=offset % 2 == 1))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        m.call("usage.handle", usage_record("gpt-4o", 90))
    usage = importlib.import_module("pluginkit_usage_sqlite")
    rows = usage.summary(path)
    assert [r.model for r in rows] == ["claude-x", "gpt-4o"]
    claude, gpt = rows
    assert (claude.requests, claude.failures, claude.input_tokens, claude.output_tokens) == (200, 8, 20_000, 8 * 300)
    assert claude.mean_latency_ms == pytest.approx(22.0) and claude.mean_ttft_ms == pytest.approx(5.0)
    assert (gpt.requests, gpt.failures, gpt.output_tokens) == (1, 0, 90)
    assert (gpt.mean_latency_ms, gpt.mean_ttft_ms) == (100.0, None)
    assert b"sk-never-stored" not in path.read_bytes()
    table = usage.format_summary(rows).splitlines()
    assert table[0].split() == ["model", "requests", "failures", "input", "tokens", "output", "tokens", "mean",
                                "latency", "ms", "mean", "TTFT", "ms"]
    assert table[2].split() == ["claude-x", "200", "8", "20000", "2400", "22.0", "5.0"]
    assert table[3].split() == ["gpt-4o", "1", "0", "100", "90", "100.0", "-"]

    env = {**os.environ, "PYTHONPATH": str(on_path)}
    command = [sys.executable, "-m", "pluginkit_usage_sqlite", "--path", str(path)]
    printed = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    assert printed.splitlines() == table
    missing = subprocess.run([*command[:-1], str(tmp_path / "none.sqlite3")], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and "no usage database" in missing.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_usage_default_path_honours_xdg_data_home(
    on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with plugins(on_path, "usage-sqlite") as m:
        m.call("usage.handle", usage_record("m", 1))
    usage = importlib.import_module("pluginkit_usage_sqlite")
    assert usage.default_path() == tmp_path / "data" / "pluginkit" / "usage.sqlite3"
    assert [r.requests for r in usage.summary(usage.default_path())] == [1]
    home = Path.home() / ".local" / "share" / "pluginkit" / "usage.sqlite3"
    assert usage.default_path({}) == usage.default_path({"XDG_DATA_HOME": "relative/ignored"}) == home


# --------------------------------------------------------------------------------------------------------------
# local-executor
# --------------------------------------------------------------------------------------------------------------

LOCAL_REQUEST = {
    "model": "local-echo", "max_tokens": 1024, "system": "Be nice.",
    "messages": [
        {"role": "user", "content": "earlier message"},
        {"role": "assistant", "content": "earlier answer"},
        {"role": "user", "content": [{"type": "text", "text": "Please   repeat\nafter me"}]},
    ],
}


def local_call(payload: Any, **fields: Any) -> t.ExecutorRequest:
    return t.ExecutorRequest(auth_provider="local", model="local-echo", source_format="claude", format="claude",
                             payload=dumps(payload), **fields)


def test_local_executor_answers_deterministically(on_path: Path) -> None:
    with plugins(on_path, "local-executor") as m:
        first = m.call("executor.execute", local_call(LOCAL_REQUEST))
        again = m.call("executor.execute", local_call(LOCAL_REQUEST))
        short = json.loads(m.call("executor.execute", local_call({**LOCAL_REQUEST, "max_tokens": 5})).payload)
        cut = json.loads(m.call("executor.execute", local_call({**LOCAL_REQUEST, "stop_sequences": ["me"]})).payload)
        with pytest.raises(PluginKitError) as caught:
            m.call("executor.execute", local_call({"model": "x"}))
    assert first.payload == again.payload
    answer = json.loads(first.payload)
    assert answer["type"] == "message" and answer["id"].startswith("msg_local_") and answer["model"] == "local-echo"
    [block] = answer["content"]
    assert block["text"].startswith("You said: Please repeat after me This answer comes from the local example")
    assert answer["stop_reason"] == "end_turn"
    assert answer["usage"] == {"input_tokens": 10, "output_tokens": len(block["text"].split())}
    assert short["content"][0]["text"] == "You said: Please repeat after"
    assert short["stop_reason"] == "max_tokens" and short["usage"]["output_tokens"] == 5
    assert cut["content"][0]["text"] == "You said: Please repeat after"
    assert cut["stop_reason"] == "stop_sequence" and cut["stop_sequence"] == "me"
    assert caught.value.code == "invalid_request"


def test_local_executor_streams_by_emit_and_inline(on_path: Path) -> None:
    with plugins(on_path, "local-executor") as m:
        whole = json.loads(m.call("executor.execute", local_call(LOCAL_REQUEST)).payload)
        stream = m.host.open_stream()
        result = m.call("executor.execute_stream", local_call(LOCAL_REQUEST, stream=True, stream_id=stream.id))
        assert result.chunks == [] and stream.closed
        pushed = [chunk.payload for chunk in stream]
    config = {"plugins": {"local-executor": {"inline": True}}}
    with plugins(on_path, "local-executor", config=config) as m:
        inline = m.call("executor.execute_stream", local_call(LOCAL_REQUEST, stream=True, stream_id="unused"))
    assert len(pushed) >= 50
    assert all(len(sse_events(chunk)) == 1 for chunk in pushed)  # exactly one SSE event per chunk
    message, still_open = anthropic_stream_message(pushed)
    assert still_open == set()
    assert message["content"] == whole["content"] and message["usage"] == whole["usage"]
    assert message["stop_reason"] == "end_turn" and message["id"] == whole["id"]
    deltas = [name for chunk in pushed for name, _ in sse_events(chunk) if name == "content_block_delta"]
    assert len(deltas) == len(whole["content"][0]["text"].split())  # one delta per word
    assert [chunk.payload for chunk in inline.chunks] == pushed


def test_openai_client_through_local_executor_with_redaction(on_path: Path) -> None:
    """The path the pipeline takes: translate the request, run the Anthropic executor, translate every event
    back, then let the stream interceptor mask what the model echoed."""
    original = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "mail carol@example.net"}]}
    with plugins(on_path, "openai-anthropic", "local-executor", "redact") as m:
        translated = translate_request(m, "openai", "claude", original, model="local-echo", stream=True)
        stream = m.host.open_stream()
        m.call("executor.execute_stream", local_call(translated, stream=True, stream_id=stream.id))
        events = [chunk.payload for chunk in stream]
        chunks = translate_stream(m, "claude", "openai", events, original=original, translated=translated,
                                  model="gpt-4o")
        delivered = [
            m.call("response.intercept_stream_chunk", t.StreamChunkInterceptRequest(body=chunk, chunk_index=i)).body
            for i, chunk in enumerate(chunks)
        ]
    completion = openai_stream_completion(delivered)
    assert completion["content"].startswith("You said: mail [redacted] This answer comes from")
    assert completion["finish_reason"] == "stop" and completion["models"] == {"gpt-4o"}
    assert "carol@" not in b"".join(delivered).decode()


# --------------------------------------------------------------------------------------------------------------
# openai-http, against a real HTTP server
# --------------------------------------------------------------------------------------------------------------


def completion_chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


UPSTREAM_EVENTS = [
    b": keep-alive\n\n",
    sse(completion_chunk({"role": "assistant", "content": ""})),
    sse(completion_chunk({"content": "Hello"})),
    sse(completion_chunk({"content": ", world"})),
    sse(completion_chunk({}, "stop")),
    b"data: [DONE]\n\n",
]
UPSTREAM_COMPLETION = {
    "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello, world"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


UPSTREAM_ERRORS = {
    "busy": (429, "Rate limit reached for requests"),
    "broken": (500, "The server had an error"),
    "bad": (400, "Unknown parameter: 'foo'"),
}


class Upstream(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible server. The request's model picks the behaviour: ``busy`` → 429, ``broken`` → 500,
    ``bad`` → 400; otherwise a completion, or a stream written in awkward pieces (CRLF, events split)."""

    seen: list[tuple[str, dict[str, str], dict[str, Any]]]


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, dict(self.headers), body))
        if body["model"] in UPSTREAM_ERRORS:
            status, message = UPSTREAM_ERRORS[body["model"]]
            error = dumps({"error": {"message": message, "type": "upstream"}})
            later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
            self._send(status, error, "application/json", Retry_After="7" if status == 429 else later)
        elif body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("X-Request-Id", "req-stream")
            self.end_headers()
            crlf = UPSTREAM_EVENTS[3].replace(b"\n", b"\r\n")
            raw = b"".join([*UPSTREAM_EVENTS[:3], crlf, *UPSTREAM_EVENTS[4:]])
            for start in range(0, len(raw), 9):
                self.wfile.write(raw[start : start + 9])
                self.wfile.flush()
        else:
            self._send(200, dumps(UPSTREAM_COMPLETION), "application/json", X_Request_Id="req-1")


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream(("127.0.0.1", 0), UpstreamHandler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def http_config(server: Upstream, **extra: Any) -> dict[str, Any]:
    host, port = server.server_address[:2]
    settings = {"base_url": f"http://{host!s}:{port}/v1/", "api_key": "sk-test-upstream-key", **extra}
    return {"plugins": {"openai-http": settings}}


def http_call(model: str = "up-model", **fields: Any) -> t.ExecutorRequest:
    payload = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
    fields = {"auth_provider": "openai-compatible", "source_format": "openai", "format": "openai", **fields}
    return t.ExecutorRequest(model=model, payload=dumps(payload), **fields)


def test_openai_http_relays_a_completion(on_path: Path, upstream: Upstream) -> None:
    with plugins(on_path, "openai-http", config=http_config(upstream)) as m:
        response = m.call("executor.execute", http_call())
    assert json.loads(response.payload) == UPSTREAM_COMPLETION
    assert response.headers["X-Request-Id"] == ["req-1"]
    assert not {"date", "server", "content-length"} & {name.lower() for name in response.headers}
    [(path, headers, body)] = upstream.seen
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test-upstream-key"
    assert body == {"model": "up-model", "messages": [{"role": "user", "content": "Hi"}], "stream": False}


def test_openai_http_emits_one_chunk_per_event(on_path: Path, upstream: Upstream) -> None:
    with plugins(on_path, "openai-http", config=http_config(upstream, provider="My-Upstream")) as m:
        stream = m.host.open_stream()
        received: list[bytes] = []
        consumer = threading.Thread(target=lambda: received.extend(chunk.payload for chunk in stream))
        consumer.start()  # read while the executor is still pushing, as a pipeline would
        call = http_call(stream=True, stream_id=stream.id, auth_provider="my-upstream")
        result = m.call("executor.execute_stream", call)
        consumer.join(timeout=10)
    assert result.chunks == [] and result.headers["X-Request-Id"] == ["req-stream"]
    assert received == UPSTREAM_EVENTS  # CRLF normalised, pieces reassembled, one event per chunk
    assert upstream.seen[0][2]["stream"] is True and upstream.seen[0][1]["Accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("model", "status", "retryable", "retry_after"),
    [("busy", 429, True, (7, 7)), ("broken", 500, True, (25, 30)), ("bad", 400, False, (0, 0))],
)
def test_openai_http_upstream_errors(
    on_path: Path, upstream: Upstream, model: str, status: int, retryable: bool, retry_after: tuple[int, int]
) -> None:
    with plugins(on_path, "openai-http", config=http_config(upstream)) as m:
        with pytest.raises(PluginKitError) as whole:
            m.call("executor.execute", http_call(model))
        stream = m.host.open_stream()
        with pytest.raises(PluginKitError) as streamed:
            m.call("executor.execute_stream", http_call(model, stream=True, stream_id=stream.id))
        assert m.plugin("openai-http").state is PluginState.ACTIVE
    for caught in (whole.value, streamed.value):
        assert (caught.code, caught.http_status, caught.retryable) == ("upstream_error", status, retryable)
        assert retry_after[0] <= caught.retry_after <= retry_after[1]  # Retry-After: seconds, or an HTTP date
        assert caught.message == f"upstream answered HTTP {status}: {UPSTREAM_ERRORS[model][1]}"


def test_openai_http_needs_a_base_url_and_reports_unreachable_servers(on_path: Path) -> None:
    environ = {"PLUGINKIT_LOAD_PLUGINS": "openai-http"}
    with PluginManager(search_path=[str(on_path)], cache=False, environ=environ) as manager:
        info = manager.plugin("openai-http")
        assert info.state is PluginState.FAILED
        assert info.reason.startswith("invalid_config") and "base_url" in info.reason
    config = {"plugins": {"openai-http": {"base_url": "http://127.0.0.1:9/v1"}}}  # the discard port: refused
    with plugins(on_path, "openai-http", config=config) as m, pytest.raises(PluginKitError) as caught:
        m.call("executor.execute", http_call())
    assert (caught.value.code, caught.value.retryable, caught.value.http_status) == ("upstream_error", True, 502)


def test_anthropic_client_through_openai_http(on_path: Path, upstream: Upstream) -> None:
    """claude → openai → upstream → openai events → claude events, every event translated on its own."""
    original = {"model": "claude-sonnet-4", "max_tokens": 64, "stream": True,
                "messages": [{"role": "user", "content": "Say hello"}]}
    with plugins(on_path, "openai-anthropic", "openai-http", config=http_config(upstream)) as m:
        translated = translate_request(m, "claude", "openai", original, model="up-model", stream=True)
        stream = m.host.open_stream()
        m.call("executor.execute_stream", t.ExecutorRequest(
            auth_provider="openai-compatible", model="up-model", stream=True, payload=dumps(translated),
            stream_id=stream.id,
        ))
        events = [chunk.payload for chunk in stream]
        claude = translate_stream(m, "openai", "claude", events, original=original, translated=translated,
                                  model="claude-sonnet-4")
    message, still_open = anthropic_stream_message(claude)
    assert message["content"] == [{"type": "text", "text": "Hello, world"}] and still_open == set()
    assert message["stop_reason"] == "end_turn" and message["model"] == "claude-sonnet-4"
    assert upstream.seen[0][2]["max_tokens"] == 64
