"""The host side of plugin streams: the seed host's ``host_send_to_frontend``, a mirror of every stream's state,
and the frontends' subscriptions.

The seed host (``chat-client``, ``plugins/manager.rs``) parses each ``plugin-stream`` event a plugin sends,
refuses any event for a stream whose status is Cancelled, mirrors the status per event type (start and resume →
Active, data → Active or Finalizing, end → Completed or Error, pause → Paused, cancel → Cancelled) and forgets a
stream once it ended; a user's cancel sets Cancelled and sends ``stream_cancel`` itself. :class:`MessageHub` does
the same, and adds what the seed lacks:

- limits: open streams per plugin, bytes per chunk and per stream (past the stream's, it ends with Error);
- an idle timeout: a stream nothing was sent on for ``idle_timeout`` seconds ends with Error ("idle timeout");
- ended streams are remembered, boundedly, so that a late event for one is refused with the right error;
- frontends read through bounded subscriptions: one that falls ``maxsize`` events behind is closed with
  :class:`SubscriptionOverflow` and the streams go on for everyone else (a stalled window cannot hold up a plugin,
  and never silently misses a chunk in the middle of a reply).

Everything is thread-safe: plugins send from any thread, subscribers read on their own event loops.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Final

from pluginkit.errors import PluginKitError
from pluginkit.messages._states import ENDED, LIVE, StreamErrorKind, StreamStatus
from pluginkit.messages._types import CHANNEL_MESSAGE, CHANNEL_STREAM, FrontendEvent, StreamInfo

if TYPE_CHECKING:
    from pluginkit.messages._redis import RedisRelay

__all__ = ["MessageHub", "Subscription", "SubscriptionOverflow"]

log = logging.getLogger("pluginkit.messages")

#: Stream and message IDs: the seed's prefixes, then a random per-process part and a counter (the seed's
#: nanosecond clock can give two streams one ID).
_IDS = itertools.count((int.from_bytes(os.urandom(4)) >> 1 << 32) + 1)
#: The status an event sets on the host's mirror (data: Finalizing when final, else unchanged).
_MIRROR: Final = {
    "stream_start": StreamStatus.ACTIVE,
    "stream_resume": StreamStatus.ACTIVE,
    "stream_pause": StreamStatus.PAUSED,
    "stream_cancel": StreamStatus.CANCELLED,
}


def new_id(prefix: str) -> str:
    """``stream_…`` / ``message_…``: unique in the process and, with a random part, across replicas."""
    return f"{prefix}_{next(_IDS):016x}"


_monotonic = time.monotonic
_ACTIVE, _PAUSED, _FINALIZING = StreamStatus.ACTIVE, StreamStatus.PAUSED, StreamStatus.FINALIZING
_new = object.__new__


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SubscriptionOverflow(PluginKitError):
    """A subscriber fell too far behind: its subscription was closed (the streams go on for everyone else)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__("stream_send_failed", f"subscriber fell {maxsize} events behind and was dropped")


class _Stream:
    """The host's mirror of one stream."""

    __slots__ = ("bytes", "chunks", "created_at", "id", "instance_id", "plugin_id", "status", "touched")

    def __init__(self, stream_id: str, plugin_id: str, instance_id: str, now: float) -> None:
        self.id, self.plugin_id, self.instance_id = stream_id, plugin_id, instance_id
        self.status = StreamStatus.ACTIVE
        self.created_at = self.touched = now
        self.chunks = self.bytes = 0

    def info(self) -> StreamInfo:
        return StreamInfo(
            id=self.id, plugin_id=self.plugin_id, instance_id=self.instance_id, message_type="stream",
            status=self.status.value, created_at=int(self.created_at), chunks=self.chunks, bytes=self.bytes,
        )


