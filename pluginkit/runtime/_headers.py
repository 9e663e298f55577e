"""Header arithmetic of the seed's interceptor chains (``clear_headers`` then ``headers``), case-insensitive."""

from __future__ import annotations

from typing import Any

__all__ = ["compose_changes", "copy_headers", "headers_field", "merge_headers"]


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
