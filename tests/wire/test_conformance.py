"""Literal JSON in the seed ABI's shapes: decoding then encoding gives the same JSON (key order aside)."""

from __future__ import annotations

import base64
import json

import pytest

from pluginkit import Envelope, ErrorInfo, abi, types, wire

REGISTRATION_ALL_CAPABILITIES = """
{
  "schema_version": 1,
  "metadata": {
    "Name": "all-in-one",
    "Version": "1.2.3",
    "Author": "pluginkit",
    "GitHubRepository": "https://github.com/example/all-in-one",
    "Logo": "https://example.com/logo.png",
    "ConfigFields": [
      {"Name": "auth_id", "Type": "string", "Description": "Credential to pin"},
      {"Name": "delegate", "Type": "enum", "EnumValues": ["fill-first", "round-robin"],
       "Description": "Built-in selector to delegate to"}
    ]
  },
  "capabilities": {
    "model_registrar": true,
    "model_provider": true,
    "auth_provider": true,
    "frontend_auth_provider": true,
    "frontend_auth_provider_exclusive": true,
    "scheduler": true,
    "executor": true,
    "executor_model_scope": "both",
    "executor_input_formats": ["openai", "claude"],
    "executor_output_formats": ["openai"],
    "request_translator": true,
    "request_normalizer": true,
    "request_interceptor": true,
    "response_translator": true,
    "response_before_translator": true,
    "response_after_translator": true,
    "response_interceptor": true,
    "response_stream_interceptor": true,
    "thinking_applier": true,
    "usage_plugin": true,
    "command_line_plugin": true,
    "management_api": true
  }
}
"""

SCHEDULER_PICK_REQUEST = """
{
  "Plugin": {"Name": "scheduler", "Version": "1.0.0", "Author": "test",
             "GitHubRepository": "https://github.com/router-for-me/CLIProxyAPI"},
  "Provider": "openai",
  "Providers": ["openai", "codex"],
  "Model": "gpt-5.4",
  "Stream": true,
  "Options": {"Headers": {"X-Test": ["one", "two"]}, "Metadata": {"keep": "value"}},
  "Candidates": [
    {"ID": "auth-1", "Provider": "openai", "Priority": 10, "Status": "ready", "Attributes": {"region": "us"}},
    {"ID": "auth-2", "Provider": "codex", "Priority": 20, "Status": "ready", "Attributes": {"region": "eu"},
     "Metadata": {"keep": "candidate"}}
  ]
}
"""

SCHEDULER_PICK_RESULT = '{"AuthID": "auth-2", "Handled": true}'
SCHEDULER_DELEGATE_RESULT = '{"DelegateBuiltin": "round-robin", "Handled": true}'

EXECUTE_STREAM_RESULT = """
{
  "headers": {"content-type": ["text/event-stream"]},
  "chunks": [
    {"Payload": "ZGF0YTogeyJ0ZXh0IjoiSGVsbG8ifQoK"},
    {"Payload": "ZGF0YTogeyJ0ZXh0IjoiIHdvcmxkIn0KCg=="},
    {"Payload": "ZGF0YTogW0RPTkVdCgo="}
  ]
}
"""

EXECUTOR_REQUEST = """
{
  "AuthID": "auth-1", "AuthProvider": "openai", "Model": "gpt-5.4", "Format": "openai", "Stream": true,
  "Headers": {"Content-Type": ["application/json"], "Accept": ["text/event-stream"]},
  "Query": {"beta": ["true"]},
  "OriginalRequest": "eyJtb2RlbCI6ImdwdC01LjQifQ==",
  "SourceFormat": "openai",
  "Payload": "eyJtb2RlbCI6ImdwdC01LjQifQ==",
  "Metadata": {"request_id": "r-1", "attempt": 2},
  "AuthAttributes": {"region": "us"},
  "stream_id": "17",
  "host_callback_id": "42"
}
"""

USAGE_RECORD = """
{
  "Provider": "openai", "ExecutorType": "plugin", "Model": "gpt-5.4", "AuthID": "auth-1",
  "RequestedAt": "2026-06-09T13:57:36.5+08:00", "Latency": 1234567891, "TTFT": 250000000,
  "Detail": {"InputTokens": 10, "OutputTokens": 20, "CachedTokens": 3, "TotalTokens": 30},
  "Failure": {"StatusCode": 429, "Body": "cmF0ZSBsaW1pdGVk"}, "Failed": true,
  "ResponseHeaders": {"Retry-After": ["30"]}
}
"""

ENVELOPES = [
    '{"ok": true, "result": {"identifier": "openai"}}',
    '{"ok": true}',
    '{"ok": false, "error": {"code": "scheduler_denied", "message": "denied by scheduler config"}}',
    '{"ok": false, "error": {"code": "unknown_method", "message": "method not implemented"}}',
    '{"ok": false, "error": {"code": "timeout", "message": "took too long", "retryable": true}}',
    '{"ok": false, "error": {"code": "model_cooldown", "message": "cooling", "retryable": true, "http_status": 429}}',
]


