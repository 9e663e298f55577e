"""The ``openai-remote`` example provider (pip-installed, reached through ``ProviderHost``) against a real
OpenAI-compatible server on 127.0.0.1: auth (set, validate, a rotated key file refreshed), unary and streamed
services, upstream errors with the seed's numbers, the request pipeline served by the provider, and secrets kept
out of logs, errors and traces."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pluginkit import PluginKitError, PluginManager, PluginState
from pluginkit.pipeline import Pipeline, Request, StageError
from pluginkit.providers import ProviderHost, ProviderStatus, ServiceChunk
from pluginkit.scheduling import Credential
from pluginkit.testing import ProviderSubject
from tests.helpers import dumps, openai_stream, openai_stream_completion, serving

PROVIDER = "openai-remote"
#: Keys that do not look like secrets to pluginkit's generic masking (no ``sk-`` prefix): a leak is the plugin's.
KEY = "pk-test-key-alpha-0123456789"
ROTATED = "pk-test-key-bravo-9876543210"
WRONG = "pk-test-key-wrong-5555555555"

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}
EMBEDDING = {
    "object": "list", "model": "text-embedding-3-small",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}


STREAM_EVENTS = openai_stream("Hel", "lo!", model="gpt-4o-mini", message_id="chatcmpl-1")
#: A request's model picks an upstream failure: (status, the upstream's error message).
FAILURES = {
    "no-such-model": (404, "The model `no-such-model` does not exist"),
    "bad-request": (400, "Unrecognized request argument supplied: foo"),
    "overloaded": (503, "The server is overloaded"),
}


class FakeOpenAI(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible API: ``GET /v1/models``, ``POST /v1/chat/completions`` (unary, or SSE written in
    small pieces with CRLF line ends), ``POST /v1/embeddings``. It accepts ``Bearer <key>`` only (the test
    rotates ``key``) and, like OpenAI, quotes a rejected key in its 401 message."""

    key = KEY
    seen: list[tuple[str, str, str, dict[str, Any]]]  # (method, path, Authorization, body)


class FakeOpenAIHandler(http.server.BaseHTTPRequestHandler):
    server: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass

    def _send(self, status: int, value: Any) -> None:
        body = dumps(value)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self, body: dict[str, Any]) -> bool:
        authorization = self.headers.get("Authorization", "")
        self.server.seen.append((self.command, self.path, authorization, body))
        if authorization == f"Bearer {self.server.key}":
            return True
        presented = authorization.removeprefix("Bearer ")
        self._send(401, {"error": {"message": f"Incorrect API key provided: {presented}.", "code": "invalid_api_key"}})
        return False

    def do_GET(self) -> None:
        if self._authorized({}) and self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._authorized(body):
            return
        if body.get("model") in FAILURES:
            status, message = FAILURES[body["model"]]
            self._send(status, {"error": {"message": message, "type": "invalid_request_error"}})
        elif self.path == "/v1/embeddings":
            self._send(200, EMBEDDING)
        elif self.path == "/v1/chat/completions" and body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            raw = b"".join(STREAM_EVENTS).replace(b"\n", b"\r\n")
            for start in range(0, len(raw), 11):
                self.wfile.write(raw[start : start + 11])
                self.wfile.flush()
        elif self.path == "/v1/chat/completions":
            self._send(200, COMPLETION)
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})


@pytest.fixture
def upstream() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(("127.0.0.1", 0), FakeOpenAIHandler)
    server.seen = []
    with serving(server):
        yield server


@pytest.fixture
def host(on_path: Path, upstream: FakeOpenAI) -> Iterator[ProviderHost]:
    """The pip-installed provider, its ``base_url`` the fake API. The host exists before the manager loads (it
    reads the manifests then, so a provider whose name is taken is never imported)."""
    port = upstream.server_address[1]
    config = {"plugins": {PROVIDER: {"base_url": f"http://127.0.0.1:{port}/"}}}
    manager = PluginManager(
        config, search_path=[str(on_path)], cache=False, environ={"PLUGINKIT_LOAD_PLUGINS": PROVIDER}
    )
    providers = ProviderHost(manager)
    manager.load()
    info = manager.plugin(PROVIDER)
    assert info.state is PluginState.ACTIVE and not info.problems, (info.reason, info.problems)
    try:
        yield providers
    finally:
        manager.shutdown()


def chat(model: str = "", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "Hi"}], **extra}
    return {"model": model, **body} if model else body


