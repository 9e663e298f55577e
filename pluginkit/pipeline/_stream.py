"""Streamed responses: each executor chunk through the response stages, and the object the caller iterates.

Per chunk: ``response.normalize_before`` → translation back to the client's format → ``response.normalize_after``
→ ``response.intercept_stream_chunk``. Interceptors get a header call (``chunk_index=-1``, no body) before the first
chunk, then one call per chunk; ``chunk_index`` counts dropped chunks too; ``history_chunks`` holds the chunks
already delivered, bounded to 64 chunks / 1 MiB. Stages nobody implements are skipped without a call, so a
stream with no response plugins costs one generator step per chunk.
"""

from __future__ import annotations

import collections
import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pluginkit import types as t
from pluginkit._dispatch import merge_headers, run_async
from pluginkit.pipeline._formats import usage_from_body
from pluginkit.pipeline._model import Request, Trace

if TYPE_CHECKING:
    from pluginkit.pipeline._pipeline import Pipeline

__all__ = ["HISTORY_BYTES", "HISTORY_CHUNKS", "ChunkProcessor", "StreamResponse"]

#: Notes nobody reads: only the first chunk's translation is recorded in the trace.
_DISCARD: list[tuple[str, str]] = []
HISTORY_CHUNKS = 64
HISTORY_BYTES = 1 << 20


class ChunkProcessor:
    """The response stages of one stream, with what they need precomputed once per stream."""

    def __init__(
        self,
        pipeline: Pipeline,
        request: Request,
        ereq: t.ExecutorRequest,
        out_format: str,
        request_headers: t.Headers,
        request_body: bytes,
        trace: Trace,
        usage: t.UsageRecord,
    ) -> None:
        self.pipeline = pipeline
        self.manager = pipeline.manager
        self.request = request
        self.ereq = ereq
        self.out_format = out_format
        self.usage = usage
        self.trace = trace
        self.translating = out_format != request.format
        self.normalizing_before = pipeline._has("response.normalize_before")
        self.normalizing_after = pipeline._has("response.normalize_after")
        self.intercepting = pipeline._has("response.intercept_stream_chunk")
        self.index = 0
        self.dropped = 0
        #: Who translated the first chunk (per-chunk stages are summarised once in the trace, not per chunk).
        self.translate_notes: list[tuple[str, str]] | None = [] if self.translating else None
        self.notes: list[tuple[str, str]] = []
        self.history: collections.deque[bytes] = collections.deque()
        self.history_bytes = 0
        self.response_headers: t.Headers = {"Content-Type": ["text/event-stream"]}
        # One params object per stream, updated per chunk: building an 11-field object per chunk would cost more
        # than the interceptor call itself. Interceptors get history as a fresh list each call.
        self.params = t.StreamChunkInterceptRequest(
            source_format=request.format,
            model=ereq.model,
            requested_model=request.model,
            request_headers=request_headers,
            response_headers=self.response_headers,
            original_request=request.body,
            request_body=request_body,
            metadata=dict(request.metadata),
        )
        self.translate_params = t.ResponseTranslateRequest(
            from_format=out_format,
            to_format=request.format,
            model=ereq.model,
            stream=True,
            original_request=request.body,
            translated_request=ereq.payload,
        )

    async def _call(self, method: str, params: Any) -> Any:
        plan = self.manager._plans.get(method) or self.manager._plan(method)
        if plan.inline:
            return plan.runner(plan, params, self.manager, None)
        return await run_async(plan, params, self.manager)

    async def header_call(self) -> t.Headers:
        """The ``chunk_index=-1`` call: interceptors may change the response headers before anything is sent."""
        if self.intercepting:
            started = time.perf_counter_ns()
            params = self.params
            params.chunk_index, params.body, params.history_chunks = -1, b"", []
            answer = await self.manager.acall("response.intercept_stream_chunk", params, notes=self.notes)
            self.response_headers = merge_headers(self.response_headers, answer.clear_headers, answer.headers)
            params.response_headers = self.response_headers
            self.trace.add("response.intercept_stream_chunk", started, "header call (index -1)", list(self.notes))
            # the per-chunk calls are summarised at the end of the stream under the same plugins
            self.notes[:] = [(plugin, "answered") for plugin, _ in self.notes]
        return self.response_headers

    async def process(self, chunk: bytes) -> bytes | None:
        """One executor chunk → the bytes to deliver, or ``None`` when an interceptor dropped it."""
        if b"usage" in chunk:
            usage_from_body(chunk, self.usage.detail)
        body = chunk
        if self.normalizing_before or self.translating or self.normalizing_after:
            params = self.translate_params
            params.body = body
            if self.normalizing_before:
                params.body = (await self._call("response.normalize_before", params)).body
            if self.translating:
                notes: list[tuple[str, str]] = [] if self.translate_notes == [] else _DISCARD
                params.body = await self.pipeline._translate(
                    self.out_format,
                    self.request.format,
                    self.ereq.model,
                    True,
                    params.body,
                    notes,
                    request=False,
                    original=self.request.body,
                    translated=self.ereq.payload,
                )
                if notes is not _DISCARD:
                    self.translate_notes = notes
            if self.normalizing_after:
                params.body = (await self._call("response.normalize_after", params)).body
            body = params.body
        if self.intercepting:
            params_i = self.params
            params_i.body, params_i.chunk_index, params_i.history_chunks = body, self.index, list(self.history)
            answer = await self._call("response.intercept_stream_chunk", params_i)
            self.index += 1
            if answer.drop_chunk:
                self.dropped += 1
                return None
            body = answer.body or body
            self.history.append(body)
            self.history_bytes += len(body)
            while len(self.history) > HISTORY_CHUNKS or self.history_bytes > HISTORY_BYTES:
                self.history_bytes -= len(self.history.popleft())
        else:
            self.index += 1
        return body


class StreamResponse:
    """What :meth:`Pipeline.stream` returns: iterate it for the chunks; ``headers``, ``trace`` and ``usage`` fill in
    as the stream runs. Leaving the loop early cancels the executor and releases the stream."""

    def __init__(self, pipeline: Pipeline, request: Request) -> None:
        self.pipeline = pipeline
        self.request = request
        self.trace = Trace()
        self.headers: t.Headers = {}
        self.credential = ""
        self.provider = ""
        self.usage = t.UsageRecord(model=request.model, requested_at=datetime.now(UTC), source=request.format)
        self._iterator: AsyncGenerator[bytes, None] | None = None

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        if self._iterator is None:
            self._iterator = self.pipeline._stream_chunks(self)
        return self._iterator

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def read(self) -> bytes:
        """The whole stream joined (for tests and simple hosts)."""
        return b"".join([chunk async for chunk in self])
