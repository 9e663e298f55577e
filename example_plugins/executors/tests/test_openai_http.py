"""``openai-http`` (pip-installed, called through a real PluginManager) against a real HTTP server (a
``ThreadingHTTPServer`` on 127.0.0.1): completions, streams cut into one chunk per event, upstream errors, and an
Anthropic client served through the ``openai-anthropic`` translator this distribution depends on."""

from __future__ import annotations

import email.utils
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginKitError, PluginManager, PluginState
from pluginkit import types as t
from tests.helpers import (
    anthropic_stream_message,
    dumps,
    openai_stream,
    plugins,
    serving,
    translate_request,
    translate_stream,
)

UPSTREAM_EVENTS = openai_stream("Hello", ", world", model="up-model", message_id="chatcmpl-up")
UPSTREAM_COMPLETION = {
    "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello, world"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


UPSTREAM_ERRORS = {
    "busy": (429, "Rate limit reached for requests"),
    "broken": (500, "The server had an error"),
    "bad": (400, "Unknown parameter: 'foo'"),
}


class Upstream(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible server. The request's model picks the behaviour: ``busy`` → 429, ``broken`` → 500,
    ``bad`` → 400; otherwise a completion, or a stream written in awkward pieces (CRLF, events split)."""

    seen: list[tuple[str, dict[str, str], dict[str, Any]]]


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, dict(self.headers), body))
        if body["model"] in UPSTREAM_ERRORS:
            status, message = UPSTREAM_ERRORS[body["model"]]
            error = dumps({"error": {"message": message, "type": "upstream"}})
            later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
            self._send(status, error, "application/json", Retry_After="7" if status == 429 else later)
        elif body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("X-Request-Id", "req-stream")
            self.end_headers()
            crlf = UPSTREAM_EVENTS[3].replace(b"\n", b"\r\n")
            raw = b"".join([*UPSTREAM_EVENTS[:3], crlf, *UPSTREAM_EVENTS[4:]])
            for start in range(0, len(raw), 9):
                self.wfile.write(raw[start : start + 9])
                self.wfile.flush()
        else:
            self._send(200, dumps(UPSTREAM_COMPLETION), "application/json", X_Request_Id="req-1")


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream(("127.0.0.1", 0), UpstreamHandler)
    server.seen = []
    with serving(server):
        yield server


def http_config(server: Upstream, **extra: Any) -> dict[str, Any]:
    host, port = server.server_address[:2]
    settings = {"base_url": f"http://{host!s}:{port}/v1/", "api_key": "sk-test-upstream-key", **extra}
    return {"plugins": {"openai-http": settings}}


def http_call(model: str = "up-model", **fields: Any) -> t.ExecutorRequest:
    payload = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
    fields = {"auth_provider": "openai-compatible", "source_format": "openai", "format": "openai", **fields}
    return t.ExecutorRequest(model=model, payload=dumps(payload), **fields)


def test_openai_http_relays_a_completion(on_path: Path, upstream: Upstream) -> None:
    with plugins(on_path, "openai-http", config=http_config(upstream)) as m:
        response = m.call("executor.execute", http_call())
    assert json.loads(response.payload) == UPSTREAM_COMPLETION
    assert response.headers["X-Request-Id"] == ["req-1"]
    assert not {"date", "server", "content-length"} & {name.lower() for name in response.headers}
    [(path, headers, body)] = upstream.seen
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test-upstream-key"
    assert body == {"model": "up-model", "messages": [{"role": "user", "content": "Hi"}], "stream": False}


def test_openai_http_emits_one_chunk_per_event(on_path: Path, upstream: Upstream) -> None:
    with plugins(on_path, "openai-http", config=http_config(upstream, provider="My-Upstream")) as m:
        stream = m.host.open_stream()
        received: list[bytes] = []
        consumer = threading.Thread(target=lambda: received.extend(chunk.payload for chunk in stream))
        consumer.start()  # read while the executor is still pushing, as a pipeline would
        call = http_call(stream=True, stream_id=stream.id, auth_provider="my-upstream")
        result = m.call("executor.execute_stream", call)
        consumer.join(timeout=10)
    assert result.chunks == [] and result.headers["X-Request-Id"] == ["req-stream"]
    assert stream.headers is not None and stream.headers["X-Request-Id"] == ["req-stream"]  # sent with event one
    assert received == UPSTREAM_EVENTS  # CRLF normalised, pieces reassembled, one event per chunk
    assert upstream.seen[0][2]["stream"] is True and upstream.seen[0][1]["Accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("model", "status", "retryable", "retry_after"),
    [("busy", 429, True, (7, 7)), ("broken", 500, True, (25, 30)), ("bad", 400, False, (0, 0))],
)
def test_openai_http_upstream_errors(
    on_path: Path, upstream: Upstream, model: str, status: int, retryable: bool, retry_after: tuple[int, int]
) -> None:
    with plugins(on_path, "openai-http", config=http_config(upstream)) as m:
        with pytest.raises(PluginKitError) as whole:
            m.call("executor.execute", http_call(model))
        stream = m.host.open_stream()
        with pytest.raises(PluginKitError) as streamed:
            m.call("executor.execute_stream", http_call(model, stream=True, stream_id=stream.id))
        assert m.plugin("openai-http").state is PluginState.ACTIVE
    for caught in (whole.value, streamed.value):
        assert (caught.code, caught.http_status, caught.retryable) == ("upstream_error", status, retryable)
        assert retry_after[0] <= caught.retry_after <= retry_after[1]  # Retry-After: seconds, or an HTTP date
        assert caught.message == f"upstream answered HTTP {status}: {UPSTREAM_ERRORS[model][1]}"


def test_openai_http_needs_a_base_url_and_reports_unreachable_servers(on_path: Path) -> None:
    environ = {"PLUGINKIT_LOAD_PLUGINS": "openai-http"}
    with PluginManager(search_path=[str(on_path)], cache=False, environ=environ) as manager:
        info = manager.plugin("openai-http")  # installed, not configured yet: disabled with the reason, quietly
        assert info.state is PluginState.DISABLED
        assert info.reason.startswith("not configured") and "base_url" in info.reason
    bad = {"plugins": {"openai-http": {"base_url": "ftp://nowhere"}}}  # configured wrongly: a failure
    with PluginManager(bad, search_path=[str(on_path)], cache=False, environ=environ) as manager:
        info = manager.plugin("openai-http")
        assert info.state is PluginState.FAILED and info.reason.startswith("invalid_config")
    config = {"plugins": {"openai-http": {"base_url": "http://127.0.0.1:9/v1"}}}  # the discard port: refused
    with plugins(on_path, "openai-http", config=config) as m, pytest.raises(PluginKitError) as caught:
        m.call("executor.execute", http_call())
    assert (caught.value.code, caught.value.retryable, caught.value.http_status) == ("upstream_error", True, 502)


def test_anthropic_client_through_openai_http(on_path: Path, upstream: Upstream) -> None:
    """claude → openai → upstream → openai events → claude events, every event translated on its own."""
    original = {"model": "claude-sonnet-4", "max_tokens": 64, "stream": True,
                "messages": [{"role": "user", "content": "Say hello"}]}
    with plugins(on_path, "openai-anthropic", "openai-http", config=http_config(upstream)) as m:
        translated = translate_request(m, "claude", "openai", original, model="up-model", stream=True)
        stream = m.host.open_stream()
        m.call("executor.execute_stream", t.ExecutorRequest(
            auth_provider="openai-compatible", model="up-model", stream=True, payload=dumps(translated),
            stream_id=stream.id,
        ))
        events = [chunk.payload for chunk in stream]
        claude = translate_stream(m, "openai", "claude", events, original=original, translated=translated,
                                  model="claude-sonnet-4")
    message, still_open = anthropic_stream_message(claude)
    assert message["content"] == [{"type": "text", "text": "Hello, world"}] and still_open == set()
    assert message["stop_reason"] == "end_turn" and message["model"] == "claude-sonnet-4"
    assert upstream.seen[0][2]["max_tokens"] == 64
