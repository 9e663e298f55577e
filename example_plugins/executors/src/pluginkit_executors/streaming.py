"""How an executor hands a stream of SSE events to the host: pushed with ``host.stream.emit``, or inline.

Pushing is the normal way: the host delivers the first event while the executor is still producing the next.
Inline (every event in the call's answer) is what an operator can ask for, and what happens when the call has no
``stream_id`` to push to.

A failure (an upstream error status, a broken upstream stream) is raised by the call and nothing else: the host
ends the stream with the call's error. Closing the stream with the error here as well would let a consumer read
that bare message before the call has finished, and lose the error's ``retryable``, ``http_status`` and
``retry_after``, which the pipeline needs to retry or cool the credential down.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Mapping

from pluginkit import PluginContext, PluginKitError
from pluginkit import types as t

__all__ = ["Events", "deliver"]

#: The SSE events of one answer, one event per item. Closing the generator releases what it holds.
Events = Generator[bytes, None, None]


def deliver(
    ctx: PluginContext,
    stream_id: str,
    events: Events,
    *,
    inline: bool = False,
    headers: Mapping[str, list[str]] | None = None,
) -> t.ExecutorStreamResult:
    """Send every event of ``events`` and end the stream; ``events`` is closed however this ends."""
    relayed = dict(headers or {})
    with contextlib.closing(events):
        if inline or not stream_id:
            return t.ExecutorStreamResult(headers=relayed, chunks=[t.StreamChunk(payload=event) for event in events])
        declared: Mapping[str, list[str]] | None = relayed  # the headers go with the first event
        for event in events:
            try:
                ctx.emit(stream_id, event, headers=declared)
                declared = None
            except PluginKitError as exc:
                # The consumer went away or stopped reading: the host has ended the stream; stop producing.
                ctx.log.info("stream %s stopped after the host refused a chunk: %s", stream_id, exc.message)
                return t.ExecutorStreamResult(headers=relayed)
    ctx.close_stream(stream_id)
    return t.ExecutorStreamResult(headers=relayed)
