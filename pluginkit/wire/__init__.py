"""The one JSON converter of pluginkit.

Everything that crosses the wire — ``invoke`` with dicts or JSON, the command line, conformance vectors — goes
through :data:`converter`, a :class:`cattrs.Converter` whose hooks for payload classes are generated here, once
per class, as straight-line Python.  In-process calls never come here: plugins receive typed objects.

Wire rules (the seed's, see ``docs/wire.md``):

* keys are the payload class's wire names (PascalCase or snake_case, see :mod:`pluginkit.wire._payload`); on input,
  keys are matched exactly first and then case-insensitively, as Go's ``encoding/json`` does, and unknown keys
  are ignored;
* ``bytes`` are standard base64 strings; headers are ``{"Key": ["v1", "v2"]}``; times are RFC 3339 (Go's zero
  time is ``None``); durations are integer nanoseconds (plain ``int`` fields named ``*_ns``);
* ``null`` or a missing key leaves a field at its default; fields holding their default are left out on output
  (Go decoders read an absent key as the zero value, so this is wire-compatible and compact);
* free-form ``Metadata`` values that are not JSON (functions, sockets, NaN) are dropped on output, never raised;
* wrong input raises :class:`WireError` whose message names the path: ``Candidates[1].Priority: expected int``.
"""

from __future__ import annotations

from pluginkit.wire._codec import converter, decode, encode, from_wire, structure, to_wire
from pluginkit.wire._envelope import Envelope, ErrorInfo
from pluginkit.wire._scalars import WireError, check_text, dumps, format_time, loads, parse_time, sanitize_json

__all__ = [
    "Envelope",
    "ErrorInfo",
    "WireError",
    "check_text",
    "converter",
    "decode",
    "dumps",
    "encode",
    "format_time",
    "from_wire",
    "loads",
    "parse_time",
    "sanitize_json",
    "structure",
    "to_wire",
]
