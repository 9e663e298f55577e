"""What a tool call answers: ``CallToolResult`` and its content kinds, in the seed's shape and in MCP's.

The seed's result is ``{"content": [...], "isError": bool, "_meta": {...}}`` with three content kinds told apart
by ``type``: ``text``, ``file`` (base64 data with its file type, MIME type and media/document properties) and
``struct`` (any JSON data with a name, schema and format). The builder helpers are the seed's
(``add_text`` … ``set_meta``), returning the result so calls chain. :meth:`CallToolResult.to_mcp` gives the same
result as an MCP client expects it, since MCP clients are where tools end up.

Content classes carry their ``type`` as a field (it is on the wire); it is filled in by the class itself, so
``TextContent(text="hi")`` is complete.
"""

from __future__ import annotations

import binascii
import dataclasses
import enum
import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, Self, TypeAlias

import attrs
from attrs import Factory

from pluginkit import wire
from pluginkit.tools._convert import jsonable
from pluginkit.wire._payload import payload, wire_field

__all__ = [
    "CallToolResult",
    "Content",
    "FileContent",
    "FileType",
    "StructContent",
    "TextContent",
    "error_result",
    "to_result",
]

#: Where pluginkit puts the details of the errors it reports inside results (``_meta`` key, MCP-style prefix).
ERROR_META = "pluginkit/error"


class FileType(enum.StrEnum):
    """The seed's file types (``FileContent.file_type``)."""

    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    ARCHIVE = "archive"
    CODE = "code"
    DATA = "data"
    OTHER = "other"


def _kind(obj: Any, kind: str) -> None:
    if not obj.type:
        obj.type = kind
    elif obj.type != kind:
        raise ValueError(f"{type(obj).__name__}.type is always {kind!r}, not {obj.type!r}")


def _b64(data: bytes | str) -> str:
    if isinstance(data, bytes | bytearray | memoryview):
        return binascii.b2a_base64(bytes(data), newline=False).decode("ascii")
    if not isinstance(data, str):
        raise TypeError(f"file data must be bytes or base64 text, not {type(data).__name__}")
    return data


