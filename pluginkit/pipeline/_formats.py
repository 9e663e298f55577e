"""Format names and reading token usage out of response bodies."""

from __future__ import annotations

import json
from typing import Any

import orjson

from pluginkit import types as t

__all__ = ["normalize_format", "usage_from_body"]

# The seed's executor-format aliases (§5.2).
_ALIASES = {
    "chat-completions": "openai",
    "chat_completions": "openai",
    "openai-chat-completions": "openai",
    "responses": "openai-response",
    "openai-responses": "openai-response",
    "anthropic": "claude",
}


def normalize_format(name: str) -> str:
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def normalize_formats(names: list[str]) -> list[str]:
    """Aliases resolved, duplicates removed, order kept."""
    out: list[str] = []
    for name in names:
        normal = normalize_format(name)
        if normal and normal not in out:
            out.append(normal)
    return out


def usage_from_body(body: bytes, detail: t.UsageDetail) -> None:
    """Record the token counts found in an OpenAI or Anthropic response body (or SSE event) in ``detail``.

    Stream events report usage cumulatively (Anthropic's ``message_start`` and ``message_delta`` both carry counts),
    so each field keeps the largest value seen rather than a sum.
    """
    text = body.strip()
    if text.startswith(b"event:") or text.startswith(b"data:"):
        for line in text.splitlines():
            if line.startswith(b"data:") and line[5:].strip() not in (b"", b"[DONE]"):
                usage_from_body(line[5:].strip(), detail)
        return
    if b'"usage"' not in text:
        return
    try:
        document: Any = json.loads(text)
    except ValueError:
        return
    usage = document.get("usage") if isinstance(document, dict) else None
    if not isinstance(usage, dict) and isinstance(document, dict):
        message = document.get("message")
        usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict):
        return

    def number(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    detail.input_tokens = max(detail.input_tokens, number("prompt_tokens") + number("input_tokens"))
    detail.output_tokens = max(detail.output_tokens, number("completion_tokens") + number("output_tokens"))
    detail.cache_read_tokens = max(detail.cache_read_tokens, number("cache_read_input_tokens"))
    detail.cache_creation_tokens = max(detail.cache_creation_tokens, number("cache_creation_input_tokens"))
    cached = usage.get("prompt_tokens_details")
    if isinstance(cached, dict) and isinstance(cached.get("cached_tokens"), int):
        detail.cached_tokens = max(detail.cached_tokens, cached["cached_tokens"])
    detail.total_tokens = detail.input_tokens + detail.output_tokens


def with_model(body: bytes, model: str) -> bytes:
    """``body`` with its JSON ``model`` field set to ``model`` when it differs — what the seed host does to a
    request no native translator handles (``sdk/translator/registry.go``), so a client's model prefix
    (``copilot/gpt-5-mini``) never reaches the upstream. Anything that is not a JSON object is left as it is."""
    if not model or not body.lstrip().startswith(b"{"):
        return body
    quoted = orjson.dumps(model)
    # already so, and no other "model" key to mistake it for (the common case): no parse
    if body.count(b'"model"') == 1 and (b'"model":' + quoted in body or b'"model": ' + quoted in body):
        return body
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(data, dict) or data.get("model") == model:
        return body
    data["model"] = model
    return orjson.dumps(data)
