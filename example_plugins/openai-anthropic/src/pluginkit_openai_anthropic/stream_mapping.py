"""Streamed responses, one SSE event at a time: Anthropic Messages events ⇄ OpenAI chat-completion chunks.

The pipeline calls ``response.translate`` once per event and keeps no state for the translator, so every event is
translated from itself and the request alone: the completion id is a hash of the request, the model is the
pipeline's ``model``, and an event with no counterpart becomes an SSE comment (``: content_block_stop``) — never
an empty body, which would mean "not handled".

Two consequences of translating without state, both visible to clients:

* Anthropic → OpenAI: a tool call's ``index`` is its Anthropic content-block index, the only number both the
  call's first event and its argument deltas carry. Indices are unique and increasing but start at 1 when text
  precedes the tool call. ``prompt_tokens`` in the usage chunk (sent only when the client asked for it with
  ``stream_options.include_usage``) is what ``message_delta`` reports, which may be 0.
* OpenAI → Anthropic: text is content block 0 (opened with the role chunk) and tool call ``i`` is block
  ``i + 1``; a block is closed when the next one starts. When the finishing chunk carries no tool call, the last
  tool block cannot be known and is left without its ``content_block_stop``; a usage-only chunk (OpenAI's
  ``include_usage``) becomes a comment, because a second ``message_delta`` would erase the stop reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pluginkit import PluginError, sse
from pluginkit.formats import anthropic as anthropic_format
from pluginkit_openai_anthropic.common import (
    JSONObject,
    anthropic_stop_reason,
    anthropic_usage,
    as_object,
    member,
    openai_finish_reason,
    openai_usage,
    stable_id,
)

__all__ = ["StreamContext", "anthropic_to_openai", "openai_to_anthropic"]


@dataclass(frozen=True, slots=True)
class StreamContext:
    """What every event of one stream shares, rebuilt from the ``response.translate`` params for each event."""

    model: str
    #: The request as the executor got it (hashed for the ids).
    translated_request: bytes
    #: The client's request (read for ``stream_options.include_usage``; hashed when the other is empty).
    original_request: bytes
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def completion_id(self) -> str:
        return stable_id("chatcmpl-", self.translated_request, self.original_request)

    @property
    def message_id(self) -> str:
        return stable_id("msg_", self.translated_request, self.original_request)

    def client_wants_usage(self) -> bool:
        """Whether the OpenAI client asked for a final usage chunk (read only when a stream ends)."""
        try:
            request = json.loads(self.original_request)
        except ValueError:
            return False
        options = request.get("stream_options") if isinstance(request, dict) else None
        return isinstance(options, dict) and options.get("include_usage") is True


def _payload(event: sse.Event) -> JSONObject:
    try:
        return as_object(event.json(), "stream event data")
    except ValueError:
        raise PluginError("invalid_request", f"stream event data is not JSON: {event.data[:80]!r}") from None


def _translate(chunk: bytes, one: Callable[[sse.Event, StreamContext], bytes], ctx: StreamContext) -> bytes:
    """Translate every event of ``chunk`` (the pipeline sends one; tolerate several) and join the results."""
    parts = []
    for event in sse.parse(chunk):
        if not event.has_data:
            parts.append(sse.comment(event.event or "keep-alive"))
        else:
            parts.append(one(event, ctx))
    return b"".join(parts) or sse.comment("empty event")


# ---------------------------------------------------------------------------------------------------------------
# Anthropic → OpenAI
# ---------------------------------------------------------------------------------------------------------------


def _openai_chunk(ctx: StreamContext, delta: JSONObject, finish_reason: str | None = None) -> bytes:
    return sse.encode_json({
        "id": ctx.completion_id,
        "object": "chat.completion.chunk",
        "created": ctx.created,
        "model": ctx.model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    })


def _tool_delta(index: int, function: JSONObject, start: JSONObject | None = None) -> JSONObject:
    call: JSONObject = {"index": index, **(start or {}), "function": function}
    return {"tool_calls": [call]}


def _anthropic_event(event: sse.Event, ctx: StreamContext) -> bytes:
    payload = _payload(event)
    kind = str(payload.get("type") or event.event)
    index = payload["index"] if isinstance(payload.get("index"), int) else 0
    if kind == "message_start":
        return _openai_chunk(ctx, {"role": "assistant", "content": ""})
    if kind == "content_block_start":
        block = member(payload, "content_block")
        if block.get("type") == "text" and block.get("text"):
            return _openai_chunk(ctx, {"content": str(block["text"])})
        if block.get("type") == "tool_use":
            start = {"id": str(block.get("id", "")), "type": "function"}
            return _openai_chunk(ctx, _tool_delta(index, {"name": str(block.get("name", "")), "arguments": ""}, start))
        if block.get("type") == "thinking" and block.get("thinking"):
            return _openai_chunk(ctx, {"reasoning_content": str(block["thinking"])})
        return sse.comment(kind)
    if kind == "content_block_delta":
        delta = member(payload, "delta")
        if delta.get("type") == "text_delta":
            return _openai_chunk(ctx, {"content": str(delta.get("text", ""))})
        if delta.get("type") == "input_json_delta":
            return _openai_chunk(ctx, _tool_delta(index, {"arguments": str(delta.get("partial_json", ""))}))
        if delta.get("type") == "thinking_delta":
            return _openai_chunk(ctx, {"reasoning_content": str(delta.get("thinking", ""))})
        return sse.comment(str(delta.get("type") or kind))
    if kind == "message_delta":
        delta = member(payload, "delta")
        finish = _openai_chunk(ctx, {}, openai_finish_reason(delta.get("stop_reason")) or "stop")
        if not ctx.client_wants_usage():
            return finish
        usage = {"id": ctx.completion_id, "object": "chat.completion.chunk", "created": ctx.created,
                 "model": ctx.model, "choices": [], "usage": openai_usage(payload.get("usage") or {})}
        return finish + sse.encode_json(usage)
    if kind == "message_stop":
        return sse.DONE
    if kind == "error":
        error = member(payload, "error")
        body = {"message": str(error.get("message", "")), "type": str(error.get("type", "api_error")), "code": None}
        return sse.encode_json({"error": body})
    return sse.comment(kind)


def anthropic_to_openai(chunk: bytes, ctx: StreamContext) -> bytes:
    """One Anthropic stream event as OpenAI chunk(s): ``data: {...}`` events, or ``data: [DONE]`` at the end."""
    return _translate(chunk, _anthropic_event, ctx)


# ---------------------------------------------------------------------------------------------------------------
# OpenAI → Anthropic
# ---------------------------------------------------------------------------------------------------------------


def _openai_event(event: sse.Event, ctx: StreamContext) -> bytes:
    if event.data.strip() == "[DONE]":
        return anthropic_format.message_stop()
    payload = _payload(event)
    if isinstance(payload.get("error"), dict):
        error = member(payload, "error")
        return anthropic_format.error_event(str(error.get("type") or "api_error"), str(error.get("message", "")))
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        return sse.comment("usage" if payload.get("usage") else "empty chunk")
    choice = as_object(choices[0], "choices[0]")
    delta = as_object(choice.get("delta") or {}, "choices[0].delta")
    out: list[bytes] = []
    if delta.get("role"):
        out += [
            anthropic_format.message_start(ctx.message_id, ctx.model),
            anthropic_format.content_block_start(0, anthropic_format.text_block("")),
            anthropic_format.ping(),
        ]
    text = delta.get("content") or delta.get("refusal")
    if isinstance(text, str) and text:
        out.append(anthropic_format.text_delta(0, text))
    last_block: int | None = None
    for call in delta.get("tool_calls") or []:
        call = as_object(call, "tool call delta")
        block = (call["index"] if isinstance(call.get("index"), int) else 0) + 1
        function = member(call, "function")
        if call.get("id") or function.get("name"):
            tool_id = str(call.get("id") or stable_id("toolu_", f"{ctx.message_id}:{block}".encode()))
            out += [
                anthropic_format.content_block_stop(block - 1),
                anthropic_format.content_block_start(
                    block, anthropic_format.tool_use_block(tool_id, str(function.get("name", "")), {})
                ),
            ]
        if function.get("arguments"):
            out.append(anthropic_format.input_json_delta(block, str(function["arguments"])))
        last_block = block
    finish = choice.get("finish_reason")
    if finish:
        if last_block is not None or finish != "tool_calls":
            out.append(anthropic_format.content_block_stop(last_block or 0))
        usage = payload.get("usage")
        counts = anthropic_usage(usage) if isinstance(usage, dict) else {"output_tokens": 0}
        out.append(anthropic_format.message_delta(anthropic_stop_reason(finish), counts))
    return b"".join(out) or sse.comment("empty delta")


def openai_to_anthropic(chunk: bytes, ctx: StreamContext) -> bytes:
    """One OpenAI chunk as the Anthropic events it implies (``message_start`` … ``message_stop``)."""
    return _translate(chunk, _openai_event, ctx)