@payload(case="snake")
class TextContent:
    """Text for the model (``{"type": "text", "text": ..., "name": ...}``)."""

    type: str = ""
    text: str = ""
    name: str = ""

    def __attrs_post_init__(self) -> None:
        _kind(self, "text")

    def to_mcp(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@payload(case="snake")
class FileContent:
    """A file: base64 ``data`` with its ``file_type`` (see :class:`FileType`) and MIME type, plus optional
    properties — image ``width``/``height``, media ``duration`` (seconds) and ``bitrate``, document
    ``page_count`` and ``author``, and ``size``, ``encoding``, ``checksum``, ``url``, ``metadata`` for any file.

    Build one with :meth:`of` / :meth:`image` / … (``data`` may be bytes; they are base64-encoded and ``size``
    filled in). The registry refuses file data that is not valid base64 or larger than its limit.
    """

    type: str = ""
    file_type: str = wire_field(default="", name="fileType")
    #: Base64 (standard alphabet, padded) of the file's bytes.
    data: str = ""
    mime_type: str = wire_field(default="", name="mimeType")
    name: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    duration: float = 0.0
    bitrate: int = 0
    page_count: int = wire_field(default=0, name="pageCount")
    author: str = ""
    encoding: str = ""
    checksum: str = ""
    url: str = ""
    metadata: dict[str, Any] = Factory(dict)

    def __attrs_post_init__(self) -> None:
        _kind(self, "file")
        if self.file_type:
            self.file_type = str(FileType(self.file_type))

    @classmethod
    def of(cls, file_type: FileType | str, data: bytes | str, mime_type: str, name: str = "") -> FileContent:
        """The seed's ``NewFileContent``: ``data`` as bytes or base64 text."""
        size = len(data) if isinstance(data, bytes | bytearray | memoryview) else 0
        return cls(file_type=str(FileType(file_type)), data=_b64(data), mime_type=mime_type, name=name, size=size)

    @classmethod
    def image(cls, data: bytes | str, mime_type: str, name: str = "") -> FileContent:
        return cls.of(FileType.IMAGE, data, mime_type, name)

    @classmethod
    def audio(cls, data: bytes | str, mime_type: str, name: str = "") -> FileContent:
        return cls.of(FileType.AUDIO, data, mime_type, name)

    @classmethod
    def video(cls, data: bytes | str, mime_type: str, name: str = "") -> FileContent:
        return cls.of(FileType.VIDEO, data, mime_type, name)

    @classmethod
    def document(cls, data: bytes | str, mime_type: str, name: str = "") -> FileContent:
        return cls.of(FileType.DOCUMENT, data, mime_type, name)

    def set_image_properties(self, width: int, height: int) -> Self:
        self.width, self.height = width, height
        return self

    def set_media_properties(self, duration: float, bitrate: int) -> Self:
        self.duration, self.bitrate = duration, bitrate
        return self

    def set_document_properties(self, page_count: int, author: str) -> Self:
        self.page_count, self.author = page_count, author
        return self

    def set_file_properties(self, size: int, encoding: str, checksum: str) -> Self:
        self.size, self.encoding, self.checksum = size, encoding, checksum
        return self

    def set_url(self, url: str) -> Self:
        self.url = url
        return self

    def set_metadata(self, metadata: Mapping[str, Any]) -> Self:
        self.metadata = dict(metadata)
        return self

    @property
    def raw(self) -> bytes:
        """The decoded bytes (raises ``ValueError`` when ``data`` is not valid base64)."""
        try:
            return binascii.a2b_base64(self.data, strict_mode=True)
        except binascii.Error as exc:
            raise ValueError(f"file {self.name or '(unnamed)'}: data is not valid base64 ({exc})") from None

    def check(self, max_bytes: int | None) -> None:
        """Refuse data that is not valid base64, or that decodes to more than ``max_bytes``: raises
        ``ValueError`` saying which file and why. The size is checked before decoding."""
        label = f"file {self.name!r}" if self.name else "a file"
        decoded = len(self.data) // 4 * 3 - self.data[-2:].count("=")
        if max_bytes is not None and decoded > max_bytes:
            raise ValueError(f"{label} is {decoded} bytes, over the limit of {max_bytes} bytes")
        try:
            binascii.a2b_base64(self.data, strict_mode=True)
        except binascii.Error:
            raise ValueError(f"{label} has data that is not valid base64") from None

    def to_mcp(self) -> dict[str, Any]:
        """Images and audio as MCP image/audio content; every other file as an embedded resource."""
        mime = self.mime_type or "application/octet-stream"
        if self.file_type in ("image", "audio"):
            out: dict[str, Any] = {"type": self.file_type, "data": self.data, "mimeType": mime}
        else:
            uri = self.url or f"pluginkit:file/{self.name or 'data'}"
            out = {"type": "resource", "resource": {"uri": uri, "mimeType": mime, "blob": self.data}}
        details = {
            k: v for k, v in wire.to_wire(self).items() if k not in ("type", "data", "mimeType", "fileType")
        }
        if self.file_type not in ("image", "audio"):
            details["fileType"] = self.file_type
        if details:
            out["_meta"] = {"pluginkit/file": details}
        return out


@payload(case="snake")
class StructContent:
    """Structured data (any JSON: an object, an array …) with an optional ``name``, ``schema`` (text of a
    schema describing it) and ``format`` (``json``, ``yaml`` …)."""

    type: str = ""
    data: Any = None
    name: str = ""
    schema: str = ""
    format: str = ""

    def __attrs_post_init__(self) -> None:
        _kind(self, "struct")
        cls = self.data.__class__
        if not (cls is dict or cls is list or self.data is None):
            self.data = jsonable(self.data)

    def set_schema(self, schema: str) -> Self:
        self.schema = schema
        return self

    def set_format(self, format: str) -> Self:
        self.format = format
        return self

    def to_mcp(self) -> dict[str, Any]:
        return {"type": "text", "text": json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))}