async def stream_chunks(host: ProviderHost, body: dict[str, Any], **kwargs: Any) -> list[ServiceChunk]:
    stream = await host.invoke_stream(PROVIDER, "chat", body, **kwargs)
    async with stream:
        return [chunk async for chunk in stream]


def fails(code: str, coroutine: Any) -> PluginKitError:
    with pytest.raises(PluginKitError) as caught:
        asyncio.run(coroutine)
    assert caught.value.code == code, caught.value
    return caught.value


# -- the manifest ------------------------------------------------------------------------------------------------
def test_the_installed_manifest_describes_a_remote_provider(host: ProviderHost) -> None:
    provider = host.provider(PROVIDER)
    assert provider.type == "remote" and provider.plugin_id == PROVIDER
    assert provider.source.endswith("plugin.yaml")
    chat_service, embed_service = (provider.manifest.service(name) for name in ("chat", "embed"))
    assert chat_service is not None and embed_service is not None
    assert (chat_service.endpoint, chat_service.auth_type, chat_service.protocol) == (
        "/v1/chat/completions", "apikey", "HTTPS",
    )
    assert chat_service.supports_streaming() and not embed_service.supports_streaming()
    assert embed_service.endpoint == "/v1/embeddings"
    defaults = [m.id for m in host.support_model_list(PROVIDER) if m.is_default == "true"]
    assert defaults == ["openai-remote:chat:gpt-4o-mini", "openai-remote:embed:text-embedding-3-small"]


# -- auth --------------------------------------------------------------------------------------------------------
def test_set_auth_answers_the_bearer_header(host: ProviderHost) -> None:
    headers = asyncio.run(host.set_auth(PROVIDER, {"api_key": KEY}))
    assert headers == {"Authorization": [f"Bearer {KEY}"]}


def test_set_auth_refuses_missing_credentials_and_other_auth_types(host: ProviderHost) -> None:
    error = fails("invalid_request", host.set_auth(PROVIDER, {}))
    assert getattr(error, "number", None) == 2 and "api_key or api_key_file" in error.message
    error = fails("invalid_request", host.set_auth(PROVIDER, {"token": KEY}, auth_type="oauth"))
    assert "'oauth' is not supported" in error.message
    fails("invalid_request", host.set_auth(PROVIDER, {"api_key_file": "/nonexistent/key.txt"}))


def test_validate_auth_accepts_the_right_key_and_rejects_a_wrong_one(host: ProviderHost, upstream: FakeOpenAI) -> None:
    fails("unauthenticated", host.validate_auth(PROVIDER))  # no key yet

    async def validate(key: str) -> None:
        await host.set_auth(PROVIDER, {"api_key": key})
        await host.validate_auth(PROVIDER)

    asyncio.run(validate(KEY))
    assert upstream.seen[-1][:3] == ("GET", "/v1/models", f"Bearer {KEY}")
    error = fails("unauthenticated", validate(WRONG))
    assert "authentication failed" in error.message


def test_a_rotated_key_file_is_picked_up_by_refresh_auth(
    host: ProviderHost, upstream: FakeOpenAI, tmp_path: Path
) -> None:
    key_file = tmp_path / "openai.key"
    key_file.write_text(f"{KEY}\n")
    asyncio.run(host.set_auth(PROVIDER, {"api_key_file": str(key_file)}))
    assert json.loads(asyncio.run(host.invoke(PROVIDER, "chat", chat()))) == COMPLETION

    upstream.key = ROTATED  # the key is rotated: the API and the file change, the plugin still holds the old one
    key_file.write_text(ROTATED)
    fails("unauthenticated", host.invoke(PROVIDER, "chat", chat()))

    asyncio.run(host.refresh_auth(PROVIDER))
    assert json.loads(asyncio.run(host.invoke(PROVIDER, "chat", chat()))) == COMPLETION
    assert upstream.seen[-1][2] == f"Bearer {ROTATED}"


def test_refresh_auth_with_a_plain_key_validates_it(host: ProviderHost, upstream: FakeOpenAI) -> None:
    asyncio.run(host.set_auth(PROVIDER, {"api_key": KEY}))
    asyncio.run(host.refresh_auth(PROVIDER))
    upstream.key = ROTATED
    fails("unauthenticated", host.refresh_auth(PROVIDER))


