"""Recognising secrets, so logs and plugins never see what they should not.

One rule serves the scheduler's candidate filtering (the seed's sensitive-attribute keys) and ``host.log``
(secret-looking values masked).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "is_sensitive_key", "redact_text", "redact_value", "strip_sensitive"]

REDACTED = "[redacted]"
_SENSITIVE_PARTS = (
    "api_key", "apikey", "token", "secret", "cookie", "credential", "password", "storage", "authorization",
    "auth_header", "proxy_url",
)
_SEPARATORS = re.compile(r"[-. ]")
_SECRET_VALUE = re.compile(
    r"(?:\bsk-[A-Za-z0-9_-]{8,}"  # OpenAI/Anthropic-style keys
    r"|\b(?:ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{16,}"  # GitHub tokens
    r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key IDs
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,})"  # Authorization header values
)
#: ``scheme://user:password@host``: the userinfo of a URL.
_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")
#: ``key=value`` (query strings, form bodies, ``repr``s) whose key is sensitive by the seed's rule.
_KEY_VALUE = re.compile(r"([A-Za-z0-9_.-]+)=([^&\s'\",;)]+)")


def is_sensitive_key(key: str) -> bool:
    """The seed's rule: lower-case, turn ``-``, ``.`` and spaces into ``_``; sensitive if a marker appears
    either in that form or with the underscores removed (``apiKey`` → ``apikey``)."""
    normal = _SEPARATORS.sub("_", key.lower())
    compact = normal.replace("_", "")
    return any(part in normal or part.replace("_", "") in compact for part in _SENSITIVE_PARTS)


def redact_text(text: str) -> str:
    """Mask what looks like a secret inside free text: API keys and tokens, ``Bearer``/``Basic`` credentials, a
    URL's ``user:password@``, and the value of any ``key=value`` whose key is sensitive (``?api_key=…``)."""
    text = _SECRET_VALUE.sub(REDACTED, text)
    if "://" in text:
        text = _USERINFO.sub(REDACTED + "@", text)
    if "=" in text:
        text = _KEY_VALUE.sub(_masked_pair, text)
    return text


def _masked_pair(match: re.Match[str]) -> str:
    key = match.group(1)
    return f"{key}={REDACTED}" if is_sensitive_key(key) else match.group(0)


#: How deep :func:`redact_value` follows nested mappings and lists; deeper values are replaced by this marker.
MAX_DEPTH = 32
TOO_DEEP = "[too deep]"


def redact_value(key: Any, value: Any, _depth: int = 0) -> Any:
    """Redact a field of a structured log record: sensitive keys entirely, secret-looking strings inside. Keys
    may be anything (they are compared as text); nesting past :data:`MAX_DEPTH` levels is cut off."""
    key = str(key)
    if is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping | list | tuple) and _depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, Mapping):
        return {str(k): redact_value(k, v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v, _depth + 1) for v in value]
    return value


def strip_sensitive(attributes: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``attributes`` without the keys the seed treats as sensitive (scheduler candidates)."""
    return {k: v for k, v in attributes.items() if not is_sensitive_key(k)}
