"""JSON objects in and out, as plugins that read and write model APIs' bodies need them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pluginkit.errors import PluginError

__all__ = ["JSONObject", "as_object", "dump", "error_message", "load_object", "stable_id"]

#: A decoded JSON object. Request and response bodies are open-ended, so their values stay ``Any``.
JSONObject = dict[str, Any]


def load_object(body: bytes, what: str) -> JSONObject:
    """Decode a JSON object, or refuse with ``invalid_request`` naming what was expected."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise PluginError("invalid_request", f"{what} is not JSON: {exc}") from None
    return as_object(value, what)


def as_object(value: Any, what: str) -> JSONObject:
    """``value`` when it is a JSON object, else ``invalid_request`` naming what was expected."""
    if not isinstance(value, dict):
        raise PluginError("invalid_request", f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def dump(value: Any) -> bytes:
    """Compact UTF-8 JSON (no ASCII escapes, no spaces)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def stable_id(prefix: str, *sources: bytes) -> str:
    """An id derived from the first non-empty source: every chunk of one stream can name the same message
    without the plugin keeping state between chunks."""
    source = next((s for s in sources if s), b"")
    return prefix + hashlib.sha256(source).hexdigest()[:24]


def error_message(body: bytes) -> str:
    """What an API said when it failed: its ``{"error": {"message": …}}`` (OpenAI's, and the APIs compatible with
    it), else its body as text. Not masked: mask secrets before it goes anywhere.

    >>> error_message(b'{"error": {"message": "model not found", "type": "invalid_request_error"}}')
    'model not found'
    >>> error_message(b"Bad Gateway")
    'Bad Gateway'
    """
    text = body.decode("utf-8", errors="replace").strip()
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return text
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return text
