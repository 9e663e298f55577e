"""Format names and reading token usage out of response bodies."""

from __future__ import annotations

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
    so each field keeps the largest value seen rather than a sum. Written for speed — no helper calls, no copy of
    the body: every answer carrying usage goes through here (it was a third of a request's own cost).
    """
    if body[:1] != b"{":  # an SSE event (or a body with leading space): one JSON document per data line
        text = body.strip()
        if text.startswith((b"event:", b"data:")):
            for line in text.splitlines():
                if line.startswith(b"data:") and line[5:].strip() not in (b"", b"[DONE]"):
                    usage_from_body(line[5:].strip(), detail)
            return
        if not text.startswith(b"{"):
            return
        body = text
    if b'"usage"' not in body:
        return
    try:
        document: Any = orjson.loads(body)  # ~6x json.loads
    except orjson.JSONDecodeError:
        return
    if document.__class__ is not dict:
        return
    usage = document.get("usage")
    if usage.__class__ is not dict:
        message = document.get("message")
        usage = message.get("usage") if message.__class__ is dict else None
        if usage.__class__ is not dict:
            return
    get = usage.get
    a, b, c, d = get("prompt_tokens"), get("input_tokens"), get("completion_tokens"), get("output_tokens")
    # an int counts (a bool's class is bool): anything else in a count is 0, as a malformed answer deserves
    inputs = (a if a.__class__ is int else 0) + (b if b.__class__ is int else 0)
    outputs = (c if c.__class__ is int else 0) + (d if d.__class__ is int else 0)
    if inputs > detail.input_tokens:
        detail.input_tokens = inputs
    if outputs > detail.output_tokens:
        detail.output_tokens = outputs
    read, created = get("cache_read_input_tokens"), get("cache_creation_input_tokens")
    if read.__class__ is int and read > detail.cache_read_tokens:
        detail.cache_read_tokens = read
    if created.__class__ is int and created > detail.cache_creation_tokens:
        detail.cache_creation_tokens = created
    cached = get("prompt_tokens_details")
    if cached.__class__ is dict:
        count = cached.get("cached_tokens")
        if count.__class__ is int and count > detail.cached_tokens:
            detail.cached_tokens = count
    detail.total_tokens = detail.input_tokens + detail.output_tokens


#: Models as JSON strings (``"m"``), for :func:`with_model`; cleared when full.
_QUOTED: dict[str, bytes] = {}


def _quoted(model: str) -> bytes:
    if len(_QUOTED) >= 1024:
        _QUOTED.clear()
    quoted = _QUOTED[model] = orjson.dumps(model)
    return quoted


def with_model(body: bytes, model: str) -> bytes:
    """``body`` with its JSON ``model`` field set to ``model`` when it differs — what the seed host does to a
    request no native translator handles (``sdk/translator/registry.go``), so a client's model prefix
    (``copilot/gpt-5-mini``) never reaches the upstream. Anything that is not a JSON object is left as it is."""
    if not model:
        return body
    # Already so, and no other "model" key to mistake it for (the common case): no parse. Found with a few
    # searches at known offsets (~0.3 us where building the two needles and scanning for each was ~0.65 us).
    first = body.find(b'"model"')
    if first >= 0 and body.find(b'"model"', first + 7) < 0:
        at = first + 7
        at += 2 if body.startswith(b": ", at) else 1 if body.startswith(b":", at) else -at
        if at > 0 and body.startswith(_QUOTED.get(model) or _quoted(model), at):
            return body
    if not body.lstrip().startswith(b"{"):
        return body
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(data, dict) or data.get("model") == model:
        return body
    data["model"] = model
    return orjson.dumps(data)