# -- services ----------------------------------------------------------------------------------------------------
def test_unary_chat_and_embed(host: ProviderHost, upstream: FakeOpenAI) -> None:
    asyncio.run(host.set_auth(PROVIDER, {"api_key": KEY}))
    answer = asyncio.run(host.invoke(PROVIDER, "chat", chat(stream=True)))  # a unary call cannot stream back
    assert json.loads(answer) == COMPLETION
    method, path, authorization, body = upstream.seen[-1]
    assert (method, path, authorization) == ("POST", "/v1/chat/completions", f"Bearer {KEY}")
    assert body == {"messages": [{"role": "user", "content": "Hi"}], "stream": False, "model": "gpt-4o-mini"}

    answer = asyncio.run(host.invoke(PROVIDER, "embed", {"model": "text-embedding-3-large", "input": "hi"}))
    assert json.loads(answer) == EMBEDDING
    assert upstream.seen[-1][1] == "/v1/embeddings"
    assert upstream.seen[-1][3] == {"model": "text-embedding-3-large", "input": "hi"}  # no stream field added
    assert host.status(PROVIDER) is ProviderStatus.RUNNING


def test_the_callers_auth_info_wins_over_the_stored_key(host: ProviderHost, upstream: FakeOpenAI) -> None:
    fails("unauthenticated", host.invoke(PROVIDER, "chat", chat()))  # no key at all
    asyncio.run(host.set_auth(PROVIDER, {"api_key": WRONG}))
    assert json.loads(asyncio.run(host.invoke(PROVIDER, "chat", chat(), auth_info=KEY))) == COMPLETION
    assert json.loads(asyncio.run(host.invoke(PROVIDER, "chat", chat(), auth_info=json.dumps({"api_key": KEY}))))
    assert [seen[2] for seen in upstream.seen] == [f"Bearer {KEY}"] * 2


@pytest.mark.parametrize(
    ("model", "code", "number"),
    [("no-such-model", "model_not_found", 3000), ("bad-request", "service_invalid_request", 4003),
     ("overloaded", "service_unavailable", 4001)],
)
def test_upstream_errors_keep_the_seeds_numbers(host: ProviderHost, model: str, code: str, number: int) -> None:
    asyncio.run(host.set_auth(PROVIDER, {"api_key": KEY}))
    error = fails(code, host.invoke(PROVIDER, "chat", chat(model)))
    assert getattr(error, "number", None) == number and FAILURES[model][1] in error.message
    fails(code, stream_chunks(host, chat(model)))  # a stream's upstream error is the same error
    assert host.provider(PROVIDER).status is ProviderStatus.RUNNING  # an answer, not a crash: the plugin is not fused


def test_an_unreachable_api_is_service_unavailable(host: ProviderHost, upstream: FakeOpenAI) -> None:
    asyncio.run(host.set_auth(PROVIDER, {"api_key": KEY}))
    upstream.shutdown()
    upstream.server_close()
    fails("service_unavailable", host.invoke(PROVIDER, "chat", chat()))
    health = asyncio.run(host.health(PROVIDER))
    assert not health.healthy and health.error.startswith("service_unavailable")


def test_a_streamed_chat_is_one_chunk_per_sse_event(host: ProviderHost, upstream: FakeOpenAI) -> None:
    asyncio.run(host.set_auth(PROVIDER, {"api_key": KEY}))
    chunks = asyncio.run(stream_chunks(host, chat("gpt-4o")))
    assert [chunk.data for chunk in chunks] == STREAM_EVENTS[1:]  # framing kept (CRLF normalised), keep-alive dropped
    assert [chunk.is_final for chunk in chunks] == [False] * 4 + [True]
    assert all(chunk.metadata == {"content-type": "text/event-stream"} for chunk in chunks)
    assert openai_stream_completion([chunk.data for chunk in chunks])["content"] == "Hello!"
    assert upstream.seen[-1][3] == {**chat("gpt-4o"), "stream": True}


def test_embed_does_not_stream(host: ProviderHost, upstream: FakeOpenAI) -> None:
    fails("streaming_not_supported", host.invoke_stream(PROVIDER, "embed", {"input": "hi"}))
    assert upstream.seen == []


def test_health_and_the_operate_status(host: ProviderHost) -> None:
    assert asyncio.run(host.health(PROVIDER)).healthy  # the API answers (a 401 without a key still proves it is up)
    assert asyncio.run(host.operate_status(PROVIDER)) == 1
    asyncio.run(host.set_operate_status(PROVIDER, 2))
    assert asyncio.run(host.operate_status(PROVIDER)) == 2


