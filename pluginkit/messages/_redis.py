"""``RedisRelay``: hubs of several replicas sharing their streams through Redis.

A host running as several replicas serves a plugin's stream on one of them, while the user's window may be
connected to another. With a relay, every hub publishes its streams' events to Redis and keeps each stream's state
there (a hash per stream, ``<prefix>stream:<id>``); every other hub hands those events to its own subscribers and
answers ``status`` for them; a user's ``cancel`` on any replica reaches the replica serving the stream, which
cancels it as if its own user had (``<prefix>cancel:<replica>``), and the ``stream_cancel`` comes back through
Redis like any event.

Publishing never blocks a plugin: events go to a queue that one thread sends to Redis in pipelined batches. A
Redis that is down loses the events meant for other replicas (logged), never the local ones.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from typing import TYPE_CHECKING, Any, Final

from pluginkit.messages._states import LIVE, StreamStatus
from pluginkit.messages._types import CHANNEL_STREAM, FrontendEvent

if TYPE_CHECKING:
    from pluginkit.messages._hub import MessageHub

__all__ = ["RedisRelay"]

log = logging.getLogger("pluginkit.messages")
#: The status a relayed event sets in the stream's hash (data sets Finalizing only when final).
_STATUS: Final = {
    "stream_start": StreamStatus.ACTIVE, "stream_resume": StreamStatus.ACTIVE, "stream_pause": StreamStatus.PAUSED,
    "stream_cancel": StreamStatus.CANCELLED,
}
_STOP: Final = object()


class RedisRelay:
    """Share a :class:`~pluginkit.messages.MessageHub`'s streams with other replicas: ``MessageHub(relay=...)``.

    ``client`` is a ``redis.Redis`` (synchronous); ``prefix`` keeps several hosts apart on one Redis;
    ``ttl`` (seconds) is how long a stream's hash outlives its last event.
    """

    def __init__(self, client: Any, *, prefix: str = "pluginkit:", ttl: int = 3600) -> None:
        self._redis = client
        self.prefix, self.ttl = prefix, ttl
        #: This replica's name on the bus (random): its own events are not handed back to it.
        self.replica = os.urandom(6).hex()
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._hub: MessageHub | None = None
        self._pubsub: Any = None
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_url(cls, url: str = "redis://127.0.0.1:6379/0", **kwargs: Any) -> RedisRelay:
        import redis  # deferred: an optional dependency (pluginkit[redis])

        return cls(redis.Redis.from_url(url), **kwargs)

    # -- the hub's side ------------------------------------------------------------------------------------------
    def attach(self, hub: MessageHub) -> None:
        """Start relaying ``hub``'s events, and listening for the other replicas' (the hub calls this)."""
        self._hub = hub
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(f"{self.prefix}events", f"{self.prefix}cancel:{self.replica}")
        for target, name in ((self._publish_loop, "publisher"), (self._listen_loop, "listener")):
            thread = threading.Thread(target=target, name=f"pluginkit-relay-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def published(self, event: FrontendEvent, plugin_id: str, instance_id: str) -> None:
        """A local event, for the other replicas (never blocks)."""
        self._outbox.put((event, plugin_id, instance_id))

    def status(self, stream_id: str) -> StreamStatus | None:
        """A stream's status as the replica serving it last published it, ``None`` when Redis knows none."""
        value = self._redis.hget(self._key(stream_id), "status")
        return StreamStatus(value.decode()) if value else None

    def cancel(self, instance_id: str, stream_id: str) -> bool:
        """A user's cancel for a stream another replica serves: ``True`` when it is an open stream of
        ``instance_id`` and its replica is listening (it cancels the stream and the frontends hear of it)."""
        fields = self._redis.hgetall(self._key(stream_id))
        state = {k.decode(): v.decode() for k, v in fields.items()}
        if state.get("instance_id") != instance_id or StreamStatus(state.get("status", "Error")) not in LIVE:
            return False
        order = json.dumps({"instance_id": instance_id, "stream_id": stream_id})
        return int(self._redis.publish(f"{self.prefix}cancel:{state['replica']}", order)) > 0

    def close(self) -> None:
        """Stop relaying (what is queued is sent first)."""
        self._outbox.put(_STOP)
        if self._pubsub is not None:
            self._pubsub.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    # -- threads ---------------------------------------------------------------------------------------------------
    def _key(self, stream_id: str) -> str:
        return f"{self.prefix}stream:{stream_id}"

    def _publish_loop(self) -> None:
        outbox, stopping = self._outbox, False
        while not stopping:
            batch = [outbox.get()]
            while not outbox.empty() and len(batch) < 512:  # what queued meanwhile goes in the same round trip
                batch.append(outbox.get())
            if _STOP in batch:
                batch, stopping = [b for b in batch if b is not _STOP], True
            if not batch:
                continue
            try:
                self._send(batch)
            except Exception:  # Redis down: the other replicas miss these events; the local ones are delivered
                log.exception("could not relay %d stream event(s) to Redis", len(batch))

    def _send(self, batch: list[tuple[FrontendEvent, str, str]]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for event, plugin_id, instance_id in batch:
            message = {"replica": self.replica, "channel": event.channel, "plugin_id": plugin_id,
                       "instance_id": instance_id, "payload": event.payload}
            pipe.publish(f"{self.prefix}events", json.dumps(message, ensure_ascii=False, separators=(",", ":")))
            if event.channel != CHANNEL_STREAM:
                continue
            kind, data = event.type, event.payload.get("data") or {}
            key = self._key(event.stream_id)
            status = _STATUS.get(kind)
            if kind == "stream_start":
                pipe.hset(key, mapping={"plugin_id": plugin_id, "instance_id": instance_id,
                                        "replica": self.replica, "status": StreamStatus.ACTIVE.value})
            elif kind == "stream_end":
                status = StreamStatus.COMPLETED if data.get("success") is True else StreamStatus.ERROR
            elif kind == "stream_data" and data.get("is_final") is True:
                status = StreamStatus.FINALIZING
            if status is not None and kind != "stream_start":
                pipe.hset(key, "status", status.value)
            if status is not None:
                pipe.expire(key, self.ttl)
        pipe.execute()

    def _listen_loop(self) -> None:
        hub, cancels = self._hub, f"{self.prefix}cancel:{self.replica}"
        assert hub is not None
        try:
            for message in self._pubsub.listen():
                try:
                    data = json.loads(message["data"])
                    channel = message["channel"].decode()
                    if channel == cancels:
                        hub.cancel(data["instance_id"], data["stream_id"])
                    elif data["replica"] != self.replica:
                        event = FrontendEvent(data["channel"], data["payload"])
                        hub._relayed(event, data["plugin_id"], data["instance_id"])
                except Exception:
                    log.exception("could not take a relayed stream event")
        except Exception:  # the connection closed (close(), or Redis went away)
            log.debug("stream relay listener stopped", exc_info=True)
