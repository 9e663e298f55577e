"""Requests: OpenAI Chat Completions ⇄ Anthropic Messages.

Both directions map the same things — system prompt, messages, images, tools and tool choice, assistant tool
calls and tool results, max tokens, temperature, top_p, stop sequences, stream and the end-user id — and drop
fields that have no equivalent (``top_k``, ``logprobs``, ``response_format``, ``thinking`` …) rather than
fail. What cannot be expressed on the other side at all (audio input, server tools, images inside tool
results for OpenAI) is refused with ``invalid_request``, because silently losing content would change the answer.

Both directions write the same canonical shape — a message whose content is a single text part is a plain
string — so a request mapped there and back is equal to its canonical form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pluginkit import PluginError
from pluginkit_openai_anthropic.common import JSONObject, as_object, parse_arguments

__all__ = ["DEFAULT_MAX_TOKENS", "anthropic_to_openai", "openai_to_anthropic"]

#: Anthropic requires ``max_tokens``; this is what an OpenAI request that does not say gets.
DEFAULT_MAX_TOKENS = 1024

_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)$", re.DOTALL)


def _refuse(text: str) -> PluginError:
    return PluginError("invalid_request", text)


def _collapse(content: list[JSONObject]) -> str | list[JSONObject]:
    """The canonical content: a lone text part (nothing else on it) is a plain string."""
    if len(content) == 1 and content[0].get("type") == "text" and set(content[0]) == {"type", "text"}:
        return str(content[0]["text"])
    return content


def _append(messages: list[JSONObject], role: str, blocks: list[JSONObject]) -> None:
    """Anthropic combines consecutive turns of one role; doing it here keeps every tool result of a turn in the
    one user message that must follow the assistant's tool calls."""
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": list(blocks)})