# -- the request pipeline ----------------------------------------------------------------------------------------
def build_pipeline(host: ProviderHost, key: str) -> Pipeline:
    credential = Credential("openai-1", PROVIDER, attributes={"api_key": key})
    pipeline = Pipeline(host.manager, credentials=[credential], routes={"*": [PROVIDER]})
    host.serve(pipeline, PROVIDER)
    return pipeline


def pipeline_request(stream: bool = False) -> Request:
    return Request(format="openai", model="gpt-4o-mini", body=dumps(chat("gpt-4o-mini")), stream=stream)


def test_a_pipeline_request_reaches_the_api_through_the_provider(host: ProviderHost, upstream: FakeOpenAI) -> None:
    pipeline = build_pipeline(host, KEY)  # the scheduler's credential is the key: no set_auth needed

    async def run() -> tuple[bytes, list[bytes]]:
        try:
            response = await pipeline.execute(pipeline_request())
            chunks = [chunk async for chunk in pipeline.stream(pipeline_request(stream=True))]
            return response.body, chunks
        finally:
            await pipeline.aclose()

    body, chunks = asyncio.run(run())
    assert json.loads(body) == COMPLETION
    assert b"".join(chunks) == b"".join(STREAM_EVENTS[1:])  # OpenAI's SSE passed through as it came
    assert openai_stream_completion(chunks)["content"] == "Hello!"
    assert [(seen[1], seen[2], seen[3].get("stream")) for seen in upstream.seen] == [
        ("/v1/chat/completions", f"Bearer {KEY}", None), ("/v1/chat/completions", f"Bearer {KEY}", True),
    ]


# -- secrets -----------------------------------------------------------------------------------------------------
def test_secrets_never_reach_logs_errors_or_traces(
    host: ProviderHost, upstream: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_file = tmp_path / "openai.key"
    messages: list[str] = []

    def failure(coroutine: Any) -> None:
        messages.append(fails("unauthenticated", coroutine).message)

    asyncio.run(host.set_auth(PROVIDER, {"api_key": WRONG}))
    failure(host.validate_auth(PROVIDER))
    failure(host.invoke(PROVIDER, "chat", chat()))
    failure(stream_chunks(host, chat()))
    failure(host.invoke(PROVIDER, "embed", {"input": "hi"}, auth_info=WRONG))
    key_file.write_text(KEY)
    asyncio.run(host.set_auth(PROVIDER, {"api_key_file": str(key_file)}))
    key_file.write_text(WRONG)
    asyncio.run(host.refresh_auth(PROVIDER))  # re-reads the file: now the wrong key
    failure(host.validate_auth(PROVIDER))
    pipeline = build_pipeline(host, WRONG)
    with pytest.raises(StageError) as caught:
        asyncio.run(pipeline.execute(pipeline_request()))
    asyncio.run(pipeline.aclose())
    assert caught.value.code == "unauthenticated"
    messages.append(str(caught.value))
    messages += [f"{step.stage} {step.plugins} {step.decision}" for step in caught.value.trace.steps]

    # the fake API did quote the key in its 401 answers: the plugin dropped those words
    assert all(seen[2] == f"Bearer {WRONG}" for seen in upstream.seen) and len(upstream.seen) == 6
    assert all("authentication failed" in message for message in messages[:5])
    assert caplog.records, "the plugin logs its auth steps (without the key)"
    assert any("api_key_file" in record.getMessage() for record in caplog.records)
    for text in [*messages, caplog.text, *(record.getMessage() for record in caplog.records)]:
        assert WRONG not in text and KEY not in text


@pytest.fixture
def pluginkit_provider(on_path: Path, upstream: FakeOpenAI) -> ProviderSubject:
    """The conformance kit on this plugin (``TestProviderContract``, collected because this fixture exists)."""
    import pluginkit_openai_remote  # deferred: the pip-installed distribution, on the path for this test only

    port = upstream.server_address[1]
    return ProviderSubject(
        pluginkit_openai_remote,
        Path(pluginkit_openai_remote.__file__).parent,
        settings={"base_url": f"http://127.0.0.1:{port}/"},
        credentials={"api_key": KEY},
        requests={"chat": dumps(chat("gpt-4o-mini")), "embed": dumps({"input": "Hi"})},
    )
