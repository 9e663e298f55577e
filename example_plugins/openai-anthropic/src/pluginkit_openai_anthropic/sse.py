"""Server-Sent-Events framing: the one place the example plugins split, read and write SSE events.

The request pipeline passes streams around as one SSE event per chunk, so every plugin that touches a stream
needs the same three operations: cut a byte stream into events (an upstream HTTP body arrives in arbitrary
pieces), read the fields of an event, and write an event. The executors distribution imports this module rather
than carrying its own copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["DONE", "Event", "Splitter", "comment", "encode", "encode_json", "parse", "split"]

#: The sentinel event that ends an OpenAI stream.
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Event:
    """One parsed event: its ``event:`` type (empty when absent) and its ``data:`` lines joined by newlines.

    ``has_data`` tells a comment-only event (keep-alives, ``: ping``) from an event whose data is empty.
    """

    event: str = ""
    data: str = ""
    has_data: bool = False

    def json(self) -> Any:
        """The data decoded as JSON (raises :class:`ValueError` when it is not JSON)."""
        return json.loads(self.data)


class Splitter:
    """Cuts a byte stream into complete events, each returned as ``<lines>\\n\\n`` with ``\\n`` line endings.

    Line endings are normalised (``\\r\\n`` and ``\\r`` become ``\\n``), so an upstream that writes CRLF still
    yields one chunk per event; a ``\\r`` at the end of a piece is held back until the next piece shows whether
    a ``\\n`` follows it.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._pending_cr = False

    def feed(self, data: bytes) -> list[bytes]:
        """Add a piece of the stream; returns the events it completed."""
        if self._pending_cr:
            data = b"\r" + data
            self._pending_cr = False
        if data.endswith(b"\r"):
            data, self._pending_cr = data[:-1], True
        self._buffer += data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *complete, self._buffer = self._buffer.split(b"\n\n")
        return [part.strip(b"\n") + b"\n\n" for part in complete if part.strip(b"\n")]

    def flush(self) -> list[bytes]:
        """End of stream: the last event even without its blank line (servers that close without one)."""
        rest = self._buffer.strip(b"\n")
        self._buffer, self._pending_cr = b"", False
        return [rest + b"\n\n"] if rest else []


def split(data: bytes) -> list[bytes]:
    """Every event of a complete piece of SSE text (usually exactly one, the pipeline's chunk)."""
    splitter = Splitter()
    return [*splitter.feed(data), *splitter.flush()]


def _parse_one(raw: bytes) -> Event:
    event_type, data_lines, has_data = "", [], False
    for line in raw.decode("utf-8", errors="replace").split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event_type = value
        elif name == "data":
            data_lines.append(value)
            has_data = True
    return Event(event=event_type, data="\n".join(data_lines), has_data=has_data)


def parse(data: bytes) -> list[Event]:
    """The events of a piece of SSE text, fields read as the SSE specification says (``id``/``retry`` ignored)."""
    return [_parse_one(raw) for raw in split(data)]


def encode(data: str, event: str = "") -> bytes:
    """One event: an optional ``event:`` line, one ``data:`` line per line of ``data``, a blank line."""
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def encode_json(value: Any, event: str = "") -> bytes:
    """One event whose data is ``value`` as compact JSON (UTF-8, not ASCII-escaped)."""
    return encode(json.dumps(value, ensure_ascii=False, separators=(",", ":")), event)


def comment(text: str) -> bytes:
    """A comment-only event (``: text``): what a translator answers for an event with no equivalent."""
    return f": {text}\n\n".encode()
