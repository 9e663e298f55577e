"""Whole (non-streamed) responses: Anthropic Messages ⇄ OpenAI Chat Completions.

Text, tool calls, the stop/finish reason and token usage are mapped both ways; error bodies become the other
format's error body. Reasoning text travels from Anthropic ``thinking`` blocks to OpenAI's de-facto
``reasoning_content`` field, but not back: an Anthropic thinking block needs a signature only the provider can
make. Ids keep their provider part (``msg_X`` ⇄ ``chatcmpl-X``) so a response can be traced across formats.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pluginkit import PluginError
from pluginkit.formats import anthropic as anthropic_format
from pluginkit_openai_anthropic.common import (
    JSONObject,
    anthropic_stop_reason,
    anthropic_usage,
    as_object,
    member,
    openai_finish_reason,
    openai_usage,
    parse_arguments,
)

__all__ = ["anthropic_to_openai", "openai_to_anthropic"]


def _openai_error(body: JSONObject) -> JSONObject:
    error = member(body, "error")
    return {"error": {"message": str(error.get("message", "")), "type": str(error.get("type", "api_error")),
                      "param": None, "code": None}}


def anthropic_to_openai(body: JSONObject, *, model: str, fallback_id: str) -> JSONObject:
    """An Anthropic Messages response as an OpenAI chat completion (``fallback_id`` when it has no id)."""
    if body.get("type") == "error":
        return _openai_error(body)
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[JSONObject] = []
    for block in body.get("content") or []:
        block = as_object(block, "response content block")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            reasoning.append(str(block.get("thinking", "")))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False, separators=(",", ":"))
            calls.append({
                "id": str(block.get("id", "")),
                "type": "function",
                "function": {"name": str(block.get("name", "")), "arguments": arguments},
            })
    message: JSONObject = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = calls
    message_id = str(body.get("id") or "")
    return {
        "id": "chatcmpl-" + message_id.removeprefix("msg_") if message_id else fallback_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or str(body.get("model", "")),
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": openai_finish_reason(body.get("stop_reason")) or "stop",
        }],
        "usage": openai_usage(body.get("usage") or {}),
    }


def _message_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content] if content else []
    texts = []
    for part in content or []:
        if isinstance(part, dict) and part.get("type") in ("text", "refusal"):
            texts.append(str(part.get("text", part.get("refusal", ""))))
    return [text for text in texts if text]


def openai_to_anthropic(body: JSONObject, *, model: str, fallback_id: str) -> JSONObject:
    """An OpenAI chat completion as an Anthropic Messages response (``fallback_id`` when it has no id)."""
    if isinstance(body.get("error"), dict):
        error = member(body, "error")
        return anthropic_format.error_body(str(error.get("type") or "api_error"), str(error.get("message", "")))
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise PluginError("invalid_request", "the OpenAI response has no choices")
    choice = as_object(choices[0], "choices[0]")
    message = as_object(choice.get("message") or {}, "choices[0].message")
    texts = _message_texts(message.get("content")) or _message_texts(message.get("refusal"))
    content = [anthropic_format.text_block(text) for text in texts]
    for number, call in enumerate(message.get("tool_calls") or []):
        call = as_object(call, f"tool_calls[{number}]")
        function = as_object(call.get("function") or {}, f"tool_calls[{number}].function")
        name = str(function.get("name", ""))
        tool_input = parse_arguments(function.get("arguments"), name)
        content.append(anthropic_format.tool_use_block(str(call.get("id") or f"toolu_{number}"), name, tool_input))
    openai_id = str(body.get("id") or "")
    return anthropic_format.message(
        message_id="msg_" + openai_id.removeprefix("chatcmpl-") if openai_id else fallback_id,
        model=model or str(body.get("model", "")),
        content=content,
        stop_reason=anthropic_stop_reason(choice.get("finish_reason")) or "end_turn",
        usage=anthropic_usage(body.get("usage") or {}),
    )
