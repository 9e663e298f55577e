"""Message plugins and their streams (seed 000, the ``plugin-interfaces`` crate's ``PluginStreamMessage``).

A plugin answers a chat message by streaming text to the user's screen; the user can pause, resume or cancel it.
The plugin's side is :class:`PluginInstanceContext` (the seed's stream API, with its method names); the host's
side is :class:`MessageHub`, which mirrors every stream's state, refuses what the user cancelled and hands the
frontends their events (:class:`FrontendEvent`) through bounded subscriptions. ``docs/streams.md`` tells how.
"""

from pluginkit.messages._context import KEEP_ENDED, PluginInstanceContext
from pluginkit.messages._hub import MessageHub, Subscription, SubscriptionOverflow
from pluginkit.messages._instances import MessageHost, instance_context
from pluginkit.messages._redis import RedisRelay
from pluginkit.messages._states import (
    ENDED,
    LIVE,
    OPERATIONS,
    Operation,
    StreamError,
    StreamErrorKind,
    StreamStatus,
    refusal,
)
from pluginkit.messages._types import (
    CHANNEL_MESSAGE,
    CHANNEL_STREAM,
    FrontendEvent,
    HistoryMessage,
    InstanceMetadata,
    StreamInfo,
)

__all__ = [
    "CHANNEL_MESSAGE",
    "CHANNEL_STREAM",
    "ENDED",
    "KEEP_ENDED",
    "LIVE",
    "OPERATIONS",
    "FrontendEvent",
    "HistoryMessage",
    "InstanceMetadata",
    "MessageHost",
    "MessageHub",
    "Operation",
    "PluginInstanceContext",
    "RedisRelay",
    "StreamError",
    "StreamErrorKind",
    "StreamInfo",
    "StreamStatus",
    "Subscription",
    "SubscriptionOverflow",
    "instance_context",
    "refusal",
]
