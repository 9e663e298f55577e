"""Generated code is debuggable: its source is registered with linecache, so tracebacks and ``inspect`` show it."""

from __future__ import annotations

import inspect
import linecache
import traceback

import pytest

from pluginkit import types as t
from pluginkit import wire
from pluginkit.wire._codegen import compile_function
from pluginkit.wire._payload import builder, copier, zero_test


def test_a_traceback_through_generated_code_shows_its_line() -> None:
    source = "def divide(a, b):\n    return a / b  # the generated line\n"
    divide = compile_function(source, "divide", {}, "test division")
    with pytest.raises(ZeroDivisionError) as caught:
        divide(1, 0)
    text = "".join(traceback.format_exception(caught.value))
    assert "return a / b  # the generated line" in text
    assert "<pluginkit generated test division #" in text


def test_each_generated_function_has_a_file_name_of_its_own() -> None:
    first = compile_function("def f():\n    return 1\n", "f", {}, "same purpose")
    second = compile_function("def f():\n    return 2\n", "f", {}, "same purpose")
    assert first.__code__.co_filename != second.__code__.co_filename
    assert inspect.getsource(first) == "def f():\n    return 1\n"
    assert inspect.getsource(second) == "def f():\n    return 2\n"


@pytest.mark.parametrize(
    "generated",
    [
        builder(t.RequestTranslateRequest, "from_format", "to_format", "model", "stream", "body"),
        copier(t.ExecutorRequest),
        zero_test(t.BodyResult),
    ],
    ids=["builder", "copier", "zero test"],
)
def test_payload_helpers_are_registered_with_linecache(generated: object) -> None:
    filename = generated.__code__.co_filename  # type: ignore[attr-defined]
    assert filename.startswith("<pluginkit generated ")
    assert linecache.getlines(filename), "the generated source is not in linecache"
    assert inspect.getsource(generated).startswith("def ")  # type: ignore[arg-type]


def test_wire_hooks_are_registered_with_linecache() -> None:
    hook = wire.converter.get_structure_hook(t.SchedulerPickRequest)
    assert hook.__code__.co_filename.startswith("<pluginkit generated wire hook")
    with pytest.raises(wire.WireError):
        wire.from_wire({"Candidates": [{"Priority": "high"}]}, t.SchedulerPickRequest)
    assert "def " in inspect.getsource(hook)
