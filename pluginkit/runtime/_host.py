"""The host callbacks of the ABI (``host.*``), answered in-process.

Plugins reach them through their :class:`~pluginkit.PluginContext`; ``PluginManager.invoke("host.log", …)``
reaches them by name. Every failure is a ``host_call_failed`` error, never a bare exception.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from pluginkit import abi
from pluginkit import types as t
from pluginkit.errors import PluginKitError
from pluginkit.redaction import redact_text
from pluginkit.runtime._logging import PluginLogger
from pluginkit.wire._payload import builder

__all__ = ["ExecutorStream", "HostServices"]

_LEVELS = {
    "trace": 5, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
    "warning": logging.WARNING, "error": logging.ERROR,
}
_READ_SIZE = 32 * 1024


_chunk = builder(t.StreamChunk, "payload", "err")
#: The host callbacks HostServices answers itself → its method answering each (``host.log`` also takes the caller).
_OWN = {
    "host.log": "log",
    "host.http.do": "http_do",
    "host.http.do_stream": "http_do_stream",
    "host.http.stream_read": "http_stream_read",
    "host.http.stream_close": "http_stream_close",
    "host.stream.emit": "stream_emit",
    "host.stream.close": "stream_close",
}


def host_error(message: str) -> PluginKitError:
    """A ``host_call_failed`` error; its message is masked (it may quote a URL with a key in it)."""
    return PluginKitError("host_call_failed", redact_text(message))


class ExecutorStream:
    """Chunks an executor pushes with ``host.stream.emit`` until ``host.stream.close``.

    Emitting never blocks — the producer may be the very call the consumer is waiting for, which is how the seed
    host deadlocks past 16 chunks. Memory is bounded instead: past ``max_chunks`` or ``max_bytes`` buffered,
    ``emit`` fails with ``host_call_failed`` and the stream ends with that error.
    """

    def __init__(self, stream_id: str, *, max_chunks: int = 100_000, max_bytes: int = 64 * 2**20) -> None:
        self.id = stream_id
        #: ``(payload, error)`` pairs: a tuple per chunk, a ``StreamChunk`` only for consumers that iterate.
        self._chunks: collections.deque[tuple[bytes, str]] = collections.deque()
        self._lock = threading.Lock()
        self._buffered = 0
        self._max_chunks, self._max_bytes = max_chunks, max_bytes
        self.closed = False
        self.cancelled = False
        #: The upstream headers an emit declared (``HostStreamEmit.headers``), or ``None``.
        self.headers: t.Headers | None = None
        #: Async consumers: their loop, the event that wakes them, and the thread that loop runs in.
        self._wakeups: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, int]] = []
        self._ready: threading.Condition | None = None  # made when a sync consumer first waits (rare; ~2 us)
        self._sync_waiters = 0  # threads blocked in __iter__
        #: Every consumer has been woken since it last looked: further chunks need no wake-up of their own.
        self._woken = False

    def emit(self, payload: bytes, error: str = "", headers: t.Headers | None = None) -> None:
        # Every chunk of every pushed stream comes here: attributes read once, rare cases last, and the lock taken
        # with acquire/release (``with`` costs ~80 ns more per chunk on Python 3.11).
        lock = self._lock
        lock.acquire()
        try:
            chunks = self._chunks
            buffered = self._buffered + len(payload)
            if self.closed or len(chunks) >= self._max_chunks or buffered > self._max_bytes:
                self._refuse()
            if headers:
                self.headers = {name: list(values) for name, values in headers.items()}
            chunks.append((payload, error))
            self._buffered = buffered
            if error:
                self.closed = True
            if not self._woken:
                self._notify()
        finally:
            lock.release()

    def _refuse(self) -> None:  # caller holds the lock
        """Why an emit is refused, raised: the stream is over, or its buffer is full (which ends it)."""
        if self.closed:
            if self.cancelled:
                raise host_error(f"stream {self.id} was cancelled by its consumer")
            raise host_error(f"stream {self.id} is closed")
        self.closed = True
        self._chunks.append((b"", f"stream {self.id} buffer limit reached"))
        self._notify()
        raise host_error(f"stream {self.id}: buffer limit reached, the consumer is not reading")

    def close(self, error: str = "") -> None:
        with self._lock:
            if self.closed:
                return
            if error:
                self._chunks.append((b"", error))
            self.closed = True
            self._notify()

    def cancel(self) -> None:
        """The consumer stopped reading: later emits fail, so a well-behaved executor stops producing."""
        with self._lock:
            self.cancelled = self.closed = True
            self._chunks.clear()
            self._notify()

    def _notify(self) -> None:  # caller holds the lock
        """Wake the consumers. An async consumer whose event is set already needs nothing, and one whose loop runs
        in this very thread (a sync executor called inline by the pipeline) is woken directly: waking a loop from
        another thread writes to its self-pipe, a system call per chunk (~5 us of a chunk's ~7 us, ``benchmarks``,
        ``plugins``)."""
        self._woken = True
        if self._sync_waiters and self._ready is not None:
            self._ready.notify_all()
        for loop, event, thread in self._wakeups:
            if event.is_set():
                continue
            if thread == threading.get_ident():
                event.set()
                continue
            with contextlib.suppress(RuntimeError):  # that consumer's loop is closed
                loop.call_soon_threadsafe(event.set)

    def _pop(self) -> tuple[t.StreamChunk | None, bool]:
        with self._lock:
            if self._chunks:
                payload, error = self._chunks.popleft()
                self._buffered -= len(payload)
                return _chunk(payload, error), False
            return None, self.closed

    def take(self) -> list[tuple[bytes, str]]:
        """Every chunk buffered now as ``(payload, error)``, removed from the stream (for a consumer that knows the
        producer is done)."""
        with self._lock:
            chunks = list(self._chunks)
            self._chunks.clear()
            self._buffered = 0
            return chunks

    def __iter__(self) -> Iterator[t.StreamChunk]:
        while True:
            with self._lock:
                while not self._chunks and not self.closed:
                    self._sync_waiters += 1
                    self._woken = False
                    if self._ready is None:
                        self._ready = threading.Condition(self._lock)
                    try:
                        self._ready.wait()
                    finally:
                        self._sync_waiters -= 1
            chunk, done = self._pop()
            if chunk is not None:
                yield chunk
            elif done:
                return

    async def __aiter__(self) -> AsyncIterator[t.StreamChunk]:
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event, threading.get_ident())
        lock, chunks = self._lock, self._chunks
        with lock:
            self._wakeups.append(entry)
        try:
            while True:
                # Everything buffered is taken at once, one lock per batch rather than per chunk: an executor called
                # inline pushes its whole answer before the consumer runs. The buffer limit applies to what is
                # left, so a slow consumer holds at most one batch more.
                with lock:
                    batch = list(chunks)
                    chunks.clear()
                    self._buffered = 0
                    done = self.closed
                    if not batch and not done:
                        event.clear()
                        self._woken = False
                for payload, error in batch:
                    yield _chunk(payload, error)
                if batch:
                    continue
                if done:
                    return
                await event.wait()
        finally:
            with self._lock:
                self._wakeups.remove(entry)


class HostServices:
    """The host side of the ABI's callbacks: logging, HTTP through the host, executor streams.

    ``http_timeout`` (seconds) and ``proxy_url`` are the host's HTTP policy; without ``proxy_url`` the standard
    ``*_proxy`` environment variables apply. Only ``http`` and ``https`` URLs are fetched.
    """

    def __init__(self, *, http_timeout: float = 60.0, proxy_url: str | None = None) -> None:
        self.http_timeout = http_timeout
        self._proxies = {"http": proxy_url, "https": proxy_url} if proxy_url else None
        self._opener: Any = None  # built by the first host.http call
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        #: The executor streams open now, by ID.
        self.streams: dict[str, ExecutorStream] = {}
        self._http_streams: dict[str, Any] = {}
        #: Host callbacks and services of families above the runtime (see :meth:`provide`, :meth:`attach`).
        self._provided: dict[str, Callable[[Any, str], Any]] = {}
        self._services: dict[str, Any] = {}

    # -- families' host sides ----------------------------------------------------------------------------------
    def provide(self, method: str, handler: Callable[[Any, str], Any]) -> None:
        """Answer the host callback ``method`` (a ``host.*`` method of a family's table) with
        ``handler(params, plugin_id)``; ``plugin_id`` is the calling plugin, ``"host"`` for the host itself.
        A family whose host side lives above the runtime (the message hub) plugs in here."""
        if not method.startswith("host.") or method in _OWN:
            raise ValueError(f"{method!r} is not a family's host callback")
        self._provided[method] = handler

    def attach(self, name: str, service: Any) -> None:
        """Make a family's host-side object reachable from plugin contexts (``ctx.service(name)``)."""
        self._services[name] = service

    def service(self, name: str) -> Any:
        """The object attached as ``name``; ``host_call_failed`` when the host has none."""
        service = self._services.get(name)
        if service is None:
            raise host_error(f"this host offers no {name!r} service")
        return service

    # -- executor streams ----------------------------------------------------------------------------------
    def open_stream(self, **limits: int) -> ExecutorStream:
        stream = ExecutorStream(str(next(self._ids)), **limits)
        with self._lock:
            self.streams[stream.id] = stream
        return stream

    def release_stream(self, stream: ExecutorStream) -> None:
        with self._lock:
            self.streams.pop(stream.id, None)

    def _stream(self, stream_id: str) -> ExecutorStream:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise host_error(f"no open stream {stream_id!r}")
        return stream

    def stream_emit(self, params: t.HostStreamEmit) -> t.Empty:
        self._stream(params.stream_id).emit(params.payload, params.error, params.headers)
        return t.Empty()

    def stream_close(self, params: t.HostStreamClose) -> t.Empty:
        self._stream(params.stream_id).close(params.error)
        return t.Empty()

    # -- logging -------------------------------------------------------------------------------------------
    def log(self, params: t.HostLog, plugin_id: str = "host") -> t.Empty:
        """``host.log``. As the seed host does (CLIProxyAPI ``callHostLog``): the level is trimmed and compared
        case-insensitively, and any other level, or none, logs at debug; a blank message is "plugin log"."""
        level = _LEVELS.get(params.level.strip().lower(), logging.DEBUG)
        logger = PluginLogger(logging.getLogger(f"pluginkit.plugin.{plugin_id}"), {"plugin_id": plugin_id})
        # the calling hook's host_callback_id is its request's ID; without one, the context's (the seed's fallback)
        extra = {"request_id": params.host_callback_id} if params.host_callback_id else {}
        logger.log(level, params.message.strip() or "plugin log", fields=params.fields, extra=extra)
        return t.Empty()

    # -- HTTP ----------------------------------------------------------------------------------------------
    def _open(self, params: t.HostHTTPRequest) -> Any:
        url = params.url
        if not url.lower().startswith(("http://", "https://")):
            raise host_error(f"host.http: only http and https URLs are fetched, not {url[:40]!r}")
        # deferred: urllib (with http.client, email and ssl) loads with the first host.http call, not the host's start
        import urllib.error
        import urllib.request  # deferred, as above

        if self._opener is None:
            self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(self._proxies))
        headers = {key: ", ".join(values) for key, values in params.headers.items()}
        request = urllib.request.Request(
            url, data=params.body or None, headers=headers, method=(params.method or "GET").upper()
        )
        try:
            return self._opener.open(request, timeout=self.http_timeout)
        except urllib.error.HTTPError as exc:
            return exc  # an HTTP error status is an answer, not a failure
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise host_error(f"host.http: {params.method or 'GET'} {url}: {reason}") from None

    @staticmethod
    def _headers(response: Any) -> t.Headers:
        grouped: dict[str, list[str]] = {}
        for key, value in response.headers.items():
            grouped.setdefault(key, []).append(value)
        return grouped

    def http_do(self, params: t.HostHTTPRequest) -> t.HTTPResponse:
        response = self._open(params)
        try:
            body = response.read()
        except OSError as exc:
            raise host_error(f"host.http: reading {params.url}: {exc}") from None
        finally:
            response.close()
        return t.HTTPResponse(status_code=response.status, headers=self._headers(response), body=body)

    def http_do_stream(self, params: t.HostHTTPRequest) -> t.HostHTTPStream:
        response = self._open(params)
        stream_id = f"http-{next(self._ids)}"
        with self._lock:
            self._http_streams[stream_id] = response
        return t.HostHTTPStream(status_code=response.status, headers=self._headers(response), stream_id=stream_id)

    def http_stream_read(self, params: t.HostStreamRef) -> t.HostStreamRead:
        response = self._http_streams.get(params.stream_id)
        if response is None:
            raise host_error(f"no open HTTP stream {params.stream_id!r}")
        try:
            data = response.read1(_READ_SIZE) if hasattr(response, "read1") else response.read(_READ_SIZE)
        except OSError as exc:
            self.http_stream_close(params)
            return t.HostStreamRead(error=str(exc), done=True)
        if not data:
            self.http_stream_close(params)
            return t.HostStreamRead(done=True)
        return t.HostStreamRead(payload=data)

    def http_stream_close(self, params: t.HostStreamRef) -> t.Empty:
        with self._lock:
            response = self._http_streams.pop(params.stream_id, None)
        if response is not None:
            response.close()
        return t.Empty()

    def close(self) -> None:
        """Close every open HTTP stream and end every executor stream (manager shutdown)."""
        with self._lock:
            responses, self._http_streams = list(self._http_streams.values()), {}
            streams = list(self.streams.values())
        for response in responses:
            response.close()
        for stream in streams:
            stream.close("host shut down")

    def handle(self, method: str, params: Any, plugin_id: str = "host") -> Any:
        """Answer a ``host.*`` method by name with typed params."""
        own = _OWN.get(method)
        if own == "log":
            return self.log(params, plugin_id)
        if own is not None:
            return getattr(self, own)(params)
        provided = self._provided.get(method)
        if provided is None:
            if method in abi.METHODS:
                raise host_error(f"host callback {method!r} has no host side here (its family's is not attached)")
            raise host_error(f"unknown host callback {method!r}")
        return provided(params, plugin_id)
