"""Tools defined from typed functions: the derived schema, descriptions from docstrings, arguments converted back
to the parameters' types, sync and async, and the ToolSet's own hooks."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

import attrs
import pytest
from jsonschema import Draft202012Validator

import pluginkit
from pluginkit import PluginContext
from pluginkit.tools import SchemaError, Tool, ToolCallRequest, ToolSet, new_tool, string
from pluginkit.tools._from_function import derive, parse_docstring


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


@attrs.define
class Box:
    """A box.

    Attributes:
        label: what is written on it
    """

    label: str
    corners: list[Point] = attrs.Factory(list)
    weight: int = attrs.field(default=1, metadata={"description": "kilograms"})


@attrs.define
class Node:
    next: Node | None = None


def props(function: Any) -> dict[str, Any]:
    schema = derive(function).input_schema
    Draft202012Validator.check_schema(schema)
    return schema["properties"]  # type: ignore[no-any-return]


def test_scalar_types_defaults_and_required() -> None:
    def f(s: str, i: int, x: float, b: bool, n: None, a: Any, opt: str = "d", flag: bool = False) -> None: ...

    schema = derive(f).input_schema
    assert schema["required"] == ["s", "i", "x", "b", "n", "a"]
    assert schema["additionalProperties"] is False
    assert schema["properties"] == {
        "s": {"type": "string"},
        "i": {"type": "integer"},
        "x": {"type": "number"},
        "b": {"type": "boolean"},
        "n": {"type": "null"},
        "a": {},
        "opt": {"type": "string", "default": "d"},
        "flag": {"type": "boolean", "default": False},
    }


def test_containers_literals_enums_unions() -> None:
    def f(
        tags: list[str],
        pair: tuple[int, str],
        many: tuple[float, ...],
        unique: set[int],
        scores: dict[str, float],
        mode: Literal["fast", "slow"],
        mixed: Literal[1, "one"],
        colour: Colour,
        level: Level,
        maybe: int | None,
        either: int | str,
    ) -> None: ...

    p = props(f)
    assert p["tags"] == {"type": "array", "items": {"type": "string"}}
    assert p["pair"] == {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False,
                         "minItems": 2}
    assert p["many"] == {"type": "array", "items": {"type": "number"}}
    assert p["unique"] == {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    assert p["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert p["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert p["mixed"] == {"enum": [1, "one"]}
    assert p["colour"] == {"type": "string", "enum": ["red", "blue"]}
    assert p["level"] == {"type": "integer", "enum": [1, 2]}
    assert p["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert p["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def test_classes_dates_and_annotated() -> None:
    def f(
        box: Box,
        when: datetime,
        day: date,
        at: time,
        ident: uuid.UUID,
        blob: bytes,
        count: Annotated[int, "how many", {"minimum": 1}] = 1,
    ) -> None: ...

    p = props(f)
    assert p["box"] == {
        "type": "object",
        "description": "A box.",
        "properties": {
            "label": {"type": "string", "description": "what is written on it"},
            "corners": {
                "type": "array",
                "items": {"type": "object", "properties": {"x": {"type": "number"},
                                                           "y": {"type": "number", "default": 0.0}},
                          "required": ["x"], "additionalProperties": False},
                "default": [],
            },
            "weight": {"type": "integer", "description": "kilograms", "default": 1},
        },
        "required": ["label"],
        "additionalProperties": False,
    }
    assert p["when"] == {"type": "string", "format": "date-time"}
    assert p["day"] == {"type": "string", "format": "date"}
    assert p["at"] == {"type": "string", "format": "time"}
    assert p["ident"] == {"type": "string", "format": "uuid"}
    assert p["blob"] == {"type": "string", "contentEncoding": "base64"}
    assert p["count"] == {"type": "integer", "description": "how many", "minimum": 1, "default": 1}


@pytest.mark.parametrize(
    "doc",
    [
        """Add two numbers.

        Longer text.

        Args:
            a: the first
                number
            b (int): the second

        Returns:
            the sum
        """,
        """Add two numbers.

        Longer text.

        Parameters
        ----------
        a : int
            the first
            number
        b : int
            the second

        Returns
        -------
        int
        """,
        """Add two numbers.

        Longer text.

        :param a: the first
            number
        :param int b: the second
        :returns: the sum
        """,
    ],
    ids=["google", "numpy", "rest"],
)
def test_docstring_styles(doc: str) -> None:
    summary, params = parse_docstring(doc)
    assert summary == "Add two numbers.\n\nLonger text."
    assert params == {"a": "the first number", "b": "the second"}


def test_parameters_that_cannot_be_arguments_are_refused() -> None:
    def star(*args: int) -> None: ...
    def kw(**kwargs: int) -> None: ...
    def private(_x: int) -> None: ...
    def positional(x: int, /) -> None: ...
    def weird(x: complex) -> None: ...
    def int_keys(x: dict[int, str]) -> None: ...

    for function, message in [
        (star, "named parameters"), (kw, "named parameters"), (private, "private"),
        (positional, "positional-only"), (weird, "no JSON form"), (int_keys, "keys are strings"),
    ]:
        with pytest.raises(SchemaError, match=message):
            derive(function)

    def recursive(node: Node) -> None: ...

    with pytest.raises(SchemaError, match="recursive types"):
        derive(recursive)


def test_arguments_become_the_parameters_types() -> None:
    seen: dict[str, Any] = {}
    tools = ToolSet()

    @tools.tool
    def record(
        box: Box, colour: Colour, when: datetime, n: int, levels: list[Level], maybe: Point | None = None
    ) -> str:
        seen.update(box=box, colour=colour, when=when, n=n, levels=levels, maybe=maybe)
        return "ok"

    result = tools.call("record", {
        "box": {"label": "l", "corners": [{"x": 1, "y": 2}]}, "colour": "blue", "when": "2024-05-01T10:00:00+02:00",
        "n": 3.0, "levels": [2, 1],
    })
    assert result.text == "ok", result.text
    assert seen["box"] == Box(label="l", corners=[Point(1, 2)])
    assert seen["colour"] is Colour.BLUE and seen["levels"] == [Level.HIGH, Level.LOW]
    assert seen["when"] == datetime.fromisoformat("2024-05-01T10:00:00+02:00")
    assert seen["n"] == 3 and type(seen["n"]) is int and seen["maybe"] is None


def test_context_is_injected_not_an_argument() -> None:
    tools = ToolSet("ctx-tools")

    @tools.tool
    def whoami(ctx: PluginContext, greeting: str = "hi") -> str:
        return f"{greeting} from {ctx.plugin_id} ({ctx.config.get('tone', 'plain')})"

    assert "ctx" not in tools.get("whoami").tool.input_schema["properties"]  # type: ignore[union-attr]
    manager = pluginkit.PluginManager(entry_points=False)
    manager.register(tools, settings={"tone": "warm"})
    try:
        answer = manager.call("tool.call", ToolCallRequest(name="whoami", arguments={}))
        assert answer.text == "hi from ctx-tools (warm)"
    finally:
        manager.shutdown()


def test_sync_and_async_tools_and_names() -> None:
    tools = ToolSet()

    @tools.tool(name="double", description="Twice x.")
    async def twice(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    @tools.tool
    def plain(x: int) -> int:
        return x + 1

    assert [t.name for t in tools.tools()] == ["double", "plain"]
    assert tools.tools()[0].description == "Twice x."
    assert tools.call("double", {"x": 4}).text == "8"
    assert asyncio.run(tools.tool_call(ToolCallRequest(name="double", arguments={"x": 1}), None)).text == "2"
    assert tools.call("plain", {"x": 1}).text == "2"
    with pytest.raises(SchemaError, match="defined twice"):
        tools.add(plain)
    with pytest.raises(pluginkit.PluginError) as caught:
        tools.call("missing")
    assert caught.value.code == "not_found"


def test_explicit_schema_tools() -> None:
    tools = ToolSet()
    definition = new_tool("echo", "Echo.", string("text", required=True))
    tools.add(definition, lambda text: text.upper())
    assert tools.call("echo", {"text": "hi"}).text == "HI"
    assert tools.tools() == [definition]

    def too_few(other: str) -> str:
        return other

    with pytest.raises(SchemaError, match="no parameter for 'text'"):
        tools.add(new_tool("e2", "", string("text")), too_few)
    with pytest.raises(SchemaError, match="needs the function"):
        tools.add(Tool(name="x"))

    @tools.tool(schema=new_tool("kw", "", schema={"type": "object", "properties": {"a-b": {"type": "integer"}}}))
    def anything(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    assert tools.call("kw", {"a-b": 1}).content[0].data == {"a-b": 1}


def test_a_sync_tool_returning_a_coroutine_is_an_error() -> None:
    tools = ToolSet()

    async def inner() -> str:
        return "x"

    @tools.tool
    def wrong() -> Any:
        return inner()

    assert tools.call("wrong").is_error
