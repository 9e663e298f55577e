"""What goes into and comes out of the pipeline, and the trace every response carries."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import attrs

from pluginkit import types as t

__all__ = ["NativeExecutor", "Request", "Response", "Trace", "TraceStep", "Translate"]

#: A native translator: (body, model, stream) → body in the target format.
Translate = Callable[[bytes, str, bool], bytes]


@attrs.define
class Request:
    """A client request as the host received it.

    ``format`` is the client's API format (``openai``, ``openai-response``, ``claude``, ``gemini``, …);
    ``method``/``path``/``query`` are what ``frontend_auth.authenticate`` sees.
    """

    format: str
    model: str
    body: bytes
    stream: bool = False
    headers: dict[str, list[str]] = attrs.field(factory=dict)
    metadata: dict[str, Any] = attrs.field(factory=dict)
    request_id: str = attrs.field(factory=lambda: uuid.uuid4().hex[:16])
    method: str = "POST"
    path: str = "/v1/chat/completions"
    query: dict[str, list[str]] = attrs.field(factory=dict)
    #: Reasoning settings for ``thinking.apply`` (``None``: leave the body as it is).
    thinking: t.ThinkingConfig | None = None


@attrs.frozen
class TraceStep:
    """One stage of one request: its ABI method, who ran, how long it took, what was decided."""

    stage: str
    plugins: tuple[str, ...]
    seconds: float
    decision: str


class Trace:
    """The stages a request went through, recorded as raw tuples (cheap) and shaped into :class:`TraceStep`
    objects only when read."""

    __slots__ = ("_raw",)

    def __init__(self) -> None:
        self._raw: list[tuple[str, tuple[str, ...], int, str]] = []

    def add(self, stage: str, started_ns: int, decision: str = "", notes: list[tuple[str, str]] | None = None) -> None:
        plugins = tuple(f"{plugin} ({outcome})" if outcome != "answered" else plugin for plugin, outcome in notes or ())
        self._raw.append((stage, plugins, time.perf_counter_ns() - started_ns, decision))

    @property
    def steps(self) -> list[TraceStep]:
        return [TraceStep(stage, plugins, ns / 1e9, decision) for stage, plugins, ns, decision in self._raw]

    def table(self) -> str:
        """The trace as a readable table, one row per stage under its ABI method name."""
        rows = [(s.stage, ", ".join(s.plugins) or "-", f"{s.seconds * 1000:.2f} ms", s.decision) for s in self.steps]
        headers = ("stage", "plugins", "time", "decision")
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(4)]
        lines = [
            "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in [headers, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __len__(self) -> int:
        return len(self._raw)


@attrs.define
class Response:
    """A whole response: status, headers and body in the client's format, the trace and the usage record."""

    status: int
    headers: dict[str, list[str]]
    body: bytes
    trace: Trace
    usage: t.UsageRecord
    #: The credential that served the request and its provider.
    credential: str = ""
    provider: str = ""


class NativeExecutor(Protocol):
    """An executor the host implements itself (native executors win over plugin executors for a provider)."""

    async def execute(self, request: t.ExecutorRequest) -> t.ExecutorResponse: ...

    def execute_stream(self, request: t.ExecutorRequest) -> AsyncIterator[bytes]: ...
