"""The blocking facade: the same 18 methods for code that has no event loop.

Each call runs the store's coroutine on one private event loop thread per facade, so a store keeps a single
loop (connections and locks bound to a loop stay valid) whichever threads call the facade.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pluginkit.sessions._types import (
    UNSET,
    ChatHistoryMatch,
    Message,
    ModelConfig,
    Recipe,
    Session,
    SessionInsights,
    SessionType,
    TokenStatsUpdate,
    Unset,
)

if TYPE_CHECKING:
    from pluginkit.sessions._contract import SearchMode, SessionStore

__all__ = ["SyncSessionStore"]

T = TypeVar("T")


class SyncSessionStore:
    """``store.sync()``: every contract method as a plain blocking call. Close it (or use ``with``) to stop its
    loop thread — and to close the store, unless ``owns_store=False``."""

    def __init__(self, store: SessionStore, *, owns_store: bool = True) -> None:
        self.store = store
        self.owns_store = owns_store
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pluginkit-sessions-sync", daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a SyncSessionStore was called from its own loop; await the store instead")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def create_session(
        self, working_dir: str | os.PathLike[str], name: str = "", session_type: SessionType | str = SessionType.USER
    ) -> Session:
        return self._run(self.store.create_session(working_dir, name, session_type))

    def get_session(self, id: str, include_messages: bool = False) -> Session:
        return self._run(self.store.get_session(id, include_messages))

    def add_message(self, session_id: str, message: Message) -> None:
        self._run(self.store.add_message(session_id, message))

    def replace_conversation(self, session_id: str, conversation: Sequence[Message]) -> None:
        self._run(self.store.replace_conversation(session_id, conversation))

    def list_sessions(self) -> list[Session]:
        return self._run(self.store.list_sessions())

    def list_sessions_by_types(self, types: Sequence[SessionType | str]) -> list[Session]:
        return self._run(self.store.list_sessions_by_types(types))

    def delete_session(self, id: str) -> None:
        self._run(self.store.delete_session(id))

    def get_insights(self) -> SessionInsights:
        return self._run(self.store.get_insights())

    def export_session(self, id: str) -> str:
        return self._run(self.store.export_session(id))

    def import_session(self, json: str) -> Session:
        return self._run(self.store.import_session(json))

    def copy_session(self, session_id: str, new_name: str) -> Session:
        return self._run(self.store.copy_session(session_id, new_name))

    def truncate_conversation(self, session_id: str, timestamp: int) -> None:
        self._run(self.store.truncate_conversation(session_id, timestamp))

    def update_session_name(self, session_id: str, name: str, user_set: bool = True) -> None:
        self._run(self.store.update_session_name(session_id, name, user_set))

    def update_extension_data(self, session_id: str, extension_data: Mapping[str, Any]) -> None:
        self._run(self.store.update_extension_data(session_id, extension_data))

    def update_token_stats(self, session_id: str, stats: TokenStatsUpdate) -> None:
        self._run(self.store.update_token_stats(session_id, stats))

    def update_provider_config(
        self,
        session_id: str,
        provider_name: str | Unset | None = UNSET,
        model_config: ModelConfig | Unset | None = UNSET,
    ) -> None:
        self._run(self.store.update_provider_config(session_id, provider_name, model_config))

    def update_recipe(
        self,
        session_id: str,
        recipe: Recipe | Unset | None = UNSET,
        user_recipe_values: Mapping[str, str] | Unset | None = UNSET,
    ) -> None:
        self._run(self.store.update_recipe(session_id, recipe, user_recipe_values))

    def search_chat_history(
        self,
        query: str,
        limit: int | None = None,
        after_date: datetime | None = None,
        before_date: datetime | None = None,
        exclude_session_id: str | None = None,
        *,
        mode: SearchMode = "any",
    ) -> list[ChatHistoryMatch]:
        return self._run(
            self.store.search_chat_history(query, limit, after_date, before_date, exclude_session_id, mode=mode)
        )

    def close(self) -> None:
        """Close the store (when the facade owns it), then stop the loop thread; idempotent."""
        if self._loop.is_closed():
            return
        try:
            if self.owns_store:
                self._run(self.store.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