def roundtrip(text: str, tp: type) -> tuple[object, object]:
    value = wire.decode(text, tp)
    return json.loads(wire.encode(value)), json.loads(text)


@pytest.mark.parametrize(
    ("text", "tp"),
    [
        (REGISTRATION_ALL_CAPABILITIES, types.Registration),
        (SCHEDULER_PICK_REQUEST, types.SchedulerPickRequest),
        (SCHEDULER_PICK_RESULT, types.SchedulerPickResult),
        (SCHEDULER_DELEGATE_RESULT, types.SchedulerPickResult),
        (EXECUTE_STREAM_RESULT, types.ExecutorStreamResult),
        (EXECUTOR_REQUEST, types.ExecutorRequest),
        (USAGE_RECORD, types.UsageRecord),
    ],
    ids=["registration", "pick-request", "pick-result", "pick-delegate", "stream-result", "executor", "usage"],
)
def test_decode_encode_gives_the_same_json(text: str, tp: type) -> None:
    encoded, original = roundtrip(text, tp)
    assert encoded == original


def test_registration_declares_every_capability_flag() -> None:
    registration = wire.decode(REGISTRATION_ALL_CAPABILITIES, types.Registration)
    flags = registration.capabilities.declared()
    assert len(flags) == 19  # every method family of §5.2 + frontend_auth_provider_exclusive
    declared_by_table = {m.capability for m in abi.METHODS.values() if m.capability and m.name in abi.SEED_METHODS}
    assert declared_by_table == flags - {"frontend_auth_provider_exclusive"}
    assert registration.metadata.github_repository == "https://github.com/example/all-in-one"
    assert registration.metadata.config_fields[1].enum_values == ["fill-first", "round-robin"]


def test_scheduler_request_fields_are_typed() -> None:
    request = wire.decode(SCHEDULER_PICK_REQUEST, types.SchedulerPickRequest)
    assert [c.id for c in request.candidates] == ["auth-1", "auth-2"]
    assert request.candidates[1].priority == 20
    assert request.options.headers == {"X-Test": ["one", "two"]}
    assert request.plugin.name == "scheduler"


def test_stream_chunks_are_base64_bytes() -> None:
    result = wire.decode(EXECUTE_STREAM_RESULT, types.ExecutorStreamResult)
    assert result.chunks[0].payload == b'data: {"text":"Hello"}\n\n'
    assert result.chunks[-1].payload == b"data: [DONE]\n\n"


def test_executor_request_mixes_pascal_and_snake_keys() -> None:
    request = wire.decode(EXECUTOR_REQUEST, types.ExecutorRequest)
    # a string, as the seed host's rpc_schema.go declares it (HostCallbackID string)
    assert (request.stream_id, request.host_callback_id) == ("17", "42")
    assert request.payload == b'{"model":"gpt-5.4"}'


def test_usage_durations_are_nanoseconds_and_times_rfc3339() -> None:
    record = wire.decode(USAGE_RECORD, types.UsageRecord)
    assert record.latency_ns == 1_234_567_891
    assert record.ttft_ns == 250_000_000
    assert record.requested_at is not None and record.requested_at.utcoffset().total_seconds() == 8 * 3600
    assert record.failure.body == b"rate limited"


@pytest.mark.parametrize("text", ENVELOPES)
def test_envelopes_round_trip(text: str) -> None:
    result_type = types.Identifier if '"identifier"' in text else None
    envelope = Envelope.from_wire(text, result_type)
    assert json.loads(envelope.to_json()) == json.loads(text)


def test_go_zero_time_reads_as_none_and_go_nanoseconds_are_truncated() -> None:
    start = wire.decode('{"ExpiresAt": "0001-01-01T00:00:00Z"}', types.AuthLoginStartResult)
    assert start.expires_at is None
    refresh = wire.decode('{"NextRefreshAfter": "2026-01-02T03:04:05.123456789Z"}', types.AuthRefreshResult)
    assert refresh.next_refresh_after is not None
    assert refresh.next_refresh_after.microsecond == 123456
    assert json.loads(wire.encode(refresh)) == {"NextRefreshAfter": "2026-01-02T03:04:05.123456Z"}


def test_keys_match_case_insensitively_and_unknown_keys_are_ignored() -> None:
    text = '{"authid": "a", "HANDLED": true, "delegatebuiltin": "fill-first", "HTTPClient": {}, "extra": [1]}'
    result = wire.decode(text, types.SchedulerPickResult)
    assert result == types.SchedulerPickResult(auth_id="a", handled=True, delegate_builtin="fill-first")


