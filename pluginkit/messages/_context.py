"""``PluginInstanceContext``: what one live instance of a message plugin holds, and the seed's stream API on it.

The seed (``plugin-interfaces``) gives every plugin the nine ``PluginStreamMessage`` methods, each taking the
instance's context; its HEAD looks the context up by instance instead. Here they are the context's own methods,
with the seed's names: ``ctx.send_message_stream_start()``, ``ctx.send_message_stream(stream_id, chunk)`` … Each
has an ``…_async`` form for ``async def`` plugins (the hub never blocks, so both are immediate).

The plugin's side keeps its own view of its streams, as the seed's plugin-side map does, and checks every call
against :data:`~pluginkit.messages._states.OPERATIONS` before anything is sent; the host's side
(:class:`~pluginkit.messages.MessageHub`) refuses what the user cancelled or a limit forbids. Unlike the seed,
the view is per instance (``list_active_streams`` lists this instance's streams: the seed compares a plugin ID
with an instance ID and misses them) and forgets ended streams beyond the last ``KEEP_ENDED``.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from pluginkit.errors import PluginKitError
from pluginkit.messages._hub import MessageHub, new_id
from pluginkit.messages._states import LIVE, Operation, StreamError, StreamErrorKind, StreamStatus, refusal
from pluginkit.messages._types import HistoryMessage, InstanceMetadata

__all__ = ["KEEP_ENDED", "PluginInstanceContext"]

_ACTIVE, _FINALIZING = StreamStatus.ACTIVE, StreamStatus.FINALIZING
#: Ended streams an instance still answers ``get_stream_status`` for.
KEEP_ENDED: Final = 256

#: ``call_other_plugin(plugin_id, message) -> reply or None``, as the host provides it.
CallOther = Callable[[str, str], "str | None"]
#: The host app's settings: a mapping, or a function of the key (``None``: it has none).
AppConfig = Mapping[str, str] | Callable[[str], str | None] | None


def app_config_value(config: AppConfig, key: str) -> str | None:
    """The seed's ``get_app_config(key)``: the setting, or ``None``."""
    if config is None:
        return None
    return config(key) if callable(config) else config.get(key)


