"""The seed's stream state machine as data: the states, the errors and which operation is legal from which state.

Seed 000 (the ``plugin-interfaces`` crate, ``PluginStreamMessage``) keeps the table implicit in its code; here it
is one table that the plugin side (:mod:`pluginkit.messages._sender`), the host side
(:mod:`pluginkit.messages._hub`), the docs and the conformance tests all read.

Where the crate's versions differ, pluginkit keeps 0.1.2's checks on the plugin side (a paused stream refuses
chunks; an ended one says so) and ``a7fba8c``'s host refusal (a chunk for a stream the user cancelled fails with
``StreamCancelled``).
"""

from __future__ import annotations

import enum
from typing import Final

from pluginkit.errors import PluginKitError

__all__ = [
    "ENDED",
    "LIVE",
    "OPERATIONS",
    "Operation",
    "StreamError",
    "StreamErrorKind",
    "StreamStatus",
]


class StreamStatus(enum.Enum):
    """A stream's state (the seed's ``StreamStatus``; values are its variant names)."""

    ACTIVE = "Active"
    PAUSED = "Paused"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    ERROR = "Error"
    CANCELLED = "Cancelled"


#: States in which a stream is open (``list_active_streams`` lists these).
LIVE: Final = frozenset({StreamStatus.ACTIVE, StreamStatus.PAUSED, StreamStatus.FINALIZING})
#: States a stream never leaves.
ENDED: Final = frozenset({StreamStatus.COMPLETED, StreamStatus.ERROR, StreamStatus.CANCELLED})


class StreamErrorKind(enum.Enum):
    """The seed's ``StreamError`` variants: the envelope code each becomes, and the seed's display string."""

    SEND_FAILED = ("stream_send_failed", "Failed to send message to frontend")
    INVALID_STREAM_ID = ("stream_invalid_id", "Invalid stream ID")
    STREAM_NOT_FOUND = ("stream_not_found", "Stream not found")
    STREAM_ALREADY_ENDED = ("stream_already_ended", "Stream already ended")
    INVALID_STATE = ("stream_invalid_state", "Invalid stream state")
    STREAM_CANCELLED = ("stream_cancelled", "Stream was cancelled by user")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def display(self) -> str:
        return self.value[1]


class StreamError(PluginKitError):
    """A stream operation refused, as the seed's ``StreamError``: ``kind`` is the variant, ``str(error)`` its display
    string (with the stream's ID appended where one is known), ``code`` the envelope code."""

    def __init__(self, kind: StreamErrorKind, stream_id: str = "", *, reason: StreamErrorKind | None = None) -> None:
        detail = f" ({reason.display.lower()})" if reason is not None and reason is not kind else ""
        super().__init__(kind.code, f"{kind.display}: {stream_id}{detail}" if stream_id else kind.display + detail)
        self.kind = kind
        self.stream_id = stream_id
        #: For ``SendFailed``: why the host refused, when it said.
        self.reason = reason


class Operation(enum.Enum):
    """The nine operations of the seed's stream API, by their seed method names."""

    START = "send_message_stream_start"
    SEND = "send_message_stream"
    BATCH = "send_message_stream_batch"
    END = "send_message_stream_end"
    PAUSE = "send_message_stream_pause"
    RESUME = "send_message_stream_resume"
    CANCEL = "send_message_stream_cancel"
    STATUS = "get_stream_status"
    LIST = "list_active_streams"


_S = StreamStatus
_K = StreamErrorKind
#: For the operations that change a stream: the states each is legal from (``None``: any existing stream), the
#: error each other state gets, and the frontend event each sends. ``END`` checks no state, as in the seed.
OPERATIONS: Final[dict[Operation, tuple[frozenset[StreamStatus] | None, dict[StreamStatus, StreamErrorKind], str]]] = {
    Operation.SEND: (
        frozenset({_S.ACTIVE, _S.FINALIZING}),
        {_S.PAUSED: _K.INVALID_STATE, **{s: _K.STREAM_ALREADY_ENDED for s in ENDED}},
        "stream_data",
    ),
    Operation.BATCH: (
        frozenset({_S.ACTIVE, _S.FINALIZING}),
        {_S.PAUSED: _K.INVALID_STATE, **{s: _K.STREAM_ALREADY_ENDED for s in ENDED}},
        "stream_data",
    ),
    Operation.END: (None, {}, "stream_end"),
    Operation.PAUSE: (frozenset({_S.ACTIVE}), {s: _K.INVALID_STATE for s in _S if s is not _S.ACTIVE}, "stream_pause"),
    Operation.RESUME: (
        frozenset({_S.PAUSED}), {s: _K.INVALID_STATE for s in _S if s is not _S.PAUSED}, "stream_resume"
    ),
    Operation.CANCEL: (LIVE, {s: _K.INVALID_STATE for s in ENDED}, "stream_cancel"),
}


def refusal(operation: Operation, status: StreamStatus) -> StreamErrorKind | None:
    """The error ``operation`` gets on a stream in ``status``, or ``None`` when it is legal there."""
    legal, errors, _ = OPERATIONS[operation]
    if legal is None or status in legal:
        return None
    return errors[status]
