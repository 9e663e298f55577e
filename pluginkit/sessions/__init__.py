"""Chat session stores: the seed's 18-method contract, an embedded SQLite store, an in-memory model, and the
``session.*`` ABI family through which a plugin provides the store.

>>> import asyncio
>>> from pluginkit.sessions import InMemorySessionStore, Message
>>> async def demo():
...     store = InMemorySessionStore()
...     session = await store.create_session("/work", "first steps")
...     await store.add_message(session.id, Message.user("How do plugins register?"))
...     return [m.message_content for m in await store.search_chat_history("register")]
>>> asyncio.run(demo())
['How do plugins register?']

The package imports only payload helpers at import time — :mod:`pluginkit.abi` imports it while building the
ABI table — so the names that need the plugin manager (``PluginSessionStore``, ``SessionStorePlugin``,
``open_session_store``) are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pluginkit.sessions._base import BaseSessionStore, SearchRequest
from pluginkit.sessions._codec import fold
from pluginkit.sessions._contract import (
    DEFAULT_MAX_IMPORT_BYTES,
    DEFAULT_SEARCH_LIMIT,
    MAX_SEARCH_LIMIT,
    SEARCH_MODES,
    UNSET,
    SearchMode,
    SessionStore,
    Unset,
)
from pluginkit.sessions._errors import (
    InvalidSessionData,
    SessionNotFound,
    SessionStoreBusy,
    SessionStoreError,
    SessionStoreUnavailable,
)
from pluginkit.sessions._model import InMemorySessionStore
from pluginkit.sessions._sqlite import SqliteSessionStore, default_data_dir, default_sessions_path
from pluginkit.sessions._sync import SyncSessionStore
from pluginkit.sessions._threads import WorkerPool
from pluginkit.sessions._types import (
    ChatHistoryMatch,
    ContentType,
    Conversation,
    Message,
    MessageContent,
    MessageMetadata,
    ModelConfig,
    Recipe,
    RecipeParameter,
    Session,
    SessionInsights,
    SessionType,
    TokenStatsUpdate,
    extension_key,
)

if TYPE_CHECKING:
    from pluginkit.sessions._plugin import PluginSessionStore, SessionStorePlugin, open_session_store

__all__ = [
    "DEFAULT_MAX_IMPORT_BYTES",
    "DEFAULT_SEARCH_LIMIT",
    "MAX_SEARCH_LIMIT",
    "SEARCH_MODES",
    "UNSET",
    "BaseSessionStore",
    "ChatHistoryMatch",
    "ContentType",
    "Conversation",
    "InMemorySessionStore",
    "InvalidSessionData",
    "Message",
    "MessageContent",
    "MessageMetadata",
    "ModelConfig",
    "PluginSessionStore",
    "Recipe",
    "RecipeParameter",
    "SearchMode",
    "SearchRequest",
    "Session",
    "SessionInsights",
    "SessionNotFound",
    "SessionStore",
    "SessionStoreBusy",
    "SessionStoreError",
    "SessionStorePlugin",
    "SessionStoreUnavailable",
    "SessionType",
    "SqliteSessionStore",
    "SyncSessionStore",
    "TokenStatsUpdate",
    "Unset",
    "WorkerPool",
    "default_data_dir",
    "default_sessions_path",
    "extension_key",
    "fold",
    "open_session_store",
]

_LAZY = {"PluginSessionStore", "SessionStorePlugin", "open_session_store"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        # deferred: the plugin adapter imports the runtime; a store alone need not
        from pluginkit.sessions import _plugin

        return getattr(_plugin, name)
    raise AttributeError(f"module 'pluginkit.sessions' has no attribute {name!r}")
