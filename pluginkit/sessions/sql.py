"""Helpers for SQL-backed session stores: the session row's columns and how fields are stored in them.

The bundled SQLite store and the PostgreSQL example plugin both use these (with the message codec, the clock
and the session id format, re-exported here), and the in-memory model runs every value through the same
encoding, so all three keep exactly the same data (``0`` stays ``0``, a temperature of ``0.0`` is not lost, a
tuple becomes a list).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from pluginkit import wire
from pluginkit.sessions._codec import (
    decode_message,
    encode_message,
    exact_json,
    fold,
    from_us,
    new_session_id,
    now_us,
    search_text,
    session_day,
    to_us,
    words,
)
from pluginkit.sessions._types import ModelConfig, Recipe, Session

__all__ = [
    "FIELD_COLUMNS",
    "SESSION_COLUMNS",
    "decode_column",
    "decode_message",
    "encode_column",
    "encode_message",
    "exact_json",
    "fold",
    "from_us",
    "new_session_id",
    "normalize",
    "now_us",
    "search_text",
    "session_day",
    "session_from_row",
    "to_us",
    "words",
]

#: Columns of the session row, in the order :func:`session_from_row` reads them.
SESSION_COLUMNS: tuple[str, ...] = (
    "id", "working_dir", "name", "user_set_name", "session_type", "created_at", "updated_at", "extension_data",
    "total_tokens", "input_tokens", "output_tokens", "accumulated_total_tokens", "accumulated_input_tokens",
    "accumulated_output_tokens", "cached_input_tokens", "cache_creation_input_tokens", "schedule_id",
    "recipe_json", "user_recipe_values_json", "provider_name", "model_config_json", "message_count",
    "last_activity",
)

#: ``Session`` field → its column, for the fields updates may set.
FIELD_COLUMNS: dict[str, str] = {
    "name": "name",
    "user_set_name": "user_set_name",
    "extension_data": "extension_data",
    "total_tokens": "total_tokens",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "accumulated_total_tokens": "accumulated_total_tokens",
    "accumulated_input_tokens": "accumulated_input_tokens",
    "accumulated_output_tokens": "accumulated_output_tokens",
    "cached_input_tokens": "cached_input_tokens",
    "cache_creation_input_tokens": "cache_creation_input_tokens",
    "schedule_id": "schedule_id",
    "recipe": "recipe_json",
    "user_recipe_values": "user_recipe_values_json",
    "provider_name": "provider_name",
    "model_config": "model_config_json",
}

_JSON_FIELDS = frozenset({"extension_data", "recipe", "user_recipe_values", "model_config"})


def encode_column(field: str, value: Any) -> Any:
    """A ``Session`` field's value → what its column holds (JSON text for the structured fields)."""
    if field not in _JSON_FIELDS:
        return value
    if value is None:
        return "{}" if field == "extension_data" else None
    return orjson.dumps(exact_json(value)).decode()


def decode_column(field: str, raw: Any) -> Any:
    """The inverse of :func:`encode_column`."""
    if field not in _JSON_FIELDS:
        return raw
    if raw is None:
        return {} if field == "extension_data" else None
    data = orjson.loads(raw)
    if field == "recipe":
        return wire.from_wire(data, Recipe)
    if field == "model_config":
        return wire.from_wire(data, ModelConfig)
    return data


def normalize(field: str, value: Any) -> Any:
    """What a store hands back after storing ``value`` (an in-memory store applies this to every value)."""
    return decode_column(field, encode_column(field, value))


def session_from_row(row: Sequence[Any], to_datetime: Callable[[Any], datetime | None]) -> Session:
    """A row of :data:`SESSION_COLUMNS` → a ``Session`` (no conversation). ``to_datetime`` reads the stored
    times (``created_at``, ``updated_at``); ``last_activity`` is stored as Unix seconds."""
    last = row[22]
    return Session(
        id=row[0],
        working_dir=row[1],
        name=row[2],
        user_set_name=bool(row[3]),
        session_type=row[4],
        created_at=to_datetime(row[5]),
        updated_at=to_datetime(row[6]),
        extension_data=decode_column("extension_data", row[7]),
        total_tokens=row[8],
        input_tokens=row[9],
        output_tokens=row[10],
        accumulated_total_tokens=row[11],
        accumulated_input_tokens=row[12],
        accumulated_output_tokens=row[13],
        cached_input_tokens=row[14],
        cache_creation_input_tokens=row[15],
        schedule_id=row[16],
        recipe=decode_column("recipe", row[17]),
        user_recipe_values=decode_column("user_recipe_values", row[18]),
        provider_name=row[19],
        model_config=decode_column("model_config", row[20]),
        message_count=row[21],
        last_activity=None if last is None else _seconds(last),
    )


def _seconds(value: int) -> datetime:
    return from_us(value * 1_000_000)