#: Any content kind.
Content: TypeAlias = TextContent | FileContent | StructContent
_CONTENT_CLASSES: dict[str, type[Any]] = {"text": TextContent, "file": FileContent, "struct": StructContent}
_CONTENT_TYPES = (TextContent, FileContent, StructContent)


def content_from_wire(item: Any, index: int) -> Content:
    """A content item given as JSON (a plugin's dict answer, another host's result) → its class."""
    if isinstance(item, TextContent | FileContent | StructContent):
        return item
    if not isinstance(item, Mapping):
        raise wire.WireError("expected a content object", ["content", index])
    kind = item.get("type")
    cls = _CONTENT_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise wire.WireError(f"unknown content type {kind!r} (text, file or struct)", ["content", index, "type"])
    try:
        return wire.from_wire(dict(item), cls)  # type: ignore[no-any-return]
    except wire.WireError as exc:
        exc.path[:0] = ["content", index]
        raise
    except ValueError as exc:
        raise wire.WireError(str(exc), ["content", index]) from None


@payload(case="snake")
class CallToolResult:
    """Result of ``tool.call``: ``content`` (text, file and struct items), ``is_error`` (``isError`` on the
    wire) and ``meta`` (``_meta``). A tool's failure is a result with ``is_error`` set, so the model sees it."""

    content: list[Any] = Factory(list)
    is_error: bool = wire_field(default=False, name="isError")
    meta: dict[str, Any] = wire_field(factory=dict, name="_meta")

    def __attrs_post_init__(self) -> None:
        content = self.content
        for index, item in enumerate(content):
            if item.__class__ not in (TextContent, FileContent, StructContent):
                content[index] = content_from_wire(item, index)

    @classmethod
    def error(cls, message: str) -> CallToolResult:
        """The seed's ``NewErrorResult``: one text content named ``error``, and ``isError``."""
        return cls(content=[TextContent(text=message, name="error")], is_error=True)

    # -- the seed's builder helpers ------------------------------------------------------------------------
    def add_text(self, text: str, name: str = "") -> Self:
        self.content.append(TextContent(text=text, name=name))
        return self

    def add_file(self, file_type: FileType | str, data: bytes | str, mime_type: str, name: str = "") -> Self:
        self.content.append(FileContent.of(file_type, data, mime_type, name))
        return self

    def add_image(self, data: bytes | str, mime_type: str, name: str = "") -> Self:
        return self.add_file(FileType.IMAGE, data, mime_type, name)

    def add_audio(self, data: bytes | str, mime_type: str, name: str = "") -> Self:
        return self.add_file(FileType.AUDIO, data, mime_type, name)

    def add_video(self, data: bytes | str, mime_type: str, name: str = "") -> Self:
        return self.add_file(FileType.VIDEO, data, mime_type, name)

    def add_document(self, data: bytes | str, mime_type: str, name: str = "") -> Self:
        return self.add_file(FileType.DOCUMENT, data, mime_type, name)

    def add_struct(self, data: Any, name: str = "") -> Self:
        """Add structured data: a dict, list, tuple, set, attrs instance or dataclass instance (like the seed,
        which refuses scalars — a number or a string belongs in a text content)."""
        if not _is_structured(data):
            kind = type(data).__name__
            raise TypeError(f"struct content must be a mapping, a sequence or a class instance, not {kind}")
        self.content.append(StructContent(data=jsonable(data), name=name))
        return self

    def set_error(self, is_error: bool = True) -> Self:
        self.is_error = is_error
        return self

    def set_meta(self, key: str, value: Any) -> Self:
        self.meta[key] = value
        return self

    # -- reading ----------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """Every text content, joined by newlines (what a model reads first)."""
        return "\n".join(c.text for c in self.content if c.__class__ is TextContent)

    @property
    def error_info(self) -> dict[str, Any]:
        """For errors pluginkit reported (invalid arguments, a failing tool, …): ``code`` and, for invalid
        arguments, ``field`` and ``rule``. Empty otherwise."""
        info = self.meta.get(ERROR_META)
        return dict(info) if isinstance(info, Mapping) else {}

    def to_wire(self) -> dict[str, Any]:
        """The seed's JSON shape (``content``, ``isError``, ``_meta``)."""
        data: dict[str, Any] = wire.to_wire(self)
        data.setdefault("content", [])
        return data

    def to_mcp(self) -> dict[str, Any]:
        """The MCP shape: text / image / audio / embedded-resource content, ``structuredContent`` from the struct
        contents (one object as it is; otherwise keyed by name), ``isError`` and ``_meta``."""
        structs = [c for c in self.content if c.__class__ is StructContent]
        out: dict[str, Any] = {"content": [c.to_mcp() for c in self.content], "isError": self.is_error}
        if len(structs) == 1 and isinstance(structs[0].data, dict):
            out["structuredContent"] = structs[0].data
        elif structs:
            keys = [s.name or f"result{i}" for i, s in enumerate(structs)]
            if len(set(keys)) != len(keys):
                keys = [f"result{i}" for i in range(len(structs))]
            out["structuredContent"] = {k: s.data for k, s in zip(keys, structs, strict=True)}
        if self.meta:
            out["_meta"] = wire.sanitize_json(self.meta)
        return out


