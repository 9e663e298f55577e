"""Two replicas share their streams through the Redis at 127.0.0.1:6379 (RedisRelay): a stream one serves is
watched, and cancelled by its user, from the other; a second process is the other replica."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from pluginkit.messages import FrontendEvent, MessageHub, RedisRelay, StreamStatus

ROOT = Path(__file__).resolve().parents[2]


def wait_for(subscription: object, kind: str, seen: list[FrontendEvent], timeout: float = 15.0) -> FrontendEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = subscription.get_nowait()  # type: ignore[attr-defined]
        if event is None:
            time.sleep(0.01)
            continue
        seen.append(event)
        if event.type == kind:
            return event
    raise AssertionError(f"no {kind} within {timeout} s; saw {[e.type for e in seen]}")


def test_a_stream_served_by_one_replica_is_watched_and_cancelled_from_another() -> None:
    prefix = f"pluginkit-test:{uuid.uuid4().hex}:"
    hub = MessageHub(relay=RedisRelay.from_url(prefix=prefix))
    other = subprocess.Popen(
        [sys.executable, "-m", "tests.messages.replica", prefix], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT,
    )
    try:
        watching = hub.subscribe(instance_id="window-1")
        assert other.stdout is not None
        stream_id = other.stdout.readline().strip()
        assert stream_id.startswith("stream_"), other.stderr.read() if other.stderr else ""
        seen: list[FrontendEvent] = []
        wait_for(watching, "stream_data", seen)  # chunks from the other replica arrive here
        assert seen[-1].payload["plugin_id"] == "words" and seen[-1].stream_id == stream_id
        assert hub.status(stream_id) is StreamStatus.ACTIVE  # what the serving replica published
        assert hub.streams() == []  # served elsewhere: not this hub's own
        assert not hub.cancel("another-window", stream_id)  # only the stream's own instance
        assert hub.cancel("window-1", stream_id)
        wait_for(watching, "stream_cancel", seen)  # the serving replica cancelled it and said so
        out, err = other.communicate(timeout=15)
        assert out.strip() == "STREAM_CANCELLED", err
        deadline = time.monotonic() + 5
        while hub.status(stream_id) is not StreamStatus.CANCELLED and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hub.status(stream_id) is StreamStatus.CANCELLED
        assert not hub.cancel("window-1", stream_id)  # once
    finally:
        if other.poll() is None:
            other.kill()
        hub.close()
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_a_hub_without_a_relay_knows_only_its_own_streams() -> None:
    hub = MessageHub()
    assert hub.status("stream_elsewhere") is None and not hub.cancel("window-1", "stream_elsewhere")
    hub.close()  # nothing to close
