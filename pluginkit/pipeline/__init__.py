"""The request pipeline: plugins' hooks composed in the ABI's stage order, with schedulers, native translators and
executors, streams, usage records and a per-request trace."""

from pluginkit.pipeline._formats import normalize_format, usage_from_body
from pluginkit.pipeline._model import NativeExecutor, Request, Response, Trace, TraceStep, Translate
from pluginkit.pipeline._pipeline import ExecutorChoice, Pipeline, StageError
from pluginkit.pipeline._stream import HISTORY_BYTES, HISTORY_CHUNKS, StreamResponse

__all__ = [
    "HISTORY_BYTES",
    "HISTORY_CHUNKS",
    "ExecutorChoice",
    "NativeExecutor",
    "Pipeline",
    "Request",
    "Response",
    "StageError",
    "StreamResponse",
    "Trace",
    "TraceStep",
    "Translate",
    "normalize_format",
    "usage_from_body",
]
