"""Host callbacks: HTTP through the host, executor streams, logging, secret redaction."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pluginkit import PluginManager, abi, hookimpl
from pluginkit import types as t
from pluginkit.redaction import is_sensitive_key, redact_text, strip_sensitive
from pluginkit.runtime._host import ExecutorStream, HostServices


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"x" * 100_000 if self.path == "/big" else b"hello"
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("X-Echo", "1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.upper())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_do_through_invoke(server: str) -> None:
    m = PluginManager(entry_points=False, environ={})
    got = m.call("host.http.do", {"request": {"method": "POST", "url": f"{server}/p", "body": "aGk="}})
    assert (got.status_code, got.body) == (201, b"HI")
    missing = m.call("host.http.do", {"url": f"{server}/missing"})
    assert missing.status_code == 404 and missing.headers["X-Echo"] == ["1"]


def test_http_failures_are_host_call_failed(server: str) -> None:
    host = HostServices(http_timeout=2)
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/closed"):
        with pytest.raises(Exception) as caught:
            host.http_do(t.HostHTTPRequest(url=url))
        assert getattr(caught.value, "code", "") == "host_call_failed"


def test_http_stream_reads_in_pieces(server: str) -> None:
    host = HostServices()
    opened = host.http_do_stream(t.HostHTTPRequest(url=f"{server}/big"))
    assert opened.status_code == 200
    received = b""
    while True:
        piece = host.http_stream_read(t.HostStreamRef(stream_id=opened.stream_id))
        assert len(piece.payload) <= 32 * 1024
        received += piece.payload
        if piece.done:
            break
    assert received == b"x" * 100_000
    with pytest.raises(Exception, match="no open HTTP stream"):
        host.http_stream_read(t.HostStreamRef(stream_id=opened.stream_id))


def test_emitting_many_chunks_inside_the_call_never_deadlocks() -> None:
    host = HostServices()
    stream = host.open_stream()
    for index in range(1000):  # the producer runs before anyone reads, as inside execute_stream
        host.stream_emit(t.HostStreamEmit(stream_id=stream.id, payload=f"{index},".encode()))
    host.stream_close(t.HostStreamClose(stream_id=stream.id))
    assert b"".join(c.payload for c in stream) == b"".join(f"{i},".encode() for i in range(1000))


def test_async_consumer_and_threaded_producer() -> None:
    host = HostServices()
    stream = host.open_stream()

    def produce() -> None:
        for index in range(200):
            host.stream_emit(t.HostStreamEmit(stream_id=stream.id, payload=bytes([index % 256])))
        host.stream_close(t.HostStreamClose(stream_id=stream.id, error="upstream ended badly"))

    async def consume() -> list[t.StreamChunk]:
        threading.Thread(target=produce).start()
        return [chunk async for chunk in stream]

    chunks = asyncio.run(consume())
    assert len(chunks) == 201 and chunks[-1].err == "upstream ended badly"


def test_cancelled_stream_refuses_emits_and_buffer_limits_fail_instead_of_blocking() -> None:
    host = HostServices()
    stream = host.open_stream()
    stream.cancel()
    with pytest.raises(Exception, match="cancelled"):
        host.stream_emit(t.HostStreamEmit(stream_id=stream.id, payload=b"x"))
    small = host.open_stream(max_chunks=3)
    for _ in range(3):
        small.emit(b"x")
    with pytest.raises(Exception, match="buffer limit"):
        small.emit(b"x")
    with pytest.raises(Exception, match="no open stream"):
        host.stream_emit(t.HostStreamEmit(stream_id="nope"))


def test_host_log_and_unknown_level(caplog: pytest.LogCaptureFixture) -> None:
    m = PluginManager(entry_points=False, environ={})
    caplog.set_level("DEBUG")
    assert m.invoke("host.log", {"level": "warning", "message": "Bearer abcdefghijkl", "fields": {"password": "p"}}).ok
    assert "abcdefghijkl" not in caplog.text and "[redacted]" in caplog.text
    # Seed behaviour (CLIProxyAPI internal/pluginhost/host_callbacks.go, callHostLog at 693ce1c55): an unknown
    # level logs at debug, a level is trimmed and case-insensitive, a blank message is "plugin log".
    caplog.clear()
    assert m.invoke("host.log", {"level": "loud", "message": "at debug"}).ok
    assert m.invoke("host.log", {"level": " ERROR ", "message": "  "}).ok
    levels = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("pluginkit.plugin")]
    assert levels == [("DEBUG", "at debug"), ("ERROR", "plugin log")]


def test_host_handles_exactly_the_tables_host_methods() -> None:
    """The seed's host callbacks are the host's own; a family's (host.message.*) are answered once its host side
    is attached (pluginkit.messages.MessageHost), and say so until then."""
    host_methods = [m.name for m in abi.METHODS.values() if not m.is_hook]
    host = HostServices()
    for name in host_methods:
        try:  # every name is known: a failure here is about the empty params, never the name
            host.handle(name, abi.get(name).params())
        except Exception as exc:
            assert "unknown host callback" not in str(exc)
            if name.startswith("host.message."):
                assert "has no host side here" in str(exc)
    with pytest.raises(Exception, match="unknown host callback"):
        host.handle("host.nothing", t.Empty())
    with pytest.raises(ValueError):  # the host's own callbacks are not a family's to replace
        host.provide("host.log", lambda params, plugin_id: t.Empty())
    host.provide("host.message.stream_start", lambda params, plugin_id: f"answered for {plugin_id}")
    assert host.handle("host.message.stream_start", abi.get("host.message.stream_start").params(), "p") == (
        "answered for p"
    )


def test_sensitive_keys_follow_the_seed_rule() -> None:
    for key in ("api_key", "API-Key", "apiKey", "x.auth.token", "Cookie", "proxy_url", "storage path", "Authorization"):
        assert is_sensitive_key(key), key
    for key in ("region", "priority", "model"):
        assert not is_sensitive_key(key), key
    assert strip_sensitive({"region": "us", "api_key": "k"}) == {"region": "us"}
    assert redact_text("use sk-proj-abcdefgh12345 now") == "use [redacted] now"


def test_each_call_gets_a_host_callback_id_that_ties_host_log_to_its_request(caplog: pytest.LogCaptureFixture) -> None:
    """Seed behaviour (CLIProxyAPI internal/pluginhost/callback_contexts.go and rpc_client.go at 693ce1c55): every
    call of a method that carries ``host_callback_id`` gets a string ID its host callbacks can name, and
    ``host.log`` naming it logs under that call's request — here from a thread the plugin started, where the
    request's context is not set. pluginkit's ID is the request's own ID (no registry to keep)."""
    from pluginkit.runtime import current_request_id

    seen: list[str] = []

    class Thinks:
        @hookimpl
        def thinking_identifier(self) -> t.Identifier:
            return t.Identifier(identifier="local")

        @hookimpl
        def thinking_apply(self, params: t.ThinkingApplyRequest, ctx: Any) -> t.BodyResult:
            seen.append(params.host_callback_id)
            worker = threading.Thread(
                target=ctx.host, args=("host.log", {"host_callback_id": params.host_callback_id, "message": "hi"})
            )
            worker.start()
            worker.join()
            return t.BodyResult(body=params.body)

    with PluginManager(entry_points=False, environ={}) as manager:
        manager.register(Thinks(), "thinks")
        caller = t.ThinkingApplyRequest(provider="local", body=b"x")
        token = current_request_id.set("req-7")
        try:
            with caplog.at_level("DEBUG", logger="pluginkit.plugin.thinks"):
                manager.call("thinking.apply", caller)
                manager.call("thinking.apply", caller)
        finally:
            current_request_id.reset(token)
        assert caller.host_callback_id == ""  # the caller's object is left as it was
        assert seen == ["req-7", "req-7"]
        assert [r.request_id for r in caplog.records if r.getMessage() == "hi"] == ["req-7", "req-7"]
        assert manager.call("thinking.apply", caller).body == b"x" and seen[-1] == ""  # outside a request: none


