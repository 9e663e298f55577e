"""Results: every content kind on the wire (the seed's field names), the builder helpers, plain return values,
and the MCP shape."""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from datetime import date

import attrs
import pytest

from pluginkit import wire
from pluginkit.tools import (
    CallToolResult,
    FileContent,
    FileType,
    StructContent,
    TextContent,
    to_result,
)


def round_trip(result: CallToolResult) -> CallToolResult:
    back = wire.decode(wire.encode(result), CallToolResult)
    assert back == result
    return back


def test_text_content() -> None:
    result = CallToolResult().add_text("hello", "greeting")
    assert result.to_wire() == {"content": [{"type": "text", "text": "hello", "name": "greeting"}]}
    assert round_trip(result).content[0] == TextContent(text="hello", name="greeting")
    assert result.text == "hello"


def test_file_content_every_field_by_its_seed_name() -> None:
    item = (
        FileContent.of(FileType.VIDEO, b"\x00\x01", "video/mp4", "clip.mp4")
        .set_image_properties(640, 480)
        .set_media_properties(12.5, 800)
        .set_document_properties(3, "Ada")
        .set_file_properties(2, "binary", "sha256:ab")
        .set_url("https://example.com/clip.mp4")
        .set_metadata({"codec": "h264"})
    )
    assert wire.to_wire(item) == {
        "type": "file", "fileType": "video", "data": "AAE=", "mimeType": "video/mp4", "name": "clip.mp4",
        "size": 2, "width": 640, "height": 480, "duration": 12.5, "bitrate": 800, "pageCount": 3, "author": "Ada",
        "encoding": "binary", "checksum": "sha256:ab", "url": "https://example.com/clip.mp4",
        "metadata": {"codec": "h264"},
    }
    assert item.raw == b"\x00\x01"
    assert round_trip(CallToolResult(content=[item])).content[0] == item


@pytest.mark.parametrize(
    ("add", "file_type"),
    [("add_image", "image"), ("add_audio", "audio"), ("add_video", "video"), ("add_document", "document")],
)
def test_file_helpers(add: str, file_type: str) -> None:
    result = getattr(CallToolResult(), add)("aGk=", "x/y", "f")
    assert result.to_wire()["content"] == [
        {"type": "file", "fileType": file_type, "data": "aGk=", "mimeType": "x/y", "name": "f"}
    ]
    maker = getattr(FileContent, file_type)
    assert maker(b"hi", "x/y", "f").data == "aGk="


@pytest.mark.parametrize("file_type", [t.value for t in FileType])
def test_every_file_type(file_type: str) -> None:
    result = CallToolResult().add_file(file_type, b"data", "application/octet-stream")
    assert round_trip(result).content[0].file_type == file_type
    with pytest.raises(ValueError, match="is not a valid FileType"):
        FileContent(file_type="spreadsheet")


def test_struct_content() -> None:
    @attrs.define
    class Row:
        id: int
        tags: list[str]

    result = CallToolResult().add_struct({"a": 1}, "one").add_struct([Row(1, ["x"])])
    result.content[0].set_schema('{"type": "object"}').set_format("json")
    assert result.to_wire()["content"] == [
        {"type": "struct", "data": {"a": 1}, "name": "one", "schema": '{"type": "object"}', "format": "json"},
        {"type": "struct", "data": [{"id": 1, "tags": ["x"]}]},
    ]
    round_trip(result)
    with pytest.raises(TypeError, match="struct content must be"):
        CallToolResult().add_struct(5)


def test_error_and_meta() -> None:
    result = CallToolResult.error("it broke").set_meta("trace", "t-1")
    assert result.to_wire() == {
        "content": [{"type": "text", "text": "it broke", "name": "error"}], "isError": True, "_meta": {"trace": "t-1"}
    }
    assert CallToolResult().set_error().is_error and not CallToolResult().set_error(False).is_error
    assert CallToolResult().to_wire() == {"content": []}


