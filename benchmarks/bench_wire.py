"""Wire round trip: JSON bytes -> typed object -> JSON bytes, the work of every out-of-process call.

pluginkit's converter (:mod:`pluginkit.wire`) is compared with pydantic v2 models of the same shape (the usual
alternative a plugin author would reach for) and with untyped ``json``/``orjson`` round trips (the floor: parsing
and writing without building or checking anything).  Target: pluginkit takes at most 1.5x pydantic's time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from benchmarks._harness import Table, measurer
from pluginkit import wire
from pluginkit.types import (
    ConfigField,
    ExecutorRequest,
    PluginMetadata,
    SchedulerCandidate,
    SchedulerOptions,
    SchedulerPickRequest,
)
from pluginkit.wire._payload import is_payload, wire_names

BASELINE = "pydantic v2"
TARGET = 1.5  # pluginkit may take at most this multiple of pydantic's time

# --------------------------------------------------------------------------------------------------------------
# pydantic models mirroring the payload classes: same wire keys, same defaults, bytes as standard base64.
# Base64Bytes, not ConfigDict(ser_json_bytes="base64"): pydantic-core writes the URL-safe alphabet there, which
# is not what the Go side reads.
# --------------------------------------------------------------------------------------------------------------

Headers = dict[str, list[str]]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class PConfigField(_Model):
    name: str = Field(default="", alias="Name")
    type: str = Field(default="", alias="Type")
    enum_values: list[str] = Field(default_factory=list, alias="EnumValues")
    description: str = Field(default="", alias="Description")


class PPluginMetadata(_Model):
    name: str = Field(default="", alias="Name")
    version: str = Field(default="", alias="Version")
    author: str = Field(default="", alias="Author")
    github_repository: str = Field(default="", alias="GitHubRepository")
    logo: str = Field(default="", alias="Logo")
    config_fields: list[PConfigField] = Field(default_factory=list, alias="ConfigFields")


class PExecutorRequest(_Model):
    auth_id: str = Field(default="", alias="AuthID")
    auth_provider: str = Field(default="", alias="AuthProvider")
    model: str = Field(default="", alias="Model")
    format: str = Field(default="", alias="Format")
    stream: bool = Field(default=False, alias="Stream")
    alt: str = Field(default="", alias="Alt")
    headers: Headers = Field(default_factory=dict, alias="Headers")
    query: Headers = Field(default_factory=dict, alias="Query")
    original_request: Base64Bytes = Field(default=b"", alias="OriginalRequest")
    source_format: str = Field(default="", alias="SourceFormat")
    payload: Base64Bytes = Field(default=b"", alias="Payload")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="Metadata")
    storage_json: Base64Bytes = Field(default=b"", alias="StorageJSON")
    auth_metadata: dict[str, Any] = Field(default_factory=dict, alias="AuthMetadata")
    auth_attributes: dict[str, str] = Field(default_factory=dict, alias="AuthAttributes")
    stream_id: str = Field(default="", alias="stream_id")
    host_callback_id: str = Field(default="", alias="host_callback_id")


class PSchedulerOptions(_Model):
    headers: Headers = Field(default_factory=dict, alias="Headers")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="Metadata")


class PSchedulerCandidate(_Model):
    id: str = Field(default="", alias="ID")
    provider: str = Field(default="", alias="Provider")
    priority: int = Field(default=0, alias="Priority")
    status: str = Field(default="", alias="Status")
    attributes: dict[str, str] = Field(default_factory=dict, alias="Attributes")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="Metadata")


class PSchedulerPickRequest(_Model):
    plugin: PPluginMetadata = Field(default_factory=PPluginMetadata, alias="Plugin")
    provider: str = Field(default="", alias="Provider")
    providers: list[str] = Field(default_factory=list, alias="Providers")
    model: str = Field(default="", alias="Model")
    stream: bool = Field(default=False, alias="Stream")
    options: PSchedulerOptions = Field(default_factory=PSchedulerOptions, alias="Options")
    candidates: list[PSchedulerCandidate] = Field(default_factory=list, alias="Candidates")


MIRRORS: dict[type, type[BaseModel]] = {
    ConfigField: PConfigField,
    PluginMetadata: PPluginMetadata,
    ExecutorRequest: PExecutorRequest,
    SchedulerOptions: PSchedulerOptions,
    SchedulerCandidate: PSchedulerCandidate,
    SchedulerPickRequest: PSchedulerPickRequest,
}


def check_mirrors() -> None:
    """Fail loudly when a payload class gains or renames a field the pydantic mirror lacks."""
    for cls, model in MIRRORS.items():
        ours = list(wire_names(cls).values()) if is_payload(cls) else None
        theirs = [info.alias for info in model.model_fields.values()]
        if ours != theirs:
            raise AssertionError(f"{model.__name__} does not mirror {cls.__name__}: {ours} != {theirs}")


# --------------------------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------------------------

_SYSTEM = "You are a careful assistant. Answer concisely, cite the file and line you rely on, and say so when unsure."
_QUESTION = (
    "Here is a stack trace from our gateway: `KeyError: 'Authorization'` raised in executor.execute when the "
    "client sends a lower-case header. Why would header lookups be case-sensitive there, and what is the "
    "smallest fix that keeps Go-compatible canonical header names on the wire?"
)
_ANSWER = (
    "The headers travel as a plain JSON object, so their keys keep whatever case the client used; Go's "
    "http.Header canonicalises keys, Python's dict does not."
)


def openai_chat_body() -> bytes:
    """A ~1 KB OpenAI chat completion request, the client's original body."""
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": _QUESTION},
            {"role": "assistant", "content": _ANSWER},
            {"role": "user", "content": "Show the fix as a diff, please."},
        ],
        "temperature": 0.2,
        "top_p": 1,
        "max_tokens": 1024,
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "user-7f3c2a",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def claude_messages_body() -> bytes:
    """The same conversation translated to a ~1 KB Anthropic messages request (the executor's input)."""
    body = {
        "model": "claude-3-5-haiku-20241022",
        "system": [{"type": "text", "text": _SYSTEM}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": _QUESTION}]},
            {"role": "assistant", "content": [{"type": "text", "text": _ANSWER}]},
            {"role": "user", "content": [{"type": "text", "text": "Show the fix as a diff, please."}]},
        ],
        "max_tokens": 1024,
        "temperature": 0.2,
        "stream": True,
        "metadata": {"user_id": "user-7f3c2a"},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def executor_request() -> ExecutorRequest:
    return ExecutorRequest(
        auth_id="claude-oauth-3f9a1c.json",
        auth_provider="claude",
        model="claude-3-5-haiku-20241022",
        format="openai",
        stream=True,
        headers={
            "Content-Type": ["application/json"],
            "Accept": ["text/event-stream"],
            "User-Agent": ["OpenAI/Python 1.54.3"],
            "X-Request-Id": ["req_01JD3W5K8QX7YH2M4N6P9R0T1V"],
        },
        original_request=openai_chat_body(),
        source_format="claude",
        payload=claude_messages_body(),
        metadata={"request_id": "req_01JD3W5K8QX7YH2M4N6P9R0T1V", "retry": 1, "client_ip": "10.0.3.17"},
        host_callback_id="42",
    )


def scheduler_pick_request(candidates: int = 20) -> SchedulerPickRequest:
    return SchedulerPickRequest(
        provider="gemini",
        providers=["gemini"],
        model="gemini-2.5-pro",
        stream=True,
        options=SchedulerOptions(
            headers={"User-Agent": ["curl/8.5.0"], "X-Session": ["s-18c2"]},
            metadata={"request_id": "req_01JD3W5K8QX7YH2M4N6P9R0T1V", "retry": 0},
        ),
        candidates=[
            SchedulerCandidate(
                id=f"gemini-{index:02d}@example.com.json",
                provider="gemini",
                priority=10,
                status="active",
                attributes={"project_id": f"proj-{index:04d}", "tier": "standard"},
                metadata={"last_used_unix": 1_732_170_000 + 37 * index},
            )
            for index in range(candidates)
        ],
    )


# --------------------------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------------------------


def round_trips(data: bytes, tp: type[Any]) -> dict[str, Callable[[], object]]:
    """The cases of one table, each a zero-argument function doing one full round trip of ``data``."""
    model = MIRRORS[tp]
    encode, decode = wire.encode, wire.decode
    validate = model.model_validate_json

    def pluginkit_rt() -> bytes:
        return encode(decode(data, tp))

    def pydantic_rt() -> str:
        return validate(data).model_dump_json(by_alias=True, exclude_defaults=True)

    def json_rt() -> bytes:
        return json.dumps(json.loads(data), separators=(",", ":")).encode()

    def orjson_rt() -> bytes:
        return orjson.dumps(orjson.loads(data))

    # Same answer before timing: the pydantic mirror must do the work pluginkit does, not less.
    # Checked with `if`, not `assert`, so `python -O` cannot skip it.
    expected = json.loads(data)
    if pluginkit_rt() != data:
        raise AssertionError(f"pluginkit round trip of {tp.__name__} is not the identity on its own output")
    if not json.loads(pydantic_rt()) == json.loads(pluginkit_rt()) == expected:
        raise AssertionError(f"pydantic output for {tp.__name__} differs from pluginkit's")
    if not json.loads(json_rt()) == json.loads(orjson_rt()) == expected:
        raise AssertionError("untyped round trips changed the document")
    return {
        "pluginkit wire": pluginkit_rt,
        BASELINE: pydantic_rt,
        "json (untyped)": json_rt,
        "orjson (untyped)": orjson_rt,
    }


def run(quick: bool) -> list[Table]:
    check_mirrors()
    measure = measurer(quick)
    tables = []
    for title, value in (
        ("ExecutorRequest (chat, 2 x 1 KB bodies)", executor_request()),
        ("SchedulerPickRequest (20 candidates)", scheduler_pick_request()),
    ):
        data = wire.encode(value)
        table = Table(f"wire round trip: {title}, {len(data)} B", baseline=BASELINE)
        for case, fn in round_trips(data, type(value)).items():
            table.add(case, measure(fn), target=TARGET if case == "pluginkit wire" else None)
        tables.append(table)
    return tables
