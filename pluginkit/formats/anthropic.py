"""Anthropic Messages shapes: a whole response and the events of its stream, each built in one place.

For plugins that answer in Anthropic's format: an executor writing its own answer (the local example executor),
a translator writing an OpenAI answer back for an Anthropic client (the ``openai-anthropic`` example) — both
through these builders, so they cannot drift apart.

>>> from pluginkit.formats import anthropic
>>> anthropic.message_stop()
b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pluginkit import sse
from pluginkit.formats._json import JSONObject

__all__ = [
    "content_block_start",
    "content_block_stop",
    "error_body",
    "error_event",
    "input_json_delta",
    "message",
    "message_delta",
    "message_start",
    "message_stop",
    "ping",
    "text_block",
    "text_delta",
    "tool_use_block",
]


def text_block(text: str) -> JSONObject:
    return {"type": "text", "text": text}


def tool_use_block(tool_id: str, name: str, tool_input: Mapping[str, Any]) -> JSONObject:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": dict(tool_input)}


def message(
    *,
    message_id: str,
    model: str,
    content: list[JSONObject],
    stop_reason: str | None,
    usage: Mapping[str, Any],
    stop_sequence: str | None = None,
) -> JSONObject:
    """A complete (non-streamed) Messages response."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": dict(usage),
    }


def error_body(error_type: str, text: str) -> JSONObject:
    return {"type": "error", "error": {"type": error_type or "api_error", "message": text}}


def _event(payload: JSONObject) -> bytes:
    return sse.encode_json(payload, event=payload["type"])


def message_start(message_id: str, model: str, input_tokens: int = 0) -> bytes:
    """The first event: the message with no content yet, and the input tokens when they are known."""
    shell = message(
        message_id=message_id, model=model, content=[], stop_reason=None,
        usage={"input_tokens": input_tokens, "output_tokens": 0},
    )
    return _event({"type": "message_start", "message": shell})


def content_block_start(index: int, block: Mapping[str, Any]) -> bytes:
    return _event({"type": "content_block_start", "index": index, "content_block": dict(block)})


def text_delta(index: int, text: str) -> bytes:
    return _event({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})


def input_json_delta(index: int, partial_json: str) -> bytes:
    delta = {"type": "input_json_delta", "partial_json": partial_json}
    return _event({"type": "content_block_delta", "index": index, "delta": delta})


def content_block_stop(index: int) -> bytes:
    return _event({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str | None, usage: Mapping[str, Any], stop_sequence: str | None = None) -> bytes:
    """The closing delta: why the message stopped and the token counts."""
    delta = {"stop_reason": stop_reason, "stop_sequence": stop_sequence}
    return _event({"type": "message_delta", "delta": delta, "usage": dict(usage)})


def message_stop() -> bytes:
    return _event({"type": "message_stop"})


def ping() -> bytes:
    return _event({"type": "ping"})


def error_event(error_type: str, text: str) -> bytes:
    return _event(error_body(error_type, text))