def test_results_from_the_wire_are_typed_and_checked() -> None:
    data = {"content": [{"type": "text", "text": "a"}, {"type": "struct", "data": [1]},
                        {"type": "file", "fileType": "image", "data": "aGk=", "mimeType": "image/png"}],
            "isError": True, "_meta": {"k": 1}}
    result = wire.from_wire(data, CallToolResult)
    assert [type(c) for c in result.content] == [TextContent, StructContent, FileContent]
    assert result.is_error and result.meta == {"k": 1}
    with pytest.raises(wire.WireError, match=r"content\[0\].type: unknown content type 'video'"):
        wire.from_wire({"content": [{"type": "video"}]}, CallToolResult)
    with pytest.raises(wire.WireError, match=r"content\[1\]: expected a content object"):
        wire.from_wire({"content": [{"type": "text"}, "text"]}, CallToolResult)
    with pytest.raises(wire.WireError, match=r"content\[0\].text: expected string"):
        wire.from_wire({"content": [{"type": "text", "text": 3}]}, CallToolResult)
    with pytest.raises(ValueError, match="always 'text'"):
        TextContent(type="file")


def test_plain_return_values_become_results() -> None:
    class Mood(enum.Enum):
        HAPPY = "happy"

    @dataclasses.dataclass
    class Answer:
        value: int
        when: date

    assert to_result("hi").content == [TextContent(text="hi")]
    assert to_result(None).content == []
    assert to_result(42).text == "42" and to_result(2.5).text == "2.5" and to_result(True).text == "true"
    assert to_result(Mood.HAPPY).text == "happy" and to_result(date(2024, 1, 2)).text == "2024-01-02"
    assert to_result({"a": [1, 2]}).content == [StructContent(data={"a": [1, 2]})]
    assert to_result([1, 2]).content == [StructContent(data=[1, 2])]
    assert to_result(Answer(1, date(2024, 1, 2))).content[0].data == {"value": 1, "when": "2024-01-02"}
    file = to_result(b"\x00")
    assert file.content[0].file_type == "other" and file.content[0].raw == b"\x00"
    text = TextContent(text="t")
    assert to_result(text).content == [text]
    assert to_result([text, text]).content == [text, text]
    same = CallToolResult()
    assert to_result(same) is same
    with pytest.raises(TypeError, match="not a result"):
        to_result(object())
    with pytest.raises(TypeError, match="which JSON cannot carry"):
        to_result({"x": float("nan")})


def test_mcp_shape() -> None:
    pdf = base64.b64encode(b"%PDF").decode()
    result = (
        CallToolResult()
        .add_text("t")
        .add_image("aGk=", "image/png", "p.png")
        .add_audio("aGk=", "audio/wav")
        .add_document(pdf, "application/pdf", "a.pdf")
        .add_struct({"n": 1})
        .set_meta("k", "v")
    )
    result.content[2].set_media_properties(1.5, 0)
    mcp = result.to_mcp()
    assert mcp == {
        "content": [
            {"type": "text", "text": "t"},
            {"type": "image", "data": "aGk=", "mimeType": "image/png", "_meta": {"pluginkit/file": {"name": "p.png"}}},
            {"type": "audio", "data": "aGk=", "mimeType": "audio/wav", "_meta": {"pluginkit/file": {"duration": 1.5}}},
            {"type": "resource",
             "resource": {"uri": "pluginkit:file/a.pdf", "mimeType": "application/pdf", "blob": pdf},
             "_meta": {"pluginkit/file": {"name": "a.pdf", "fileType": "document"}}},
            {"type": "text", "text": '{"n":1}'},
        ],
        "structuredContent": {"n": 1},
        "isError": False,
        "_meta": {"k": "v"},
    }
    several = CallToolResult().add_struct([1], "xs").add_struct({"a": 1}, "obj").to_mcp()
    assert several["structuredContent"] == {"xs": [1], "obj": {"a": 1}}
    assert CallToolResult().add_struct([1]).to_mcp()["structuredContent"] == {"result0": [1]}
    assert CallToolResult.error("no").to_mcp() == {"content": [{"type": "text", "text": "no"}], "isError": True}
    mcp_types = pytest.importorskip("mcp.types")
    validated = mcp_types.CallToolResult.model_validate(mcp)
    assert json.loads(validated.content[4].text) == {"n": 1}


def test_file_checks() -> None:
    good = FileContent.image(b"x" * 100, "image/png", "a.png")
    good.check(100)
    with pytest.raises(ValueError, match=r"file 'a\.png' is 100 bytes, over the limit of 99 bytes"):
        good.check(99)
    with pytest.raises(ValueError, match="not valid base64"):
        FileContent(file_type="data", data="@@@@").check(None)
    with pytest.raises(ValueError, match="not valid base64"):
        FileContent(file_type="data", data="aGk").check(None)  # missing padding
