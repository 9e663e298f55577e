"""Server-Sent-Events framing: split a byte stream into events, read an event's fields, write events.

The request pipeline passes a stream around as one SSE event per chunk, so every plugin that touches a stream
needs the same three operations: an executor cuts an upstream HTTP body (arriving in arbitrary pieces) into
events, a translator reads each event's fields and writes the events of the other format, an interceptor may do
both. They live here, in the library, so plugins share one implementation instead of each carrying its own.

Examples are in ``docs/writing-plugins.md`` (run by the test suite).
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
    yields one chunk per event. A ``\\r`` at the end of a piece ends its line at once (an event it completes is
    returned without waiting); a ``\\n`` starting the next piece is then the rest of that ``\\r\\n``.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._pending_cr = False  # the last piece ended with \r: a \n opening the next one belongs to it

    def feed(self, data: bytes) -> list[bytes]:
        """Add a piece of the stream; returns the events it completed."""
        if not data:
            return []
        if self._pending_cr:
            self._pending_cr = False
            if data.startswith(b"\n"):
                data = data[1:]
        if data.endswith(b"\r"):
            self._pending_cr = True
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
