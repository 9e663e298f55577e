"""Shared helpers every store uses, so that stores agree: the clock, session ids, message JSON, the export
format, the import parser and how a search query is split into words.

Keeping them here (not in each store) is what makes the conformance kit's comparisons meaningful: two stores
differ only in where they keep the data.
"""

from __future__ import annotations

import re
import threading
import time
import typing
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import orjson

from pluginkit import wire
from pluginkit.sessions._errors import InvalidSessionData
from pluginkit.sessions._types import Message, MessageContent, MessageMetadata, ModelConfig, Session
from pluginkit.wire._payload import is_payload, wire_names

__all__ = [
    "MAX_QUERY_CHARS",
    "decode_message",
    "encode_message",
    "exact_json",
    "fold",
    "from_us",
    "message_from_data",
    "new_session_id",
    "now_us",
    "parse_session_json",
    "query_words",
    "search_text",
    "session_to_json",
    "to_us",
    "words",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
#: Longest search query accepted (characters); longer ones are refused rather than silently cut.
MAX_QUERY_CHARS = 4096

_clock_lock = threading.Lock()
_last_us = 0


def now_us() -> int:
    """Microseconds since the Unix epoch, strictly increasing within the process.

    Every write stamps ``updated_at`` with this clock, so two writes in the same microsecond still order, and
    ``list_sessions`` (newest first) is deterministic.
    """
    global _last_us
    with _clock_lock:
        now = time.time_ns() // 1000
        if now <= _last_us:
            now = _last_us + 1
        _last_us = now
        return now


def from_us(us: int) -> datetime:
    """Microseconds since the epoch → an aware UTC datetime (exact; no float rounding)."""
    return EPOCH + timedelta(microseconds=us)


def to_us(value: datetime) -> int:
    """An aware datetime (a naive one is taken as UTC) → microseconds since the epoch."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _ONE_US


def new_session_id(us: int, sequence: int) -> str:
    """The seed's session id: ``YYYYMMDD_N``, N counting the sessions created that (UTC) day from 1."""
    return f"{from_us(us):%Y%m%d}_{sequence}"


def session_day(us: int) -> str:
    return f"{from_us(us):%Y%m%d}"


# -- messages ------------------------------------------------------------------------------------------------


def encode_message(message: Message) -> str:
    """The JSON a store keeps for a message (compact wire form)."""
    return orjson.dumps(wire.to_wire(message)).decode()


def decode_message(text: str | bytes) -> Message:
    data = orjson.loads(text)
    return _fast_message(data) or wire.from_wire(data, Message)


def message_from_data(data: Any) -> tuple[Message, str]:
    """JSON-like data → the message and the JSON a store may keep for it. Raises ``wire.WireError``.

    Messages spelled exactly as pluginkit writes them (every export, and most of goose's) take a fast path that
    reads only the keys present — a message part has 17 possible fields — and keeps the input's JSON, so an
    import of 10 000 messages costs little more than a bare insert. Anything else goes through the wire
    converter, which also names what is wrong.
    """
    fast = _fast_message(data)
    if fast is not None:
        return fast, orjson.dumps(data).decode()
    message = wire.from_wire(data, Message)
    return message, encode_message(message)


_INT64 = (-(2**63), 2**63 - 1)
_MESSAGE_STR = frozenset({"id", "role"})
_PART_FIELDS: dict[str, tuple[str, bool]] = {}  # wire key → (attribute, is a str field; else any JSON)


def _part_fields() -> dict[str, tuple[str, bool]]:
    if not _PART_FIELDS:
        hints = typing.get_type_hints(MessageContent)
        for attribute, key in wire_names(MessageContent).items():
            _PART_FIELDS[key] = (attribute, hints[attribute] is str)
    return _PART_FIELDS


def _plain(value: Any) -> bool:
    """Whether a JSON value reads back unchanged through the wire form (no integer beyond 64 bits)."""
    cls = value.__class__
    if cls is int:
        return bool(_INT64[0] <= value <= _INT64[1])
    if cls is list:
        return all(_plain(item) for item in value)
    if cls is dict:
        return all(_plain(item) for item in value.values())
    return cls is str or cls is float or cls is bool or value is None


def _fast_part(data: Any, fields: dict[str, tuple[str, bool]]) -> MessageContent | None:
    if data.__class__ is not dict:
        return None
    part = MessageContent()
    for key, value in data.items():
        spec = fields.get(key)
        if spec is None:
            return None
        if value is None:
            continue
        if spec[1]:
            if value.__class__ is not str:
                return None
        elif not _plain(value):
            return None
        setattr(part, spec[0], value)
    return part


def _fast_message(data: Any) -> Message | None:
    """The message ``data`` spells in pluginkit's exact wire form, or ``None`` (then the wire converter decides):
    for every input it accepts, the result equals ``wire.from_wire(data, Message)``."""
    if data.__class__ is not dict:
        return None
    message = Message()
    for key, value in data.items():
        if value is None:
            continue
        if key == "content":
            if value.__class__ is not list:
                return None
            fields = _PART_FIELDS or _part_fields()
            parts = []
            for item in value:
                part = _fast_part(item, fields)
                if part is None:
                    return None
                parts.append(part)
            message.content = parts
        elif key in _MESSAGE_STR:
            if value.__class__ is not str:
                return None
            setattr(message, key, value)
        elif key == "created":
            if value.__class__ is not int or not _INT64[0] <= value <= _INT64[1]:
                return None
            message.created = value
        elif key == "metadata":
            if value.__class__ is not dict or not _FLAGS.issuperset(value):
                return None
            user, agent = value.get("userVisible"), value.get("agentVisible")
            if not (user is None or user is True or user is False) or not (
                agent is None or agent is True or agent is False
            ):
                return None
            message.metadata = MessageMetadata(user_visible=user is True, agent_visible=agent is True)
        else:
            return None
    return message


_FLAGS = frozenset({"userVisible", "agentVisible"})


def search_text(message: Message) -> str:
    """The text a store indexes for search: the text parts, NUL characters removed (PostgreSQL's text type
    cannot hold them)."""
    text = message.text
    return text.replace("\x00", "") if "\x00" in text else text


# -- search queries -------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def query_words(query: str) -> list[str]:
    """Split a user's query into the pieces a store must all find, taking the query literally.

    Pieces are separated by whitespace; each must appear as written (its words adjacent, as a phrase). Quotes,
    ``*``, ``-``, ``NEAR``, ``OR`` and ``AND`` are not syntax: punctuation separates words and the operator
    words are words. Pieces without a letter or digit are dropped; no pieces means no match.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidSessionData(message=f"search query is {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
    return [piece for piece in query.split() if any(ch.isalnum() for ch in piece)]


def words(text: str) -> list[str]:
    """Text → its words, folded: case folded (``Straße`` → ``strasse``), compatibility forms decomposed
    (``ＦＵＬＬ`` → ``full``, ``ﬁ`` → ``fi``), accents removed, then split into runs of letters and digits.

    Every store searches these words, whatever its engine (SQLite, PostgreSQL, the in-memory model): folding
    once, here, is what makes them agree on which messages a query finds.
    """
    if text.isascii():  # most text: case folding is lower() and nothing decomposes (3x faster)
        return _WORD.findall(text.lower())
    folded = unicodedata.normalize("NFKD", text.casefold())
    if not folded.isascii():
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(folded)


def fold(text: str) -> str:
    """The text a store indexes: its :func:`words` joined by single spaces. A query term is a substring of it
    when the term's words appear in that order, the first ending and the last starting anywhere."""
    return " ".join(words(text))


# -- export / import ------------------------------------------------------------------------------------------

#: Payload classes written with every field (as serde writes them), so that other readers of the export format
#: — goose among them — find the keys they require and ``0`` / ``""`` stay distinct from null.
_EXPLICIT: frozenset[type] = frozenset({Session, ModelConfig})


def exact_json(obj: Any) -> Any:
    """A payload object → JSON-like data that reads back equal: like ``wire.to_wire`` but ``0``, ``""`` and
    ``False`` in optional fields are kept (the wire form leaves them out, reading them back as ``None``)."""
    cls = obj.__class__
    if isinstance(obj, list):
        return [exact_json(item) for item in obj]
    if not is_payload(cls):
        return wire.to_wire(obj) if isinstance(obj, datetime) else obj
    out: dict[str, Any] = wire.to_wire(obj)
    if cls is Message:  # every Message field reads back exactly from the wire form but the visibility flags
        if obj.metadata is not None:  # goose reads a missing flag as true: write both
            out["metadata"] = {"userVisible": obj.metadata.user_visible, "agentVisible": obj.metadata.agent_visible}
        return out
    explicit = cls in _EXPLICIT
    for field, key in zip(attrs.fields(cls), wire_names(cls).values(), strict=True):
        value = getattr(obj, field.name)
        if value is None:
            if explicit:
                out[key] = None
        elif is_payload(value.__class__) or (isinstance(value, list) and value and is_payload(value[0].__class__)):
            out[key] = exact_json(value)
        elif key in out:
            continue
        elif isinstance(value, datetime):
            out[key] = wire.format_time(value)
        elif isinstance(value, str | int | float) and (explicit or field.default is None):
            out[key] = value  # a falsy value the wire form left out
        elif explicit and isinstance(value, dict | list) and not value:
            out[key] = value
    return out


def session_to_json(session: Session) -> str:
    """The export format: the session with its conversation, as pretty JSON (the seed's ``export_session``)."""
    return orjson.dumps(exact_json(session), option=orjson.OPT_INDENT_2).decode()


#: Keys of an export that an import ignores: the new session gets its own id, times and counts.
_IGNORED_ON_IMPORT = ("id", "created_at", "updated_at", "message_count", "last_activity")


def parse_session_json(text: Any, max_bytes: int) -> tuple[Session, list[str]]:
    """Read an export (ours or goose's: the legacy ``description`` is the name) into a ``Session`` whose
    ``conversation`` is the messages to import, and the JSON to keep for each message. Raises
    :class:`InvalidSessionData` naming what is wrong."""
    if isinstance(text, bytes | bytearray):
        size = len(text)
    elif isinstance(text, str):
        size = len(text) if len(text) > max_bytes else len(text.encode("utf-8", "surrogatepass"))
    else:
        raise InvalidSessionData(message=f"import expects JSON text, not {type(text).__name__}")
    if size > max_bytes:
        raise InvalidSessionData(message=f"import JSON is {size} bytes; the limit is {max_bytes}")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidSessionData(message=f"import JSON is malformed: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidSessionData(message="import JSON must be an object (an exported session)")
    if "name" not in data and isinstance(data.get("description"), str):
        data["name"] = data["description"]
    for key in _IGNORED_ON_IMPORT:
        data.pop(key, None)
    conversation = data.pop("conversation", None)
    try:
        session = wire.from_wire(data, Session)
    except wire.WireError as exc:
        raise InvalidSessionData(message=f"import JSON does not describe a session: {exc}") from None
    if conversation is None:
        conversation = []
    elif conversation.__class__ is not list:
        raise InvalidSessionData(message="import JSON does not describe a session: conversation: expected array")
    messages, texts = [], []
    for index, item in enumerate(conversation):
        try:
            message, text = message_from_data(item)
        except wire.WireError as exc:
            exc.path[:0] = ["conversation", index]
            raise InvalidSessionData(message=f"import JSON does not describe a session: {exc}") from None
        messages.append(message)
        texts.append(text)
    session.conversation = messages
    return session, texts