class PluginInstanceContext:
    """One plugin instance: its ID, metadata and history, the host callbacks, and the stream API.

    ``app_config`` answers ``get_app_config(key)`` (a mapping, or a function of the key); ``call_other_plugin``
    is the host's way to another plugin (``None`` answers ``None``, as a host without one does).
    """

    def __init__(
        self,
        hub: MessageHub,
        plugin_id: str,
        metadata: InstanceMetadata | None = None,
        *,
        instance_id: str | None = None,
        history: Iterable[HistoryMessage] | None = None,
        app_config: AppConfig = None,
        call_other_plugin: CallOther | None = None,
    ) -> None:
        metadata = metadata if metadata is not None else InstanceMetadata(id=plugin_id)
        self.plugin_id = plugin_id
        #: The seed: ``metadata.instance_id``, or ``metadata.id`` when it has none.
        self.instance_id = instance_id or metadata.instance_id or metadata.id or plugin_id
        self.metadata = metadata
        self.history: list[HistoryMessage] | None = list(history) if history is not None else None
        self._hub = hub
        self._app_config = app_config
        self._call_other = call_other_plugin
        self._lock = threading.Lock()
        self._streams: dict[str, StreamStatus] = {}
        self._ended: collections.deque[str] = collections.deque()

    def __repr__(self) -> str:
        return f"PluginInstanceContext(plugin_id={self.plugin_id!r}, instance_id={self.instance_id!r})"

    # -- the seed's accessors ------------------------------------------------------------------------------------
    def get_instance_id(self) -> str:
        return self.instance_id

    def get_metadata(self) -> InstanceMetadata:
        return self.metadata

    def set_history(self, history: Iterable[HistoryMessage]) -> None:
        self.history = list(history)

    def get_history(self) -> list[HistoryMessage] | None:
        return self.history

    def clear_history(self) -> None:
        self.history = None

    # -- host callbacks ------------------------------------------------------------------------------------------
    def send_to_frontend(self, event: str, payload: str) -> bool:
        """Send ``payload`` (JSON text) to the frontends on channel ``event``; ``False`` when the host refuses."""
        return self._hub.send_to_frontend(self.plugin_id, self.instance_id, event, payload)

    def get_app_config(self, key: str) -> str | None:
        return app_config_value(self._app_config, key)

    def call_other_plugin(self, plugin_id: str, message: str) -> str | None:
        return None if self._call_other is None else self._call_other(plugin_id, message)

    # -- the stream API (the seed's method names) ----------------------------------------------------------------
    def send_message_stream_start(self) -> str:
        """Open a stream; its ID. The stream exists only if the frontends were told (else ``SendFailed``)."""
        stream_id = new_id("stream")
        refused = self._hub.deliver(
            self.plugin_id, self.instance_id, "stream_start", {"stream_id": stream_id, "message_type": "stream_start"}
        )
        if refused is not None:
            raise self._error(refused, stream_id, Operation.START)
        with self._lock:
            self._streams[stream_id] = StreamStatus.ACTIVE
        return stream_id

    def send_message_stream(self, stream_id: str, chunk: str, is_final: bool = False) -> None:
        """Send one chunk; ``is_final`` moves the stream to Finalizing."""
        # _check and _send_chunk written out for the legal case: every chunk of every stream comes here
        status = self._streams.get(stream_id)
        if status is not _ACTIVE and status is not _FINALIZING:  # the table says why not
            self._check(Operation.SEND, stream_id)
        if chunk.__class__ is not str:
            self._send_chunk(stream_id, chunk, is_final)  # refuses it
            return
        refused = self._hub.send_chunk(self.plugin_id, self.instance_id, stream_id, chunk, is_final)
        if refused is not None:
            raise self._error(refused, stream_id, Operation.SEND)
        if is_final:
            self._set(stream_id, StreamStatus.FINALIZING)

    def send_message_stream_batch(self, stream_id: str, chunks: Iterable[str]) -> None:
        """Send chunks in order, the last one final; stops at the first that fails (and raises its error)."""
        self._check(Operation.BATCH, stream_id)
        chunks = list(chunks)
        for index, chunk in enumerate(chunks):
            self._send_chunk(stream_id, chunk, index == len(chunks) - 1)

    def send_message_stream_end(self, stream_id: str, success: bool = True, error_msg: str | None = None) -> None:
        """End the stream: Completed, or Error with ``error_msg``. Allowed from any state, as in the seed."""
        self._check(Operation.END, stream_id)
        data = {"stream_id": stream_id, "success": success, "error": error_msg}
        refused = self._hub.deliver(self.plugin_id, self.instance_id, "stream_end", data)
        if refused is not None:
            raise self._error(refused, stream_id, Operation.END)
        self._set(stream_id, StreamStatus.COMPLETED if success else StreamStatus.ERROR)

    def send_message_stream_pause(self, stream_id: str) -> None:
        """Pause an Active stream (back to Active when the frontends cannot be told)."""
        self._control(Operation.PAUSE, stream_id, StreamStatus.PAUSED, "stream_pause", rollback=True)

    def send_message_stream_resume(self, stream_id: str) -> None:
        """Resume a Paused stream (back to Paused when the frontends cannot be told)."""
        self._control(Operation.RESUME, stream_id, StreamStatus.ACTIVE, "stream_resume", rollback=True)

    def send_message_stream_cancel(self, stream_id: str) -> None:
        """Cancel an open stream; it stays Cancelled even when the frontends cannot be told."""
        self._control(Operation.CANCEL, stream_id, StreamStatus.CANCELLED, "stream_cancel", rollback=False)

    def get_stream_status(self, stream_id: str) -> StreamStatus | None:
        """This instance's view of a stream, ``None`` when it does not know it."""
        return self._streams.get(stream_id)

    def list_active_streams(self) -> list[str]:
        """The IDs of this instance's Active, Paused and Finalizing streams."""
        with self._lock:
            return [stream_id for stream_id, status in self._streams.items() if status in LIVE]

    # async forms: the hub never blocks, so they answer at once
    async def send_message_stream_start_async(self) -> str:
        return self.send_message_stream_start()

    async def send_message_stream_async(self, stream_id: str, chunk: str, is_final: bool = False) -> None:
        self.send_message_stream(stream_id, chunk, is_final)

    async def send_message_stream_batch_async(self, stream_id: str, chunks: Iterable[str]) -> None:
        self.send_message_stream_batch(stream_id, chunks)

    async def send_message_stream_end_async(
        self, stream_id: str, success: bool = True, error_msg: str | None = None
    ) -> None:
        self.send_message_stream_end(stream_id, success, error_msg)

    async def send_message_stream_pause_async(self, stream_id: str) -> None:
        self.send_message_stream_pause(stream_id)

    async def send_message_stream_resume_async(self, stream_id: str) -> None:
        self.send_message_stream_resume(stream_id)

    async def send_message_stream_cancel_async(self, stream_id: str) -> None:
        self.send_message_stream_cancel(stream_id)

    # -- inside ----------------------------------------------------------------------------------------------------
    def _check(self, operation: Operation, stream_id: str) -> StreamStatus:
        status = self._streams.get(stream_id)
        if status is None:
            raise StreamError(StreamErrorKind.STREAM_NOT_FOUND, stream_id)
        kind = refusal(operation, status)
        if kind is not None:
            raise StreamError(kind, stream_id)
        return status

    def _send_chunk(self, stream_id: str, chunk: str, is_final: bool) -> None:
        if not isinstance(chunk, str):
            raise PluginKitError("invalid_request", f"chunk: expected str, not {type(chunk).__name__}")
        refused = self._hub.send_chunk(self.plugin_id, self.instance_id, stream_id, chunk, is_final)
        if refused is not None:
            raise self._error(refused, stream_id, Operation.SEND)
        if is_final:
            self._set(stream_id, StreamStatus.FINALIZING)

    def _control(
        self, operation: Operation, stream_id: str, status: StreamStatus, kind: str, *, rollback: bool
    ) -> None:
        before = self._check(operation, stream_id)
        self._set(stream_id, status)
        refused = self._hub.deliver(self.plugin_id, self.instance_id, kind, {"stream_id": stream_id})
        if refused is not None:
            if rollback:
                self._set(stream_id, before)
            raise self._error(refused, stream_id, operation)

    def _set(self, stream_id: str, status: StreamStatus) -> None:
        with self._lock:
            if stream_id not in self._streams:
                return
            self._streams[stream_id] = status
            if status in LIVE:
                return
            ended = self._ended
            ended.append(stream_id)
            while len(ended) > KEEP_ENDED:
                self._streams.pop(ended.popleft(), None)

    def _error(self, refused: StreamErrorKind | PluginKitError, stream_id: str, operation: Operation) -> Exception:
        """The error a refused send becomes. A chunk refused because the user cancelled the stream is
        ``StreamCancelled`` (the seed at ``a7fba8c``), and the stream is then Cancelled here too; every other
        refusal is ``SendFailed``, as the seed's frontend send failing is, except the hub's limits, which keep
        their ``stream_limit`` code (a stream past its byte limit has ended with Error)."""
        live = self._streams.get(stream_id) in LIVE  # the host ended a stream this side thought open: follow it
        if isinstance(refused, PluginKitError):
            if live and self._hub.status(stream_id) is StreamStatus.ERROR:
                self._set(stream_id, StreamStatus.ERROR)
            return refused
        if refused is StreamErrorKind.STREAM_CANCELLED:
            if live:
                self._set(stream_id, StreamStatus.CANCELLED)
            if operation in (Operation.SEND, Operation.BATCH):
                return StreamError(StreamErrorKind.STREAM_CANCELLED, stream_id)
        elif refused is StreamErrorKind.STREAM_ALREADY_ENDED and live:  # idle timeout, byte limit
            self._set(stream_id, StreamStatus.ERROR)
        return StreamError(StreamErrorKind.SEND_FAILED, stream_id, reason=refused)