def _text_parts(content: Any, where: str) -> list[str]:
    """The texts of an OpenAI content value that may only hold text (system, assistant and tool messages)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise _refuse(f"{where}: content must be a string or a list of parts")
    texts = []
    for part in content:
        part = as_object(part, f"{where}: content part")
        if part.get("type") in ("text", "refusal"):
            texts.append(str(part.get("text", part.get("refusal", ""))))
        else:
            raise _refuse(f"{where}: a {part.get('type')!r} part cannot be sent to an Anthropic model here")
    return texts


# ---------------------------------------------------------------------------------------------------------------
# OpenAI → Anthropic
# ---------------------------------------------------------------------------------------------------------------


def _media_source(url: str) -> JSONObject:
    match = _DATA_URL.match(url)
    if match:
        return {"type": "base64", "media_type": match["media"], "data": match["data"]}
    return {"type": "url", "url": url}


def _is_data_url(file: Any) -> bool:
    """An OpenAI ``file`` part carrying its bytes inline (uploaded file ids mean nothing to Anthropic)."""
    return isinstance(file, dict) and bool(_DATA_URL.match(str(file.get("file_data", ""))))


def _user_blocks(content: Any, where: str) -> list[JSONObject]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _refuse(f"{where}: content must be a string or a list of parts")
    blocks: list[JSONObject] = []
    for part in content:
        part = as_object(part, f"{where}: content part")
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url", "") if isinstance(image, dict) else str(image or "")
            blocks.append({"type": "image", "source": _media_source(url)})
        elif kind == "file" and _is_data_url(part.get("file")):
            blocks.append({"type": "document", "source": _media_source(part["file"]["file_data"])})
        else:
            raise _refuse(f"{where}: a {kind!r} part cannot be sent to an Anthropic model")
    return blocks


def _assistant_blocks(message: JSONObject, where: str) -> list[JSONObject]:
    blocks: list[JSONObject] = [
        {"type": "text", "text": text} for text in _text_parts(message.get("content"), where) if text
    ]
    for number, call in enumerate(message.get("tool_calls") or []):
        call = as_object(call, f"{where}: tool call {number}")
        function = as_object(call.get("function") or {}, f"{where}: tool call {number} function")
        name = str(function.get("name", ""))
        blocks.append({
            "type": "tool_use",
            "id": str(call.get("id") or f"toolu_{number}"),
            "name": name,
            "input": parse_arguments(function.get("arguments"), name),
        })
    return blocks


def _tool_result(message: JSONObject, where: str) -> JSONObject:
    content = message.get("content")
    result: Any = content if isinstance(content, str) else [
        {"type": "text", "text": text} for text in _text_parts(content, where)
    ]
    return {"type": "tool_result", "tool_use_id": str(message.get("tool_call_id", "")), "content": result}


def _anthropic_tools(tools: Iterable[Any]) -> list[JSONObject]:
    out = []
    for number, tool in enumerate(tools):
        tool = as_object(tool, f"tools[{number}]")
        if tool.get("type", "function") != "function":
            raise _refuse(f"tools[{number}]: only function tools can be sent to an Anthropic model")
        function = as_object(tool.get("function") or {}, f"tools[{number}].function")
        entry: JSONObject = {"name": str(function.get("name", ""))}
        if function.get("description"):
            entry["description"] = function["description"]
        entry["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
        out.append(entry)
    return out


def _anthropic_tool_choice(choice: Any, parallel: Any) -> JSONObject | None:
    result: JSONObject | None
    if choice is None:
        result = None
    elif choice in ("auto", "none"):
        result = {"type": choice}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        result = {"type": "tool", "name": str(choice["function"].get("name", ""))}
    else:
        raise _refuse(f"tool_choice {choice!r} has no Anthropic equivalent")
    if parallel is False:
        result = {**(result or {"type": "auto"}), "disable_parallel_tool_use": True}
    return result


def openai_to_anthropic(body: JSONObject, *, model: str, stream: bool) -> JSONObject:
    """An OpenAI Chat Completions request as an Anthropic Messages request.

    System and developer messages become the ``system`` prompt (wherever they appear); tool messages become
    ``tool_result`` blocks of the next user turn; ``max_tokens`` defaults to :data:`DEFAULT_MAX_TOKENS`; the
    temperature is clamped to Anthropic's 0–1 range.
    """
    if body.get("n") not in (None, 1):
        raise _refuse("n > 1 (several choices) has no Anthropic equivalent")
    out: JSONObject = {"model": model or body.get("model", "")}
    system: list[JSONObject] = []
    messages: list[JSONObject] = []
    for number, message in enumerate(body.get("messages") or []):
        message = as_object(message, f"messages[{number}]")
        role, where = message.get("role"), f"messages[{number}]"
        if role in ("system", "developer"):
            system += [{"type": "text", "text": text} for text in _text_parts(message.get("content"), where)]
        elif role == "user":
            _append(messages, "user", _user_blocks(message.get("content"), where))
        elif role == "assistant":
            _append(messages, "assistant", _assistant_blocks(message, where))
        elif role == "tool":
            _append(messages, "user", [_tool_result(message, where)])
        else:
            raise _refuse(f"{where}: role {role!r} has no Anthropic equivalent")
    if system:
        out["system"] = _collapse(system)
    out["messages"] = [{"role": m["role"], "content": _collapse(m["content"])} for m in messages]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    out["max_tokens"] = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else DEFAULT_MAX_TOKENS
    if isinstance(body.get("temperature"), int | float):
        out["temperature"] = min(max(float(body["temperature"]), 0.0), 1.0)
    if isinstance(body.get("top_p"), int | float):
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if [s for s in stops if s]:
        out["stop_sequences"] = [str(s) for s in stops if s]
    if body.get("tools"):
        out["tools"] = _anthropic_tools(body["tools"])
        choice = _anthropic_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    if body.get("user"):
        out["metadata"] = {"user_id": str(body["user"])}
    if stream or body.get("stream") is True:
        out["stream"] = True
    return out


# ---------------------------------------------------------------------------------------------------------------
# Anthropic → OpenAI
# ---------------------------------------------------------------------------------------------------------------


def _media_url(source: JSONObject, where: str) -> str:
    if source.get("type") == "base64":
        return f"data:{source.get('media_type', 'application/octet-stream')};base64,{source.get('data', '')}"
    if source.get("type") == "url":
        return str(source.get("url", ""))
    raise _refuse(f"{where}: a {source.get('type')!r} source has no OpenAI equivalent")


def _tool_message(block: JSONObject, where: str) -> JSONObject:
    content = block.get("content")
    if isinstance(content, list):
        texts = []
        for part in content:
            part = as_object(part, f"{where}: tool_result content")
            if part.get("type") != "text":
                raise _refuse(f"{where}: an OpenAI tool result holds text only, not {part.get('type')!r}")
            texts.append({"type": "text", "text": str(part.get("text", ""))})
        content = _collapse(texts)
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": content or ""}


def _openai_user(content: Any, where: str) -> list[JSONObject]:
    """One Anthropic user turn as OpenAI messages: its tool results first (they must follow the assistant's tool
    calls directly), then a user message with everything else."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[JSONObject] = []
    parts: list[JSONObject] = []
    for block in content or []:
        block = as_object(block, f"{where}: content block")
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            url = _media_url(as_object(block.get("source"), f"{where}: image source"), where)
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "document" and isinstance(block.get("source"), dict) and block["source"].get("type") == "base64":
            parts.append({"type": "file", "file": {"file_data": _media_url(block["source"], where)}})
        elif kind == "tool_result":
            tool_messages.append(_tool_message(block, where))
        else:
            raise _refuse(f"{where}: a {kind!r} block has no OpenAI equivalent")
    if parts:
        tool_messages.append({"role": "user", "content": _collapse(parts)})
    return tool_messages


