"""Property tests: every payload type round-trips, and no input makes a decoder raise anything but WireError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pluginkit import abi, types, wire
from pluginkit.errors import InvalidRequest
from pluginkit.wire._payload import is_payload
from tests.strategies import for_type, json_values, wire_shaped

PAYLOAD_TYPES = sorted(
    {getattr(types, n) for n in types.__all__ if is_payload(getattr(types, n))}, key=lambda c: c.__name__
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_table_type_is_a_payload() -> None:
    for method in abi.METHODS.values():
        assert is_payload(method.params), method.name
        assert is_payload(method.result), method.name
        if method.name in abi.SEED_METHODS:  # the seed ABI's types are all in pluginkit.types
            assert method.params in PAYLOAD_TYPES and method.result in PAYLOAD_TYPES, method.name


@pytest.mark.parametrize("tp", PAYLOAD_TYPES, ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_typed_to_json_to_typed_is_identity(tp: type, data: st.DataObject) -> None:
    value = data.draw(for_type(tp))
    assert wire.from_wire(wire.to_wire(value), tp) == value
    assert wire.decode(wire.encode(value), tp) == value


@pytest.mark.parametrize("method", list(abi.METHODS.values()), ids=lambda m: m.name)
@FAST
@given(data=st.data())
def test_any_json_gives_params_or_invalid_request(method: abi.Method, data: st.DataObject) -> None:
    raw = data.draw(json_values | wire_shaped(method.params))
    for candidate in (raw, wire.dumps(raw)):
        try:
            value = method.parse_params(candidate)
        except InvalidRequest as exc:
            assert exc.code == "invalid_request"
            assert exc.message
        else:
            assert isinstance(value, method.params)
            wire.encode(value)  # whatever was accepted can be written back


@FAST
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_escape_as_another_exception(blob: bytes) -> None:
    with contextlib.suppress(InvalidRequest):
        abi.get("scheduler.pick").parse_params(blob)