@pytest.mark.parametrize("consumer", ["async", "thread"])
def test_a_threaded_producer_and_a_consumer_never_lose_a_wakeup(consumer: str) -> None:
    """The stream wakes its consumer once per batch, not per chunk (issue 14): whatever the interleaving of a
    producer thread with an async or a threaded consumer, every chunk arrives, in order, and the stream ends."""
    import random
    import time

    for seed in range(40):
        rnd = random.Random(seed)
        stream = HostServices().open_stream()
        count = rnd.randint(1, 200)
        expected = [b"%d" % i for i in range(count)]

        def produce(rnd: random.Random = rnd, stream: ExecutorStream = stream, count: int = count) -> None:
            for i in range(count):
                stream.emit(b"%d" % i)
                if rnd.random() < 0.05:
                    time.sleep(rnd.random() / 2000)
            stream.close()

        producer = threading.Thread(target=produce)
        if consumer == "async":
            async def consume(stream: ExecutorStream = stream) -> list[bytes]:
                return [chunk.payload async for chunk in stream]

            producer.start()
            got = asyncio.run(asyncio.wait_for(consume(), 10))
        else:
            got = []
            reader = threading.Thread(target=lambda s=stream, g=got: g.extend(c.payload for c in s))
            reader.start()
            producer.start()
            reader.join(10)
            assert not reader.is_alive(), f"seed {seed}: the reader is stuck"
        producer.join(10)
        assert got == expected, f"seed {seed}"
