"""Another replica, for test_redis: a plugin instance here streams until a user on another replica cancels it.

``python -m tests.messages.replica PREFIX``: prints the stream's ID, then how the stream ended."""

from __future__ import annotations

import sys
import time

from pluginkit.messages import MessageHub, PluginInstanceContext, RedisRelay, StreamError


def main(prefix: str) -> None:
    hub = MessageHub(relay=RedisRelay.from_url(prefix=prefix))
    ctx = PluginInstanceContext(hub, "words", instance_id="window-1")
    stream_id = ctx.send_message_stream_start()
    print(stream_id, flush=True)
    try:
        for number in range(3000):  # ~30 s at most
            ctx.send_message_stream(stream_id, f"word{number} ")
            time.sleep(0.01)
        print("not cancelled", flush=True)
    except StreamError as error:
        print(error.kind.name, flush=True)
    finally:
        hub.close()


if __name__ == "__main__":
    main(sys.argv[1])