def test_exact_key_and_folded_key_last_one_wins_like_go() -> None:
    assert wire.decode('{"AuthID": "exact", "authid": "folded"}', types.SchedulerPickResult).auth_id == "folded"
    assert wire.decode('{"authid": "folded", "AuthID": "exact"}', types.SchedulerPickResult).auth_id == "exact"


def test_null_leaves_the_default() -> None:
    result = wire.decode('{"Candidates": null, "Options": null, "Stream": null}', types.SchedulerPickRequest)
    assert result == types.SchedulerPickRequest()


def test_host_http_request_is_accepted_flat_or_wrapped() -> None:
    flat = wire.decode('{"method": "POST", "url": "http://127.0.0.1/x"}', types.HostHTTPRequest)
    wrapped = wire.decode('{"request": {"method": "POST", "url": "http://127.0.0.1/x"}}', types.HostHTTPRequest)
    assert flat == wrapped


def test_metadata_values_that_are_not_json_are_dropped() -> None:
    request = types.SchedulerPickRequest(
        options=types.SchedulerOptions(metadata={"keep": "value", "drop": object(), "nan": float("nan")}),
        candidates=[types.SchedulerCandidate(id="a", metadata={"keep": "candidate", "drop": print})],
    )
    encoded = json.loads(wire.encode(request))
    assert encoded["Options"] == {"Metadata": {"keep": "value"}}
    assert encoded["Candidates"] == [{"ID": "a", "Metadata": {"keep": "candidate"}}]
    only_garbage = types.ExecutorResponse(metadata={"drop": object()})
    assert json.loads(wire.encode(only_garbage)) == {}


def test_lifecycle_config_travels_as_base64_yaml_with_enabled_and_priority() -> None:
    """Seed behaviour (CLIProxyAPI internal/pluginhost/config.go, runtimeConfigYAML at 693ce1c55): the plugin's
    settings as a YAML document, with ``enabled`` and ``priority`` added when the plugin's table has none."""
    import yaml

    request = types.LifecycleRequest.from_config({"auth_id": "auth-2", "deny": False}, enabled=True, priority=5)
    encoded = json.loads(wire.encode(request))
    text = base64.b64decode(encoded["config_yaml"]).decode()
    assert text == "auth_id: auth-2\ndeny: false\nenabled: true\npriority: 5\n"
    expected = {"auth_id": "auth-2", "deny": False, "enabled": True, "priority": 5}
    assert yaml.safe_load(text) == expected
    assert wire.decode(wire.encode(request), types.LifecycleRequest).config == expected
    assert types.LifecycleRequest.from_config({"priority": 9}, priority=1).config == {"priority": 9}
    assert types.LifecycleRequest(config_yaml=b'{"json": "too"}').config == {"json": "too"}


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("scheduler.pick", {"Candidates": [{"ID": "a"}, {"Priority": "1"}]}, "Candidates[1].Priority: expected int"),
        ("scheduler.pick", {"Candidates": {"ID": "a"}}, "Candidates: expected array"),
        ("scheduler.pick", {"Stream": "yes"}, "Stream: expected boolean"),
        ("scheduler.pick", {"Options": {"Headers": {"X": "v"}}}, "Options.Headers.X: expected array"),
        ("scheduler.pick", [1, 2], "expected object"),
        ("executor.execute", {"Payload": "%%%"}, "Payload: expected base64 string"),
        ("executor.execute", {"host_callback_id": 42}, "host_callback_id: expected string"),
        ("usage.handle", {"RequestedAt": "yesterday"}, "RequestedAt: expected RFC 3339 time"),
        ("usage.handle", {"RequestedAt": "2026-01-01T00:00:00"}, "RequestedAt: expected RFC 3339 time with a zone"),
        (
            "model.static",
            {"Host": {"OAuthModelAlias": {"p": [{"Name": 3}]}}},
            "Host.OAuthModelAlias.p[0].Name: expected string",
        ),
        ("scheduler.pick", "{not json", "malformed JSON"),
    ],
)
def test_bad_params_name_the_offending_field(method: str, params: object, message: str) -> None:
    from pluginkit.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        abi.get(method).parse_params(params)
    assert caught.value.code == "invalid_request"
    assert caught.value.message.startswith(message)
    assert ErrorInfo.from_exception(caught.value).retryable is False


def test_zero_values_of_optional_fields_survive_the_wire() -> None:
    import attrs

    from pluginkit.wire._payload import payload

    @payload
    class Optionals:
        count: int | None = None
        ratio: float | None = None
        name: str | None = None
        tags: list[str] | None = None
        data: bytes | None = None
        plain: int = 0

    zeros = Optionals(count=0, ratio=0.0, name="", tags=[], data=b"")
    assert json.loads(wire.encode(zeros)) == {"Count": 0, "Ratio": 0.0, "Name": "", "Tags": [], "Data": ""}
    assert wire.decode(wire.encode(zeros), Optionals) == zeros
    assert wire.encode(Optionals()) == b"{}"
    assert attrs.has(Optionals)