def _is_structured(value: Any) -> bool:
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return True
    return attrs.has(value.__class__) or (dataclasses.is_dataclass(value) and not isinstance(value, type))


_new = object.__new__


def text_result(text: str) -> CallToolResult:
    """``CallToolResult(content=[TextContent(text=text)])`` without the constructors' checks (the hot path)."""
    item = _new(TextContent)
    item.type, item.text, item.name = "text", text, ""
    result = _new(CallToolResult)
    result.content, result.is_error, result.meta = [item], False, {}
    return result


def error_result(message: str, code: str, **details: Any) -> CallToolResult:
    """An ``isError`` result whose text is ``message`` and whose ``_meta`` says what pluginkit saw."""
    result = CallToolResult.error(message)
    result.meta[ERROR_META] = {"code": code, **details}
    return result


def to_result(value: Any) -> CallToolResult:
    """A tool's plain return value → a result: ``str`` → text, ``bytes`` → a file, dicts, lists, attrs
    classes and dataclasses → struct, numbers / dates / enums → text, a content item (or a list of them) → that
    content, ``None`` → no content. Raises ``TypeError`` for anything else."""
    cls = value.__class__
    if cls is str:
        return text_result(value)
    if cls is CallToolResult:
        return value  # type: ignore[no-any-return]
    if value is None:
        return CallToolResult()
    if cls in (TextContent, FileContent, StructContent):
        return CallToolResult(content=[value])
    if isinstance(value, bytes | bytearray | memoryview):
        return CallToolResult(content=[FileContent.of(FileType.OTHER, bytes(value), "application/octet-stream")])
    if isinstance(value, list) and value and all(c.__class__ in _CONTENT_TYPES for c in value):
        return CallToolResult(content=list(value))
    if isinstance(value, CallToolResult):
        return value
    if isinstance(value, str | bool | int | float | enum.Enum | datetime | date | time):
        data = jsonable(value)
        return text_result(data if isinstance(data, str) else json.dumps(data))
    if _is_structured(value):
        return CallToolResult(content=[StructContent(data=jsonable(value))])
    raise TypeError(f"a tool returned a {type(value).__name__}, which is not a result")
