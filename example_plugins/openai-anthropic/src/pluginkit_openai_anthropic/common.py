"""Stop reasons, usage and tool arguments between the two formats: shared by the three mappings. JSON in and out
and stable ids come from :mod:`pluginkit.formats` (re-exported here for the mappings)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pluginkit import PluginError
from pluginkit.formats import JSONObject, as_object, dump, load_object, stable_id

__all__ = [
    "JSONObject",
    "anthropic_stop_reason",
    "anthropic_usage",
    "as_object",
    "dump",
    "load_object",
    "member",
    "openai_finish_reason",
    "openai_usage",
    "parse_arguments",
    "stable_id",
]

_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def member(value: Mapping[str, Any], key: str) -> JSONObject:
    """A nested object, or an empty one when it is absent or not an object (lenient reading of answers)."""
    nested = value.get(key)
    return nested if isinstance(nested, dict) else {}


def parse_arguments(raw: Any, tool: str) -> JSONObject:
    """OpenAI tool-call arguments (a JSON string) as the object Anthropic's ``input`` holds."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        raise PluginError("invalid_request", f"arguments of tool call {tool!r} are not JSON") from None
    return as_object(value, f"arguments of tool call {tool!r}")


def anthropic_stop_reason(finish_reason: Any) -> str | None:
    """OpenAI ``finish_reason`` → Anthropic ``stop_reason`` (``None`` while the answer is not finished)."""
    if not finish_reason:
        return None
    return _FINISH_TO_STOP.get(str(finish_reason), "end_turn")


def openai_finish_reason(stop_reason: Any) -> str | None:
    """Anthropic ``stop_reason`` → OpenAI ``finish_reason`` (``None`` while the answer is not finished)."""
    if not stop_reason:
        return None
    return _STOP_TO_FINISH.get(str(stop_reason), "stop")


def _int(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def openai_usage(usage: Mapping[str, Any]) -> JSONObject:
    """Anthropic usage → OpenAI usage. Anthropic counts cached input apart from ``input_tokens``; OpenAI's
    ``prompt_tokens`` includes it, with the cache reads repeated in ``prompt_tokens_details.cached_tokens``."""
    cache_read = _int(usage, "cache_read_input_tokens")
    prompt = _int(usage, "input_tokens") + cache_read + _int(usage, "cache_creation_input_tokens")
    completion = _int(usage, "output_tokens")
    result: JSONObject = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if cache_read:
        result["prompt_tokens_details"] = {"cached_tokens": cache_read}
    return result


def anthropic_usage(usage: Mapping[str, Any]) -> JSONObject:
    """OpenAI usage → Anthropic usage (the inverse of :func:`openai_usage` for cache reads)."""
    details = usage.get("prompt_tokens_details")
    cached = _int(details, "cached_tokens") if isinstance(details, Mapping) else 0
    result: JSONObject = {
        "input_tokens": max(_int(usage, "prompt_tokens") - cached, 0),
        "output_tokens": _int(usage, "completion_tokens"),
    }
    if cached:
        result["cache_read_input_tokens"] = cached
    return result