class Subscription:
    """A frontend's view of the hub: ``async for event in subscription`` (or :meth:`get_nowait`) yields the
    :class:`~pluginkit.messages.FrontendEvent` objects of the plugins and instances it asked for, in order.
    ``close()`` (or leaving an ``async with``) ends it."""

    def __init__(self, hub: MessageHub, plugin_id: str | None, instance_id: str | None, maxsize: int) -> None:
        self._hub = hub
        self.plugin_id, self.instance_id, self.maxsize = plugin_id, instance_id, maxsize
        self._events: collections.deque[FrontendEvent] = collections.deque()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event, int] | None = None
        self._error: PluginKitError | None = None
        self.closed = False
        #: Woken since the reader last waited: later events need no wake-up of their own (one per burst).
        self._woken = False

    def _wants(self, plugin_id: str, instance_id: str) -> bool:
        return (self.plugin_id is None or self.plugin_id == plugin_id) and (
            self.instance_id is None or self.instance_id == instance_id
        )

    def _push(self, event: FrontendEvent) -> None:  # the hub's lock is held
        if self.closed:
            return
        if len(self._events) >= self.maxsize:
            self._end(SubscriptionOverflow(self.maxsize))
            return
        self._events.append(event)
        if not self._woken:
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is None:
            return
        self._woken = True
        loop, event, thread = waiter
        if thread == threading.get_ident():
            event.set()
        else:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed: nobody is reading
                self._waiter = None

    def _end(self, error: PluginKitError | None) -> None:
        self.closed, self._error = True, error
        self._hub._unsubscribe(self)
        self._wake()

    def get_nowait(self) -> FrontendEvent | None:
        """The next event if one is waiting, else ``None`` (raises :class:`SubscriptionOverflow` once dropped)."""
        if self._events:
            return self._events.popleft()
        if self._error is not None:
            raise self._error
        return None

    def close(self) -> None:
        with self._hub._lock:
            if not self.closed:
                self._end(None)

    def __aiter__(self) -> AsyncIterator[FrontendEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FrontendEvent]:
        event = asyncio.Event()
        self._waiter = (asyncio.get_running_loop(), event, threading.get_ident())
        events = self._events
        try:
            while True:
                while events:  # everything waiting, without a turn of the loop per event
                    yield events.popleft()
                if self.closed:
                    if self._error is not None:
                        raise self._error
                    return
                event.clear()
                self._woken = False
                if not events and not self.closed:
                    await event.wait()
        finally:
            self._waiter = None

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class MessageHub:
    """Where plugin instances' stream events meet the frontends (see the module's docstring).

    ``max_streams_per_plugin``: open streams one plugin may have; ``max_chunk_bytes`` and ``max_stream_bytes``: the
    UTF-8 size of one chunk and of everything one stream delivers; ``idle_timeout`` (seconds, ``None`` for none);
    ``keep_ended``: how many ended streams are remembered for late events; ``relay``: a
    :class:`~pluginkit.messages.RedisRelay` sharing the streams with other replicas (watch and cancel from any).
    """

    def __init__(
        self,
        *,
        max_streams_per_plugin: int = 64,
        max_chunk_bytes: int = 64 * 1024,
        max_stream_bytes: int = 16 * 1024 * 1024,
        idle_timeout: float | None = 300.0,
        keep_ended: int = 4096,
        relay: RedisRelay | None = None,
    ) -> None:
        self.max_streams_per_plugin = max_streams_per_plugin
        self.max_chunk_bytes, self.max_stream_bytes = max_chunk_bytes, max_stream_bytes
        self.idle_timeout, self.keep_ended = idle_timeout, keep_ended
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self._open_per_plugin: collections.Counter[str] = collections.Counter()
        self._ended: collections.OrderedDict[str, StreamStatus] = collections.OrderedDict()
        self._subscriptions: list[Subscription] = []
        self._callbacks: list[tuple[Callable[[FrontendEvent], None], str | None, str | None]] = []
        self._next_expiry = 0.0 if idle_timeout is not None else math.inf  # when to look for idle streams next
        #: Wall clock minus the monotonic one, refreshed by every event but chunks: a chunk's timestamp comes
        #: from the monotonic reading it takes anyway (one clock call a chunk instead of two).
        self._wall_offset = time.time() - time.monotonic()
        #: Events ended by the hub itself under its lock (idle streams), for the callbacks once it is released.
        self._expired: list[FrontendEvent] = []
        #: Shares the streams with other replicas' hubs (``None``: this process only).
        self.relay = relay
        if relay is not None:
            relay.attach(self)

    # -- frontends ---------------------------------------------------------------------------------------------
    def subscribe(
        self, *, plugin_id: str | None = None, instance_id: str | None = None, maxsize: int = 1024
    ) -> Subscription:
        """Events of one plugin, one instance, or everything, from now on."""
        subscription = Subscription(self, plugin_id, instance_id, maxsize)
        with self._lock:
            self._subscriptions = [*self._subscriptions, subscription]  # senders iterate a list nobody changes
        return subscription

    def on_event(
        self, callback: Callable[[FrontendEvent], None], *, plugin_id: str | None = None,
        instance_id: str | None = None,
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for each event, in the sender's thread; returns the function that stops it.
        A callback that raises is logged and kept."""
        entry = (callback, plugin_id, instance_id)
        with self._lock:
            self._callbacks = [*self._callbacks, entry]

        def stop() -> None:
            with self._lock:
                self._callbacks = [c for c in self._callbacks if c is not entry]

        return stop

    def _unsubscribe(self, subscription: Subscription) -> None:  # the lock is held
        self._subscriptions = [s for s in self._subscriptions if s is not subscription]

    # -- what plugins send -------------------------------------------------------------------------------------
    def send_to_frontend(self, plugin_id: str, instance_id: str, event: str, payload: str) -> bool:
        """The seed's host callback: ``event`` is the channel, ``payload`` its JSON text. ``plugin-stream`` payloads
        are parsed, checked and mirrored as the seed host does; other channels pass through. ``False`` when the
        hub refuses (a cancelled, ended or unknown stream, a limit) or the payload is not what the channel takes."""
        try:
            data = json.loads(payload)
        except (TypeError, ValueError):
            return False
        if not isinstance(data, dict):
            return False
        if event != CHANNEL_STREAM:
            self._publish(FrontendEvent(event, data), plugin_id, instance_id)
            return True
        kind, body = data.get("type"), data.get("data")
        if not isinstance(kind, str) or not isinstance(body, dict):
            return False
        return self.deliver(plugin_id, instance_id, kind, body) is None

    def deliver(
        self, plugin_id: str, instance_id: str, kind: str, data: dict[str, Any]
    ) -> StreamErrorKind | PluginKitError | None:
        """A typed ``plugin-stream`` event (``kind`` ``stream_start`` … and its ``data``): ``None`` when delivered,
        else why not — ``STREAM_CANCELLED`` (the user cancelled it), ``STREAM_ALREADY_ENDED``, ``STREAM_NOT_FOUND``
        or a ``stream_limit`` error."""
        refused = self._deliver(plugin_id, instance_id, kind, data)
        if self._expired:
            self._call_back(None)
        return refused

    def send_chunk(
        self, plugin_id: str, instance_id: str, stream_id: str, chunk: str, is_final: bool
    ) -> StreamErrorKind | PluginKitError | None:
        """``deliver(…, "stream_data", {stream_id, chunk, is_final})`` for a chunk every check passes, written out
        (each chunk of every stream comes here); anything else goes the general way."""
        size = len(chunk) if chunk.isascii() else len(chunk.encode())
        now = _monotonic()
        lock = self._lock
        lock.acquire()
        try:
            stream = self._streams.get(stream_id)
            if (
                stream is None or stream.plugin_id != plugin_id or size > self.max_chunk_bytes
                or stream.bytes + size > self.max_stream_bytes or now >= self._next_expiry
            ):
                event = None
            else:
                stream.touched = now
                stream.chunks += 1
                stream.bytes += size
                if is_final:
                    stream.status = _FINALIZING
                elif stream.status is _PAUSED:  # the seed host: data → Active
                    stream.status = _ACTIVE
                event = _new(FrontendEvent)  # its envelope is built when read (FrontendEvent.payload)
                event.channel, event._payload = CHANNEL_STREAM, None
                event._chunk = (plugin_id, instance_id, stream_id, chunk, is_final, now + self._wall_offset)
                for subscription in self._subscriptions:
                    if (subscription.plugin_id is None or subscription.plugin_id == plugin_id) and (
                        subscription.instance_id is None or subscription.instance_id == instance_id
                    ):
                        queued = subscription._events  # Subscription._push, written out for the common case
                        if subscription.closed or len(queued) >= subscription.maxsize:
                            subscription._push(event)
                        else:
                            queued.append(event)
                            if not subscription._woken:
                                subscription._wake()
                if self.relay is not None:
                    self.relay.published(event, plugin_id, instance_id)
        finally:
            lock.release()
        if event is None:
            return self.deliver(
                plugin_id, instance_id, "stream_data", {"stream_id": stream_id, "chunk": chunk, "is_final": is_final}
            )
        if self._callbacks or self._expired:
            self._call_back(event, plugin_id, instance_id)
        return None

    def _deliver(
        self, plugin_id: str, instance_id: str, kind: str, data: dict[str, Any]
    ) -> StreamErrorKind | PluginKitError | None:
        stream_id = data.get("stream_id")
        if not isinstance(stream_id, str) or not stream_id:
            return StreamErrorKind.INVALID_STREAM_ID
        now = time.monotonic()
        ended_event = None
        with self._lock:
            self._wall_offset = time.time() - now
            if self.idle_timeout is not None and now >= self._next_expiry:
                self._expire(now)
            stream = self._streams.get(stream_id)
            if kind == "stream_start":
                if stream is not None or stream_id in self._ended:
                    return StreamErrorKind.INVALID_STREAM_ID
                if self._open_per_plugin[plugin_id] >= self.max_streams_per_plugin:
                    return PluginKitError(
                        "stream_limit", f"plugin {plugin_id!r} has {self.max_streams_per_plugin} open streams"
                    )
                stream = self._streams[stream_id] = _Stream(stream_id, plugin_id, instance_id, time.time())
                stream.touched = now
                self._open_per_plugin[plugin_id] += 1
            else:
                if stream is None:
                    ended = self._ended.get(stream_id)
                    if ended is StreamStatus.CANCELLED:
                        return StreamErrorKind.STREAM_CANCELLED
                    return StreamErrorKind.STREAM_NOT_FOUND if ended is None else StreamErrorKind.STREAM_ALREADY_ENDED
                if stream.plugin_id != plugin_id:  # one plugin's stream is not another's to drive
                    return StreamErrorKind.STREAM_NOT_FOUND
                stream.touched = now
                if kind == "stream_data":
                    chunk = data.get("chunk", "")
                    size = len(chunk.encode()) if isinstance(chunk, str) else 0
                    if size > self.max_chunk_bytes:
                        return PluginKitError(
                            "stream_limit", f"a chunk of {size} bytes (at most {self.max_chunk_bytes})"
                        )
                    if stream.bytes + size > self.max_stream_bytes:
                        ended_event = self._end(stream, StreamStatus.ERROR, "stream byte limit reached")
                        error = PluginKitError(
                            "stream_limit", f"stream {stream_id} passed {self.max_stream_bytes} bytes"
                        )
                    else:
                        stream.chunks += 1
                        stream.bytes += size
                        if data.get("is_final") is True:
                            stream.status = StreamStatus.FINALIZING
                        elif stream.status is StreamStatus.PAUSED:  # the seed host: data → Active
                            stream.status = StreamStatus.ACTIVE
                elif kind == "stream_end":
                    status = StreamStatus.COMPLETED if data.get("success") is True else StreamStatus.ERROR
                    self._forget(stream, status)
                elif kind in _MIRROR:
                    status = _MIRROR[kind]
                    if status in ENDED:
                        self._forget(stream, status)
                    else:
                        stream.status = status
                else:
                    return StreamErrorKind.INVALID_STATE
            if ended_event is None:
                event = FrontendEvent(CHANNEL_STREAM, {
                    "type": kind, "plugin_id": plugin_id, "instance_id": instance_id, "data": data,
                    "timestamp": _now_ms(),
                })
                self._push(event, plugin_id, instance_id)
            else:
                event = ended_event
        self._call_back(event, plugin_id, instance_id)
        return None if ended_event is None else error

    def send_message(self, plugin_id: str, instance_id: str, content: str) -> FrontendEvent:
        """A plain reply (``plugin-message``), as the seed host sends a ``handle_message`` answer."""
        event = FrontendEvent(CHANNEL_MESSAGE, {
            "message_type": "plugin_message", "plugin_id": plugin_id, "instance_id": instance_id,
            "message_id": new_id("message"), "content": content, "timestamp": _now_ms(),
        })
        self._publish(event, plugin_id, instance_id)
        return event

    # -- the user's side -----------------------------------------------------------------------------------------
    def cancel(self, instance_id: str, stream_id: str) -> bool:
        """The user cancels a stream of ``instance_id``: it becomes Cancelled, the frontends get ``stream_cancel``
        from the host, and the plugin's next send for it fails with ``StreamCancelled``. ``False`` when the stream
        is not an open stream of that instance."""
        relay = self.relay
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                if relay is None or stream_id in self._ended:
                    return False
            elif stream.instance_id != instance_id or stream.status not in LIVE:
                return False
            else:
                event = self._end(stream, StreamStatus.CANCELLED, "")
        if stream is None:  # served by another replica, maybe
            return relay is not None and relay.cancel(instance_id, stream_id)
        self._call_back(event, stream.plugin_id, instance_id)
        return True

    # -- reading the mirror ----------------------------------------------------------------------------------------
    def status(self, stream_id: str) -> StreamStatus | None:
        """The host's view of a stream (ended streams while remembered), ``None`` when unknown."""
        with self._lock:
            stream = self._streams.get(stream_id)
            status = stream.status if stream is not None else self._ended.get(stream_id)
        if status is None and self.relay is not None:
            return self.relay.status(stream_id)
        return status

    def streams(self, *, plugin_id: str | None = None, instance_id: str | None = None) -> list[StreamInfo]:
        """The open streams, oldest first, of one plugin or instance or all."""
        with self._lock:
            if self.idle_timeout is not None:
                self._expire(time.monotonic())
            found = [
                s.info() for s in self._streams.values()
                if (plugin_id is None or s.plugin_id == plugin_id)
                and (instance_id is None or s.instance_id == instance_id)
            ]
        self._call_back(None)
        return found

    def expire(self) -> int:
        """End the streams idle for longer than ``idle_timeout`` now (also done as the hub is used); how many."""
        with self._lock:
            count = self._expire(time.monotonic())
        self._call_back(None)
        return count

    # -- inside the lock -------------------------------------------------------------------------------------------
    def _expire(self, now: float) -> int:
        timeout = self.idle_timeout
        if timeout is None:
            return 0
        self._next_expiry = now + min(1.0, timeout / 4)
        idle = [s for s in self._streams.values() if now - s.touched > timeout]
        for stream in idle:
            self._expired.append(self._end(stream, StreamStatus.ERROR, "idle timeout"))
        return len(idle)

    def _end(self, stream: _Stream, status: StreamStatus, error: str) -> FrontendEvent:
        """End ``stream`` from the host's side: forgotten, and the frontends told (``stream_cancel`` for a user's
        cancel, else ``stream_end`` with the error)."""
        self._forget(stream, status)
        data: dict[str, Any] = {"stream_id": stream.id}
        if status is StreamStatus.CANCELLED:
            kind = "stream_cancel"
        else:
            kind, data["success"], data["error"] = "stream_end", False, error
        event = FrontendEvent(CHANNEL_STREAM, {
            "type": kind, "plugin_id": stream.plugin_id, "instance_id": stream.instance_id, "data": data,
            "timestamp": _now_ms(),
        })
        self._push(event, stream.plugin_id, stream.instance_id)
        return event

    def _forget(self, stream: _Stream, status: StreamStatus) -> None:
        stream.status = status
        del self._streams[stream.id]
        self._open_per_plugin[stream.plugin_id] -= 1
        if not self._open_per_plugin[stream.plugin_id]:
            del self._open_per_plugin[stream.plugin_id]
        ended = self._ended
        ended[stream.id] = status
        if len(ended) > self.keep_ended:
            ended.popitem(last=False)

    def _push(self, event: FrontendEvent, plugin_id: str, instance_id: str, *, relayed: bool = False) -> None:
        for subscription in self._subscriptions:
            if subscription._wants(plugin_id, instance_id):
                subscription._push(event)
        if self.relay is not None and not relayed:
            self.relay.published(event, plugin_id, instance_id)

    def _relayed(self, event: FrontendEvent, plugin_id: str, instance_id: str) -> None:
        """Another replica's event (from the relay): for this hub's subscribers and callbacks."""
        with self._lock:
            self._push(event, plugin_id, instance_id, relayed=True)
        self._call_back(event, plugin_id, instance_id)

    def close(self) -> None:
        """Stop relaying to other replicas (a hub without a relay has nothing to close)."""
        if self.relay is not None:
            self.relay.close()

    def _publish(self, event: FrontendEvent, plugin_id: str, instance_id: str) -> None:
        with self._lock:
            self._push(event, plugin_id, instance_id)
        self._call_back(event, plugin_id, instance_id)

    def _call_back(self, event: FrontendEvent | None, plugin_id: str = "", instance_id: str = "") -> None:
        """Run the callbacks for ``event`` and for the streams the hub ended meanwhile (outside the lock: a
        callback may use the hub)."""
        if self._expired:
            with self._lock:
                expired, self._expired = self._expired, []
            for ended in expired:
                self._call_back(ended, ended.payload["plugin_id"], ended.payload["instance_id"])
        if event is None:
            return
        for callback, plugin, instance in self._callbacks:
            if (plugin is None or plugin == plugin_id) and (instance is None or instance == instance_id):
                try:
                    callback(event)
                except Exception:
                    log.exception("a frontend callback failed on a %s event", event.type)