def _openai_assistant(content: Any, where: str) -> JSONObject:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[JSONObject] = []
    for block in content or []:
        block = as_object(block, f"{where}: content block")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False, separators=(",", ":"))
            calls.append({
                "id": str(block.get("id", "")),
                "type": "function",
                "function": {"name": str(block.get("name", "")), "arguments": arguments},
            })
        elif kind not in ("thinking", "redacted_thinking"):  # reasoning is the provider's own; it is not replayed
            raise _refuse(f"{where}: a {kind!r} block has no OpenAI equivalent")
    message: JSONObject = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _openai_tools(tools: Iterable[Any]) -> list[JSONObject]:
    out = []
    for number, tool in enumerate(tools):
        tool = as_object(tool, f"tools[{number}]")
        if tool.get("type", "custom") != "custom":
            raise _refuse(f"tools[{number}]: the server tool {tool.get('type')!r} has no OpenAI equivalent")
        function: JSONObject = {"name": str(tool.get("name", ""))}
        if tool.get("description"):
            function["description"] = tool["description"]
        function["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        out.append({"type": "function", "function": function})
    return out


def _openai_tool_choice(choice: JSONObject) -> Any:
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return kind
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"type": "function", "function": {"name": str(choice.get("name", ""))}}
    raise _refuse(f"tool_choice type {kind!r} has no OpenAI equivalent")


def anthropic_to_openai(body: JSONObject, *, model: str, stream: bool) -> JSONObject:
    """An Anthropic Messages request as an OpenAI Chat Completions request.

    The ``system`` prompt becomes the first message; a user turn's ``tool_result`` blocks become ``tool``
    messages placed before the rest of the turn; ``max_tokens`` is sent as ``max_tokens``, which every
    OpenAI-compatible server understands.
    """
    out: JSONObject = {"model": model or body.get("model", "")}
    messages: list[JSONObject] = []
    system = body.get("system")
    if isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    elif isinstance(system, list) and system:
        texts = [{"type": "text", "text": str(as_object(b, "system block").get("text", ""))} for b in system]
        messages.append({"role": "system", "content": _collapse(texts)})
    for number, message in enumerate(body.get("messages") or []):
        message = as_object(message, f"messages[{number}]")
        role, where = message.get("role"), f"messages[{number}]"
        if role == "user":
            messages += _openai_user(message.get("content"), where)
        elif role == "assistant":
            messages.append(_openai_assistant(message.get("content"), where))
        else:
            raise _refuse(f"{where}: role {role!r} is not an Anthropic role")
    out["messages"] = messages
    if isinstance(body.get("max_tokens"), int):
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if isinstance(body.get(key), int | float):
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = [str(s) for s in body["stop_sequences"]]
    if body.get("tools"):
        out["tools"] = _openai_tools(body["tools"])
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            out["tool_choice"] = _openai_tool_choice(choice)
            if choice.get("disable_parallel_tool_use") is True:
                out["parallel_tool_calls"] = False
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and metadata.get("user_id"):
        out["user"] = str(metadata["user_id"])
    if stream or body.get("stream") is True:
        out["stream"] = True
    return out
