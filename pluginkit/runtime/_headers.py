"""Header arithmetic of the seed's interceptor chains (``clear_headers`` then ``headers``), case-insensitive."""

from __future__ import annotations

from typing import Any

__all__ = ["compose_changes", "copy_headers", "copy_metadata", "headers_field", "merge_headers"]


def headers_field(params: Any) -> str:
    """The headers an interceptor chain changes: the response's for response interceptors, else the request's."""
    return "response_headers" if hasattr(params, "response_headers") else "headers"


def compose_changes(
    headers: dict[str, list[str]], clear: list[str], answer: Any
) -> tuple[dict[str, list[str]], list[str]]:
    """Compose two header change sets (``clear_headers`` then ``headers``): the earlier one, then ``answer``'s.

    Applying the result to a message equals applying both in turn; header names compare case-insensitively.
    """
    dropped = {k.lower() for k in answer.clear_headers} | {k.lower() for k in answer.headers}
    merged = {k: v for k, v in headers.items() if k.lower() not in dropped}
    merged.update((k, list(v)) for k, v in answer.headers.items())
    known = {k.lower() for k in clear}
    return merged, [*clear, *(k for k in answer.clear_headers if k.lower() not in known)]


def copy_headers(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    """A copy of a header mapping that shares no list with it (a plain loop: on Python 3.11 a comprehension
    is a function call of its own, and headers are copied several times per request)."""
    copied = {}
    for name, values in headers.items():
        copied[name] = [*values]
    return copied


def copy_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """A copy of JSON-like metadata that shares no dict or list with it (scalars are shared: they cannot change).
    What a plugin gets, so that its in-place changes reach no one else, as a seed plugin's unmarshalled copy."""
    copied = {}
    for key, value in metadata.items():
        copied[key] = _copy_nested(value) if value.__class__ is dict or value.__class__ is list else value
    return copied


def _copy_nested(value: Any) -> Any:
    if value.__class__ is dict:
        return {key: _copy_nested(item) for key, item in value.items()}
    if value.__class__ is list:
        return [_copy_nested(item) for item in value]
    return value


def merge_headers(
    headers: dict[str, list[str]], clear: list[str], replace: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The seed's merge: delete ``clear``, then each key of ``replace`` replaces all values of that header.
    Header names compare case-insensitively. Returns a new mapping; the inputs are not touched."""
    merged = dict(headers)
    for name in [*clear, *replace]:
        lowered = name.lower()
        for key in [k for k in merged if k.lower() == lowered]:
            del merged[key]
    for name, values in replace.items():
        merged[name] = list(values)
    return merged
